/**
 * AWS Signature Version 4 (AWS4-HMAC-SHA256), the generic part: any method, path, query and
 * headers, signed either in an Authorization header or in the query string (a presigned URL).
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                      SignedHeaders \n PayloadHash
 *   StringToSign     = "AWS4-HMAC-SHA256" \n AmzDate \n Scope \n hex(SHA256(CanonicalRequest))
 *   Scope            = yyyymmdd/region/service/aws4_request
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service),
 *                      "aws4_request")
 *   Signature        = hex(HMAC(SigningKey, StringToSign))
 *
 * - CanonicalURI is the path as sent, each segment URI-encoded once (RFC 3986 unreserved
 *   characters kept, "/" kept between segments); with `normalizePath` the "." and ".."
 *   segments and repeated slashes are removed first (S3 never normalises).
 * - CanonicalQuery: every name and value URI-encoded ("/" too), sorted by name then value,
 *   `name=value` joined by "&"; a presigned URL adds X-Amz-Algorithm, -Credential, -Date,
 *   -Expires, -Security-Token (with a session token) and -SignedHeaders before sorting.
 * - CanonicalHeaders: lower-case names, sorted, `name:value\n` each; values trimmed, runs of
 *   spaces, tabs and line breaks folded to one space, repeated names joined with ",".
 * - PayloadHash: hex SHA-256 of the body, or UNSIGNED-PAYLOAD (what S3 presigned URLs use).
 *
 * Worked example (S3 API Reference, presigned GET; secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY):
 *
 *   GET
 *   /test.txt
 *   X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
 *   host:examplebucket.s3.amazonaws.com
 *
 *   host
 *   UNSIGNED-PAYLOAD
 *
 *   → StringToSign ends in 3bfa2928…ad04, X-Amz-Signature=aeeed9bb…f604d404
 *
 * What it binds: the method, the path, every query parameter, every header passed in (the
 * client must then send them with the same values), the payload hash, and a validity window
 * of X-Amz-Expires seconds from X-Amz-Date, at most 7 days. It cannot bind anything the
 * verifier does not recompute: client IP, a folder of keys, a length or type *range* (S3's
 * POST policy does those, see s3-post-policy.ts). Double URI-encoding of the path (the
 * default of services other than S3) is not implemented: nothing in Signet signs for them.
 *
 * The signing key depends only on (secret, day, region, service), so it is cached: a
 * signature then costs one SHA-256 and one HMAC.
 */
import { createHash, createHmac } from "node:crypto";
import { SignetError } from "../../core/errors.js";
import { extend } from "../../core/extend.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
/** SigV4 refuses presigned URLs valid for longer than a week. */
export const MAX_EXPIRES_IN = 604_800;

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface SigningContext {
  credentials: Credentials;
  region: string;
  service: string;
  /** the signing time; only its whole seconds count */
  date: Date;
}

export type Pair = readonly [name: string, value: string];

export interface SignableRequest {
  method: string;
  /** the path as it goes on the wire: each segment already URI-encoded */
  path: string;
  /** decoded names and values, in any order; encoded here */
  query?: readonly Pair[];
  /** every header to sign, `host` included; names in any case, repeated names allowed */
  headers: readonly Pair[];
  /** hex SHA-256 of the body, or UNSIGNED_PAYLOAD */
  payloadHash: string;
}

export interface CanonicalOptions {
  /** remove "." / ".." segments and empty segments first; never for S3 */
  normalizePath?: boolean;
}

export interface Signature {
  canonicalRequest: string;
  stringToSign: string;
  /** hex */
  signature: string;
}

export interface HeaderSignature extends Signature {
  /** the headers to add to the request: x-amz-date, authorization, and as asked
   *  x-amz-security-token and x-amz-content-sha256 */
  headers: Record<string, string>;
}

export interface QuerySignature extends Signature {
  /** the whole query string for the URL, without "?": the canonical query, then X-Amz-Signature */
  query: string;
}

