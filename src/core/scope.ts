/**
 * Whether one request lies inside the scope a token grants. Each failed check names the
 * claim it failed, so a 403 tells the caller what to fix and nothing else.
 */
import { ipMatcher } from "./cidr.js";
import { SignetError } from "./errors.js";
import { inFolder, isStaging } from "./keys.js";
import type { Method } from "./methods.js";
import type { Claims } from "./token.js";

export interface ScopedRequest {
  method: Method;
  bucket: string;
  /** the object key, or for LIST the folder ("" for the whole bucket, else ending in "/") */
  key: string;
  /** the client's address as Signet sees it (socket, or X-Forwarded-For via trusted proxies) */
  ip: string;
  /** an upload's Content-Type and declared Content-Length */
  contentType?: string;
  contentLength?: number;
  /** the Range header as sent */
  range?: string;
  /** the request's headers, for the ones a scope requires */
  headers?: Record<string, string | string[] | undefined>;
  /** a multipart part upload: the upload id and part number it names */
  part?: { uploadId: string; partNumber: number };
}

const outside = (claim: string, why: string) =>
  new SignetError("outside_scope", `${claim}: ${why}`);

/** Checks path, method, then the request-level constraints, cheapest first. */
export function assertInScope(claims: Claims, request: ScopedRequest): void {
  if (claims.b !== request.bucket) throw outside("bucket", "this URL is for another bucket");
  if (claims.o !== undefined) {
    if (request.method === "LIST" || claims.o !== request.key)
      throw outside("key", "this URL is for another object");
  } else if (claims.f !== undefined) {
    const folder = claims.f;
    // Staging keys are reached only by a URL naming them exactly (an intent's own).
    const inside =
      !isStaging(request.key) &&
      (request.method === "LIST" ? request.key.startsWith(folder) : inFolder(folder, request.key));
    if (!inside) throw outside("folder", "the object is not under this URL's folder");
  } else {
    throw outside("key", "this URL names no object or folder");
  }
  if (!claims.m.includes(request.method))
    throw outside("method", `${request.method} is not allowed by this URL`);
  if (claims.ip !== undefined && !ipMatcher(claims.ip)(request.ip))
    throw outside("ip", "this URL may not be used from this address");
  if (claims.rf !== undefined && !refererAllowed(claims.rf, request.headers?.referer))
    throw outside("referrers", "this URL may be used only from its allowed origins' pages");
  if (
    claims.r !== undefined &&
    request.range !== undefined &&
    request.range.trim() !== rangeHeader(claims.r)
  )
    throw outside("range", `this URL serves only ${rangeHeader(claims.r)}`);
  if (request.method === "PUT") {
    const length = request.contentLength;
    if (claims.cl !== undefined && length !== claims.cl)
      throw outside("contentLength", `the upload must declare Content-Length: ${claims.cl}`);
    if (
      claims.clr !== undefined &&
      length !== undefined &&
      (length < claims.clr[0] || length > claims.clr[1])
    )
      throw outside(
        "contentLengthRange",
        `the upload must be ${claims.clr[0]} to ${claims.clr[1]} bytes`,
      );
    if (claims.ct !== undefined && request.contentType !== claims.ct)
      throw outside("contentType", `the upload must send Content-Type: ${claims.ct}`);
  }
  for (const [name, value] of Object.entries(claims.h ?? {}))
    if (request.headers?.[name] !== value)
      throw outside("headers", `the request must send ${name}: ${value}`);
  const part = request.part;
  if (claims.u !== undefined) {
    if (part === undefined || part.uploadId !== claims.u || part.partNumber !== claims.pn)
      throw outside("part", `this URL uploads part ${claims.pn} of one multipart upload only`);
  } else if (part !== undefined) {
    throw outside("part", "this URL is not for a multipart part");
  }
}

/** Whether a Referer header names a page on one of `origins` (exact origin match). */
function refererAllowed(origins: string[], referer: string | string[] | undefined): boolean {
  if (typeof referer !== "string") return false;
  try {
    return origins.includes(new URL(referer).origin);
  } catch {
    return false;
  }
}

/** The Range header a range-bound URL serves: `bytes=a-b`. */
export const rangeHeader = ([start, end]: [number, number]) => `bytes=${start}-${end}`;
