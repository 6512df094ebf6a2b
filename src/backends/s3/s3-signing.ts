/**
 * S3 presigned URLs (SigV4 in the query string, sigv4.ts) for GET, HEAD, PUT, DELETE and
 * multipart UploadPart, signed in-process with a cached signing key: no SDK on the hot path.
 *
 *   URL  = {origin}{path}?{canonical query}&X-Amz-Signature={hex}
 *   origin, path: https://{bucket}.s3.{region}.amazonaws.com/{key}          (virtual-hosted)
 *                 {endpoint}/{bucket}/{key}     (forcePathStyle, IP endpoints, dotted names)
 *   key: each "/"-separated segment URI-encoded (RFC 3986 unreserved kept), never normalised
 *   canonical request: method, that path, the query (X-Amz-* and any of partNumber, uploadId,
 *     response-content-disposition, response-content-type), `host` plus each constraint
 *     header, and UNSIGNED-PAYLOAD; service "s3", single URI-encoding
 *
 * Example (S3 API Reference): bucket examplebucket, key test.txt, endpoint
 * https://s3.amazonaws.com, us-east-1, signed 2013-05-24T00:00:00Z for 86400 s →
 *
 *   https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256
 *   &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request
 *   &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
 *   &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404
 *
 * What a URL binds: the method, the one key, the expiry (at most 7 days), and each constraint
 * asked for, as a signed header the client must send exactly as returned in `headers` (a Range
 * of exactly those bytes; a PUT's Content-Length, Content-Type and x-amz-checksum-sha256, which
 * S3 checks against the body) or a signed query parameter (response overrides; an UploadPart's
 * partNumber and uploadId). Nothing else is signed: in particular no checksum of an empty
 * body, which the AWS SDK v3 adds by default (x-amz-checksum-crc32=AAAAAA==) and which makes
 * every real upload fail. It cannot bind a folder, a client IP, a length range or a type
 * pattern (a POST policy can bind the last two: s3-post-policy.ts), or revocation.
 */
import { createHmac } from "node:crypto";
import { isIP } from "node:net";
import { invalidRequest } from "../../core/errors.js";
import { assertValidKey } from "../../core/keys.js";
import type { ObjectMethod } from "../../core/methods.js";
import type { ByteRange } from "../../core/range.js";
import {
  type Credentials,
  type Pair,
  UNSIGNED_PAYLOAD,
  amzDate,
  checkExpiresIn,
  credentialScope,
  presign,
  signingKey,
  uriEncode,
  uriEncodePath,
} from "./sigv4.js";

/** Where a bucket lives. */
export interface S3Location {
  /** the provider's bucket name */
  bucket: string;
  region: string;
  /** an S3-compatible endpoint such as "http://127.0.0.1:9000" (a path after the host is kept);
   *  default https://s3.{region}.amazonaws.com (.com.cn for cn-* regions) */
  endpoint?: string | undefined;
  /** {endpoint}/{bucket}/{key} rather than {bucket}.{endpoint host}/{key} */
  forcePathStyle?: boolean | undefined;
}

/** A Signet direct request on one object, in Signet's terms. */
export interface S3PresignInput {
  method: ObjectMethod;
  key: string;
  expiresAt: Date;
  /** the signing time (X-Amz-Date, truncated to the second); default now */
  date?: Date;
  /** GET, HEAD: a signed Range header, so the URL serves exactly these bytes */
  range?: ByteRange;
  /** PUT (object or part): a signed Content-Length */
  contentLength?: number;
  /** PUT: a signed Content-Type */
  contentType?: string;
  /** PUT: a signed x-amz-checksum-sha256 (base64 of the 32-byte digest), checked by S3 */
  checksumSha256?: string;
  /** GET, HEAD: a signed response-content-disposition */
  responseContentDisposition?: string;
  /** GET, HEAD: a signed response-content-type */
  responseContentType?: string;
  /** PUT: one part of a multipart upload (UploadPart); needs contentLength */
  part?: { uploadId: string; partNumber: number };
}