/** Signs in an Authorization header, as API calls do. */
export function signHeaders(
  request: SignableRequest,
  context: SigningContext,
  options: CanonicalOptions & { contentSha256Header?: boolean } = {},
): HeaderSignature {
  const { credentials } = context;
  const date = amzDate(context.date);
  const scope = credentialScope(date, context.region, context.service);
  const added: Record<string, string> = { "x-amz-date": date };
  if (credentials.sessionToken !== undefined)
    added["x-amz-security-token"] = credentials.sessionToken;
  if (options.contentSha256Header === true) added["x-amz-content-sha256"] = request.payloadHash;
  const headers = canonicalHeaders([...request.headers, ...Object.entries(added)]);
  const canonicalRequest = assemble(request, options, canonicalQuery(request.query ?? []), headers);
  const signed = sign(canonicalRequest, date, scope, context);
  added.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${headers.names}, Signature=${signed.signature}`;
  return extend(signed, { headers: added });
}

/** Signs in the query string: a presigned URL valid `expiresIn` seconds from the date. */
export function presign(
  request: SignableRequest,
  context: SigningContext,
  options: CanonicalOptions & { expiresIn: number },
): QuerySignature {
  checkExpiresIn(options.expiresIn);
  const { credentials } = context;
  const date = amzDate(context.date);
  const scope = credentialScope(date, context.region, context.service);
  const headers = canonicalHeaders(request.headers);
  const query: Pair[] = request.query === undefined ? [] : [...request.query];
  query.push(
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", date],
    ["X-Amz-Expires", String(options.expiresIn)],
    ["X-Amz-SignedHeaders", headers.names],
  );
  if (credentials.sessionToken !== undefined) {
    query.push(["X-Amz-Security-Token", credentials.sessionToken]);
  }
  const sortedQuery = canonicalQuery(query);
  const signed = sign(assemble(request, options, sortedQuery, headers), date, scope, context);
  return extend(signed, { query: `${sortedQuery}&X-Amz-Signature=${signed.signature}` });
}

/**
 * The canonical request of a request as a verifier sees it: for a presigned URL, its query
 * holds the X-Amz-* parameters (but not X-Amz-Signature); for header signing, its headers
 * hold x-amz-date.
 */
export function canonicalRequest(request: SignableRequest, options: CanonicalOptions = {}): string {
  const query = canonicalQuery(request.query ?? []);
  return assemble(request, options, query, canonicalHeaders(request.headers));
}

/** AWS4-HMAC-SHA256, the X-Amz-Date, the credential scope and the canonical request's hash. */
export function stringToSign(date: string, scope: string, canonical: string): string {
  const hash = createHash("sha256").update(canonical).digest("hex");
  return `${ALGORITHM}\n${date}\n${scope}\n${hash}`;
}

/** yyyymmdd/region/service/aws4_request, from an X-Amz-Date (or its first 8 characters). */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
}

/** Refuses what SigV4 refuses: a whole number of seconds from 1 to 7 days. */
export function checkExpiresIn(expiresIn: number): void {
  if (!Number.isInteger(expiresIn) || expiresIn < 1) {
    throw new SignetError(
      "invalid_request",
      "expiresIn must be a whole number of seconds, at least 1",
      "expiresIn",
    );
  }
  if (expiresIn > MAX_EXPIRES_IN) {
    throw new SignetError(
      "expiry_too_long",
      `SigV4 URLs live at most ${MAX_EXPIRES_IN} s`,
      "expiresIn",
    );
  }
}

// The last-formatted second: a burst of URLs signed in the same second formats it once.
let lastSecond = Number.NaN;
let lastAmzDate = "";

/** yyyymmddThhmmssZ */
export function amzDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastSecond) {
    lastAmzDate = date.toISOString().replace(/[-:]|\.\d{3}/g, "");
    lastSecond = second;
  }
  return lastAmzDate;
}

const KEY_CACHE_SIZE = 64;
const keyCache = new Map<string, Buffer>();
// The most recent entry, compared field by field so that the common case allocates nothing.
let last: { secret: string; day: string; region: string; service: string; key: Buffer } | undefined;

/** The derived signing key for (secret, day, region, service), cached. */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  if (
    last !== undefined &&
    last.secret === secret &&
    last.day === day &&
    last.region === region &&
    last.service === service
  ) {
    return last.key;
  }
  const id = `${day}\n${region}\n${service}\n${secret}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), "aws4_request");
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, key);
  }
  last = { secret, day, region, service, key };
  return key;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]*$/;
const SUB_DELIM = /[!'()*]/;
const SUB_DELIMS = /[!'()*]/g;
const percent = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

/** URI-encodes everything but the RFC 3986 unreserved characters (so "/" too), as UTF-8. */
export function uriEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  const encoded = encodeURIComponent(value);
  // encodeURIComponent keeps !'()*, which SigV4 encodes; a test is cheaper than a replace
  return SUB_DELIM.test(encoded) ? encoded.replace(SUB_DELIMS, percent) : encoded;
}

/** URI-encodes each segment of a path, keeping the slashes between them. */
export function uriEncodePath(path: string): string {
  if (UNRESERVED_OR_SLASH.test(path)) return path;
  return path.split("/").map(uriEncode).join("/");
}

/** Removes "." and ".." segments and empty segments, keeping a leading and a trailing "/". */
export function normalizePath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return `/${segments.join("/")}${trailing}`;
}

interface Headers {
  /** `name:value\n` for each header, sorted */
  block: string;
  /** `name;name…`, the SignedHeaders value */
  names: string;
}

const NEEDS_FOLD = /[\t\r\n]| {2}|^ | $/;
const FOLD = /[ \t\r\n]+/g;
const EDGE_SPACE = /^ | $/g;

function canonicalHeaders(headers: readonly Pair[]): Headers {
  const values = new Map<string, string>();
  for (const [name, raw] of headers) {
    const lower = name.toLowerCase();
    const value = NEEDS_FOLD.test(raw) ? raw.replace(FOLD, " ").replace(EDGE_SPACE, "") : raw;
    const before = values.get(lower);
    values.set(lower, before === undefined ? value : `${before},${value}`);
  }
  const names = [...values.keys()].sort();
  let block = "";
  for (const name of names) block += `${name}:${values.get(name)!}\n`;
  return { block, names: names.join(";") };
}

function canonicalQuery(query: readonly Pair[]): string {
  const encoded = query.map(([name, value]) => [uriEncode(name), uriEncode(value)] as const);
  // by name, then by value (a plain sort of "name=value" would put "a-b=" before "a=")
  encoded.sort(([n1, v1], [n2, v2]) =>
    n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0,
  );
  let out = "";
  for (const [name, value] of encoded) out += out === "" ? `${name}=${value}` : `&${name}=${value}`;
  return out;
}

function assemble(
  request: SignableRequest,
  options: CanonicalOptions,
  query: string,
  headers: Headers,
): string {
  const path = request.path === "" ? "/" : request.path;
  const uri = options.normalizePath === true ? normalizePath(path) : path;
  return `${request.method}\n${uri}\n${query}\n${headers.block}\n${headers.names}\n${request.payloadHash}`;
}

function sign(canonical: string, date: string, scope: string, context: SigningContext): Signature {
  const toSign = stringToSign(date, scope, canonical);
  const key = signingKey(
    context.credentials.secretAccessKey,
    date.slice(0, 8),
    context.region,
    context.service,
  );
  return {
    canonicalRequest: canonical,
    stringToSign: toSign,
    signature: createHmac("sha256", key).update(toSign).digest("hex"),
  };
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
