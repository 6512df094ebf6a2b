/** The methods a scope can carry. LIST is a scope method served as a GET on a folder path. */
export const METHODS = ["GET", "HEAD", "PUT", "DELETE", "POST", "LIST"] as const;
export type Method = (typeof METHODS)[number];

/** The methods a caller may ask /v1/presign for in issue 2's slice. */
export const OBJECT_METHODS = ["GET", "HEAD", "PUT", "DELETE"] as const;
export type ObjectMethod = (typeof OBJECT_METHODS)[number];
