import type { BackendCapabilities } from "../types.js";

/** S3 SigV4 presigned URLs and POST policies (see s3.ts for the format). */
export const S3_CAPABILITIES: BackendCapabilities = {
  binds: {
    "method, expiry": "SigV4 (7 days at most)",
    "response overrides": "signed query",
    "byte range": "signed Range header",
    folder: false,
    IP: false,
    "exact length, type": "signed headers",
    "length range, type pattern": "POST policy only",
    "sha256 of body": "x-amz-checksum-sha256 (where the store checks it)",
    revocation: false,
    multipart: "multipart upload",
  },
  signetVerified: false,
  proxy: true,
  revocation: false,
  keyRotation: false,
  conditionalWrites: false,
  versions: false,
  multipart: true,
  formPost: true,
  folderScope: "none",
  alsoAllows: {},
};