export interface S3SignedRequest {
  url: string;
  method: ObjectMethod;
  /** every signed header but host, lower-case, with the value the client must send */
  headers: Record<string, string>;
  /** when the URL stops working: expiresAt truncated to the second */
  expiresAt: Date;
}

/** Where a bucket's URLs point, resolved once. */
export interface S3Endpoint {
  /** scheme://host[:port] */
  origin: string;
  /** the Host header: host[:port] */
  host: string;
  /** what comes before "/{key}": "", or an endpoint path, then "/{bucket}" in path style */
  bucketPath: string;
}

const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const MAX_PART_NUMBER = 10_000;
// What the SDK puts in a host name: a DNS label, so no dots (TLS wildcards cover one level).
const VIRTUAL_HOSTABLE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Which input fields each method may carry. */
const APPLIES_TO = {
  range: ["GET", "HEAD"],
  responseContentDisposition: ["GET", "HEAD"],
  responseContentType: ["GET", "HEAD"],
  contentLength: ["PUT"],
  contentType: ["PUT"],
  checksumSha256: ["PUT"],
  part: ["PUT"],
} as const satisfies Partial<Record<keyof S3PresignInput, readonly ObjectMethod[]>>;
const CONSTRAINTS = Object.keys(APPLIES_TO) as (keyof typeof APPLIES_TO)[];

/** Resolves a location to the origin, Host header and path prefix of its URLs. */
export function s3Endpoint(location: S3Location): S3Endpoint {
  const { bucket, region } = location;
  if (bucket === "" || bucket.includes("/"))
    throw invalidRequest("not an S3 bucket name", "bucket");
  if (!/^[A-Za-z0-9_-]+$/.test(region)) throw invalidRequest("not an S3 region", "region");
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  let url: URL;
  try {
    url = new URL(location.endpoint ?? `https://s3.${region}.${suffix}`);
  } catch {
    throw invalidRequest("endpoint is not a URL", "endpoint");
  }
  if (
    !/^https?:$/.test(url.protocol) ||
    url.username !== "" ||
    url.password !== "" ||
    url.search !== "" ||
    url.hash !== ""
  )
    throw invalidRequest(
      "endpoint must be an http(s) URL without credentials or query",
      "endpoint",
    );
  const basePath = url.pathname.replace(/\/+$/, "");
  const virtual =
    location.forcePathStyle !== true &&
    VIRTUAL_HOSTABLE.test(bucket) &&
    isIP(url.hostname.replace(/^\[|\]$/g, "")) === 0;
  if (virtual) {
    const host = `${bucket}.${url.host}`;
    return { origin: `${url.protocol}//${host}`, host, bucketPath: basePath };
  }
  return { origin: url.origin, host: url.host, bucketPath: `${basePath}/${uriEncode(bucket)}` };
}

/**
 * Signs URLs for one bucket. The credentials stay in a private field: nothing enumerable or
 * serialisable on the signer holds a secret. Make a new signer when they rotate.
 */
export class S3Signer {
  readonly location: S3Location;
  readonly endpoint: S3Endpoint;
  readonly #credentials: Credentials;

  constructor(location: S3Location, credentials: Credentials) {
    if (credentials.accessKeyId === "" || credentials.secretAccessKey === "")
      throw invalidRequest("S3 credentials are incomplete", "credentials");
    this.location = location;
    this.endpoint = s3Endpoint(location);
    this.#credentials = { ...credentials };
  }

  /** The form POST target: the bucket's root. */
  get postUrl(): string {
    return `${this.endpoint.origin}${this.endpoint.bucketPath || "/"}`;
  }

  get sessionToken(): string | undefined {
    return this.#credentials.sessionToken;
  }

  /** X-Amz-Credential for a signing time: {access key id}/{day}/{region}/s3/aws4_request. */
  credential(date: Date): string {
    return `${this.#credentials.accessKeyId}/${credentialScope(amzDate(date), this.location.region, "s3")}`;
  }

  /** hex HMAC-SHA256 of `data` under the signing key of `date`'s day (a POST policy's signature). */
  signWithDayKey(date: Date, data: string): string {
    const key = signingKey(
      this.#credentials.secretAccessKey,
      amzDate(date).slice(0, 8),
      this.location.region,
      "s3",
    );
    return createHmac("sha256", key).update(data).digest("hex");
  }

  presign(input: S3PresignInput): S3SignedRequest {
    const { method } = input;
    for (const field of CONSTRAINTS) {
      if (input[field] !== undefined && !(APPLIES_TO[field] as readonly string[]).includes(method))
        throw invalidRequest(`${field} does not apply to ${method}`, field);
    }
    const date = input.date ?? new Date();
    const expiresIn =
      Math.floor(input.expiresAt.getTime() / 1000) - Math.floor(date.getTime() / 1000);
    checkExpiresIn(expiresIn);
    const headers: Record<string, string> = {};
    const query: Pair[] = [];
    if (input.range !== undefined) headers.range = rangeHeader(input.range);
    if (input.contentLength !== undefined)
      headers["content-length"] = byteCount(input.contentLength);
    if (input.contentType !== undefined) {
      if (input.contentType.trim() === "")
        throw invalidRequest("contentType is empty", "contentType");
      headers["content-type"] = input.contentType;
    }
    if (input.checksumSha256 !== undefined) {
      headers["x-amz-checksum-sha256"] = checksumSha256(input.checksumSha256);
    }
    if (input.part !== undefined) query.push(...partQuery(input.part, input.contentLength));
    if (input.responseContentDisposition !== undefined) {
      query.push(["response-content-disposition", input.responseContentDisposition]);
    }
    if (input.responseContentType !== undefined) {
      query.push(["response-content-type", input.responseContentType]);
    }
    const signed: Pair[] = [["host", this.endpoint.host]];
    for (const name in headers) signed.push([name, headers[name]!]);
    const path = `${this.endpoint.bucketPath}/${uriEncodePath(assertValidKey(input.key))}`;
    const { query: signedQuery } = presign(
      { method, path, query, headers: signed, payloadHash: UNSIGNED_PAYLOAD },
      { credentials: this.#credentials, region: this.location.region, service: "s3", date },
      { expiresIn },
    );
    return {
      url: `${this.endpoint.origin}${path}?${signedQuery}`,
      method,
      headers,
      expiresAt: new Date((Math.floor(date.getTime() / 1000) + expiresIn) * 1000),
    };
  }
}

/** A base64 SHA-256 digest, as x-amz-checksum-sha256 carries it; throws invalid_request. */
export function checksumSha256(value: string, field = "checksumSha256"): string {
  if (!SHA256_BASE64.test(value)) throw invalidRequest("not a base64 SHA-256 digest", field);
  return value;
}

/** A byte count as a header value; throws invalid_request. */
export function byteCount(value: number, field = "contentLength"): string {
  if (!Number.isSafeInteger(value) || value < 0) throw invalidRequest("not a byte count", field);
  return String(value);
}

function rangeHeader({ start, end }: ByteRange): string {
  // A malformed Range is ignored by S3, which would then serve the whole object.
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
    throw invalidRequest("range must be 0 <= start <= end", "range");
  return `bytes=${start}-${end}`;
}

function partQuery(part: { uploadId: string; partNumber: number }, contentLength?: number): Pair[] {
  const { uploadId, partNumber } = part;
  if (contentLength === undefined)
    throw invalidRequest("a part URL binds its contentLength", "contentLength");
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER)
    throw invalidRequest(`partNumber must be 1 to ${MAX_PART_NUMBER}`, "part.partNumber");
  if (uploadId === "") throw invalidRequest("uploadId is empty", "part.uploadId");
  return [
    ["partNumber", String(partNumber)],
    ["uploadId", uploadId],
  ];
}
