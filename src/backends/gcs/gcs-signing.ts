/**
 * Google Cloud Storage V4 signed URLs, signed in-process: an RSA service-account key
 * (GOOG4-RSA-SHA256, parsed once into a KeyObject) or an HMAC key (GOOG4-HMAC-SHA256). No
 * network call per URL, no SDK on the hot path.
 *
 *   canonical request = METHOD \n PATH \n QUERY \n HEADERS \n SIGNED-HEADERS \n UNSIGNED-PAYLOAD
 *     PATH     /{bucket}/{key} (path style) or /{key} (virtual-hosted or bucket-bound host);
 *              each key segment RFC 3986-encoded, slashes kept
 *     QUERY    X-Goog-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and every extra
 *              parameter; names and values RFC 3986-encoded, sorted by encoded name
 *     HEADERS  one "name:value\n" per signed header, lower-case names in code-unit order, values
 *              trimmed with inner whitespace runs collapsed to one space; host is always signed
 *   string-to-sign = ALGORITHM \n YYYYMMDDTHHMMSSZ \n YYYYMMDD/auto/storage/goog4_request
 *                    \n hex(sha256(canonical request))
 *   X-Goog-Signature = hex(RSASSA-PKCS1-v1_5 SHA-256 over the string-to-sign), or for HMAC
 *                      hex(HMAC-SHA256(k, string-to-sign)) with k = HMAC chain over
 *                      "GOOG4" + secret -> YYYYMMDD -> "auto" -> "storage" -> "goog4_request"
 *   URL = ORIGIN PATH ? QUERY &X-Goog-Signature=…
 *
 * Example (conformance case "Simple GET": the dummy service account, bucket test-bucket, key
 * test-object, 2019-02-01T09:00:00Z, 10 s) signs the canonical request
 *
 *   GET\n/test-bucket/test-object\nX-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=
 *   test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage
 *   %2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host\n
 *   host:storage.googleapis.com\n\nhost\nUNSIGNED-PAYLOAD
 *
 * giving https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256
 * &…&X-Goog-SignedHeaders=host&X-Goog-Signature=95e6a13d43a1d196…975896f74
 *
 * What a V4 URL binds: the method; the object; the expiry (at most 7 days from X-Goog-Date,
 * which is the signing time here); every signed header, which the client must send byte for
 * byte (Range: exactly those bytes; Content-Type, Content-MD5, Content-Length; x-goog-meta-*
 * and other extension headers); every query parameter (response-content-disposition and
 * response-content-type; uploadId and partNumber of an XML multipart part). It cannot bind a
 * client IP, a folder (one URL is one object), a length range or a type pattern (only a POST
 * policy can: gcs-post-policy.ts), a sha256 of the body (GCS checks MD5 and CRC32C), or
 * revocation: those go through Signet links or are checked when an upload completes.
 */
import { createHash, createHmac, createPrivateKey, createSign, type KeyObject } from "node:crypto";
import { invalidRequest, SignetError } from "../../core/errors.js";
import type { ByteRange } from "../../core/range.js";

/** V4's longest life for a signed URL or a POST policy, in seconds. */
export const V4_MAX_EXPIRES_IN = 7 * 86400;

export type GcsAlgorithm = "GOOG4-RSA-SHA256" | "GOOG4-HMAC-SHA256";

/** The two fields of a service-account JSON key file that signing needs. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
}

/** A service-account key file (its text or parsed), or an HMAC key. */
export type GcsCredentials =
  { serviceAccount: string | ServiceAccountKey } | { hmacAccessId: string; hmacSecret: string };

/** Where the bucket is reached, and so what URLs look like. */
export interface GcsLocation {
  /** the real GCS bucket name */
  bucket: string;
  /**
   * Path-style origin, for emulators and private endpoints: "http://127.0.0.1:4443", or a bare
   * "host[:port]" for https. Default https://storage.googleapis.com.
   */
  endpoint?: string;
  /** https://{bucket}.{endpoint host}/{key} instead of {endpoint}/{bucket}/{key} */
  virtualHostedStyle?: boolean;
  /** a bucket-bound hostname (a CNAME or load balancer serving only this bucket): {hostname}/{key} */
  hostname?: string;
}

/** What signs: a service account's RSA key, or an HMAC key and the day's derived key. */
export interface GcsSigner {
  readonly algorithm: GcsAlgorithm;
  /** the service account's email or the HMAC access id, as named in X-Goog-Credential */
  readonly accessId: string;
  /** Lower-case hex signature of a string-to-sign (or of a base64 POST policy). */
  sign(stringToSign: string, datestamp: string): string;
}

/** One bucket ready to sign for: credentials parsed and URL style resolved, once. */
export interface GcsBucket extends GcsSigner {
  readonly bucket: string;
  /** scheme://host[:port] of every URL, exactly as configured */
  readonly origin: string;
  /** the signed host header: the origin's host without its port */
  readonly host: string;
  /** "/{bucket}" in path style, "" when the host itself names the bucket */
  readonly pathPrefix: string;
}

/** A request to sign, in V4's own terms (the conformance vectors' shape). */
export interface V4Request {
  /** upper-case HTTP method */
  method: string;
  /** the object's key; absent, the URL is for the bucket itself */
  key?: string;
  /** seconds from `date`, 1 to 7 days */
  expiresIn: number;
  /** the signing time (X-Goog-Date), truncated to the second; default now */
  date?: Date;
  /** headers to sign, any case; x-goog-content-sha256, when present, replaces UNSIGNED-PAYLOAD */
  headers?: Readonly<Record<string, string>>;
  /** extra query parameters to sign */
  query?: Readonly<Record<string, string>>;
}

export interface SignedV4Url {
  url: string;
  /** every signed header but host, lower-case, with the value the client must send */
  headers: Record<string, string>;
  /** kept for diagnostics: GCS quotes the canonical request it expected in a 403 */
  canonicalRequest: string;
  stringToSign: string;
}

export type GcsObjectMethod = "GET" | "HEAD" | "PUT" | "DELETE";

/** A Signet direct request on one object, in Signet's terms. */
export interface GcsPresignInput {
  method: GcsObjectMethod;
  key: string;
  expiresAt: Date;
  /** the signing time; default now */
  date?: Date;
  /** GET: a signed Range header, so the URL grants exactly these bytes */
  range?: ByteRange;
  /** PUT: a signed Content-Type */
  contentType?: string;
  /** PUT: a signed Content-MD5 (base64 of the 16-byte digest); GCS checks the body against it */
  contentMd5?: string;
  /** PUT (whole object or one part): a signed Content-Length */
  contentLength?: number;
  /** extension headers to sign, e.g. x-goog-meta-*, x-goog-if-generation-match */
  headers?: Readonly<Record<string, string>>;
  /** GET, HEAD: signed response-content-disposition */
  responseContentDisposition?: string;
  /** GET, HEAD: signed response-content-type */
  responseContentType?: string;
  /** PUT: one part of an XML multipart upload */
  part?: { uploadId: string; partNumber: number };
  /** GET, HEAD: serve only this generation of the object (the `generation` query parameter) */
  generation?: string;
}

export interface GcsSignedRequest {
  url: string;
  method: GcsObjectMethod;
  /** lower-case headers the client must send exactly as given */
  headers: Record<string, string>;
  /** when the URL stops working: expiresAt truncated to the second */
  expiresAt: Date;
}

const DEFAULT_ENDPOINT = "https://storage.googleapis.com";
const ORIGIN = /^(?:(https?):\/\/)?([^\s/?#@]+?)\/?$/i;
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const SIGNATURE_PARAMS = new Set(
  ["algorithm", "credential", "date", "expires", "signedheaders", "signature"].map(
    (p) => `x-goog-${p}`,
  ),
);
/** RFC 9110 token: what a client can actually send as a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers with their own field, or that Signet never relies on GCS to check. */
const RESERVED_HEADERS = new Set([
  "host",
  "range",
  "content-type",
  "content-md5",
  "content-length",
  "x-goog-content-sha256",
]);
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

/** Parses the credentials and resolves the URL style; throws invalid_request naming the field. */
export function gcsBucket(location: GcsLocation, credentials: GcsCredentials): GcsBucket {
  if (!BUCKET_NAME.test(location.bucket)) throw invalidRequest("not a GCS bucket name", "bucket");
  const { algorithm, accessId, sign } =
    "serviceAccount" in credentials
      ? rsaSigner(credentials.serviceAccount)
      : hmacSigner(credentials.hmacAccessId, credentials.hmacSecret);
  const target = resolveTarget(location);
  // The key stays in the closure: nothing enumerable on the bucket holds a secret.
  return { bucket: location.bucket, algorithm, accessId, ...target, sign };
}

function rsaSigner(file: string | ServiceAccountKey): GcsSigner {
  const field = "credentials.serviceAccount";
  let account: Partial<ServiceAccountKey>;
  try {
    account = typeof file === "string" ? (JSON.parse(file) as Partial<ServiceAccountKey>) : file;
  } catch {
    // V8's message quotes the text around the error, which may be the private key.
    throw invalidRequest("the service account file is not JSON", field);
  }
  if (typeof account.client_email !== "string" || account.client_email === "")
    throw invalidRequest("the service account has no client_email", field);
  let key: KeyObject;
  try {
    key = createPrivateKey(account.private_key ?? "");
  } catch {
    throw invalidRequest("the service account's private_key is not a PEM private key", field);
  }
  if (key.asymmetricKeyType !== "rsa")
    throw invalidRequest("the service account's private_key is not an RSA key", field);
  return {
    algorithm: "GOOG4-RSA-SHA256",
    accessId: account.client_email,
    sign: (stringToSign) => createSign("RSA-SHA256").update(stringToSign).sign(key, "hex"),
  };
}

function hmacSigner(accessId: string, secret: string): GcsSigner {
  if (typeof accessId !== "string" || accessId === "")
    throw invalidRequest("hmacAccessId is empty", "credentials.hmacAccessId");
  if (typeof secret !== "string" || secret === "")
    throw invalidRequest("hmacSecret is empty", "credentials.hmacSecret");
  // The derived key changes once a day: keep the last one.
  let day = "";
  let dayKey = Buffer.alloc(0);
  return {
    algorithm: "GOOG4-HMAC-SHA256",
    accessId,
    sign(stringToSign, datestamp) {
      if (datestamp !== day) {
        const kDate = hmac(`GOOG4${secret}`, datestamp);
        dayKey = hmac(hmac(hmac(kDate, "auto"), "storage"), "goog4_request");
        day = datestamp;
      }
      return createHmac("sha256", dayKey).update(stringToSign).digest("hex");
    },
  };
}

const hmac = (key: string | Buffer, data: string) =>
  createHmac("sha256", key).update(data).digest();

function resolveTarget(location: GcsLocation): Pick<GcsBucket, "origin" | "host" | "pathPrefix"> {
  if (location.hostname !== undefined) {
    if (location.virtualHostedStyle === true)
      throw invalidRequest(
        "hostname already names the bucket: drop virtualHostedStyle",
        "hostname",
      );
    const bound = parseOrigin(location.hostname, "hostname");
    return { origin: bound.origin, host: bound.hostname, pathPrefix: "" };
  }
  const endpoint = parseOrigin(location.endpoint ?? DEFAULT_ENDPOINT, "endpoint");
  if (location.virtualHostedStyle === true)
    return {
      origin: `${endpoint.scheme}://${location.bucket}.${endpoint.authority}`,
      host: `${location.bucket}.${endpoint.hostname}`,
      pathPrefix: "",
    };
  return { origin: endpoint.origin, host: endpoint.hostname, pathPrefix: `/${location.bucket}` };
}

function parseOrigin(text: string, field: string) {
  const match = ORIGIN.exec(text);
  if (match === null) throw invalidRequest("expected host[:port] or an http(s) origin", field);
  const scheme = (match[1] ?? "https").toLowerCase();
  const authority = match[2]!.toLowerCase();
  // The SDK and the vectors sign the host without its port ("localhost", not "localhost:8080").
  return {
    scheme,
    authority,
    origin: `${scheme}://${authority}`,
    hostname: authority.replace(/:\d+$/, ""),
  };
}

/** X-Goog-Date and the credential scope's date for a signing time. */
export function goog4Date(date: Date): { timestamp: string; datestamp: string } {
  if (Number.isNaN(date.getTime())) throw invalidRequest("the signing time is not a date", "date");
  const iso = date.toISOString(); // 2019-02-01T09:00:00.000Z
  const datestamp = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  return {
    datestamp,
    timestamp: `${datestamp}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
  };
}

/**
 * The life of a signature made at `date` to end by `expiresAt`: whole seconds from the signing
 * time truncated (as X-Goog-Date is), and the moment it really ends.
 */
export function v4Life(date: Date, expiresAt: Date): { expiresIn: number; expiresAt: Date } {
  const signedAt = Math.floor(date.getTime() / 1000);
  const expiresIn = Math.floor(expiresAt.getTime() / 1000) - signedAt;
  return { expiresIn, expiresAt: new Date((signedAt + expiresIn) * 1000) };
}

/** Refuses lives V4 cannot sign: under a second, over 7 days, or not whole seconds. */
export function checkExpiresIn(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw invalidRequest(
      "the expiry must be at least one second after the signing time",
      "expiresIn",
    );
  if (seconds > V4_MAX_EXPIRES_IN)
    throw new SignetError(
      "expiry_too_long",
      `GCS V4 signatures last at most 7 days (${V4_MAX_EXPIRES_IN} s)`,
      "expiresIn",
    );
}

/** The credential scope after the access id: YYYYMMDD/auto/storage/goog4_request. */
export const credentialScope = (datestamp: string) => `${datestamp}/auto/storage/goog4_request`;

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - . _ ~ (what V4 canonicalises to). */
function encodeRfc3986(text: string, field: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    throw invalidRequest("not valid UTF-8 (a lone surrogate)", field);
  }
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Signs any V4 request: the protocol as the conformance vectors state it, nothing of Signet's. */
export function signV4Url(bucket: GcsBucket, request: V4Request): SignedV4Url {
  if (!/^[A-Z]+$/.test(request.method)) throw invalidRequest("not an HTTP method", "method");
  checkExpiresIn(request.expiresIn);
  const { timestamp, datestamp } = goog4Date(request.date ?? new Date());
  const scope = credentialScope(datestamp);

  const headers = canonicalHeaders(bucket.host, request.headers ?? {});
  const signedHeaders = headers.map(([name]) => name).join(";");
  const params: [string, string][] = [
    ["X-Goog-Algorithm", bucket.algorithm],
    ["X-Goog-Credential", `${bucket.accessId}/${scope}`],
    ["X-Goog-Date", timestamp],
    ["X-Goog-Expires", String(request.expiresIn)],
    ["X-Goog-SignedHeaders", signedHeaders],
  ];
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (name === "" || SIGNATURE_PARAMS.has(name.toLowerCase()))
      throw invalidRequest(`the query parameter "${name}" is not allowed`, "query");
    params.push([name, value]);
  }
  const query = params
    .map(([name, value]): [string, string] => [
      encodeRfc3986(name, "query"),
      encodeRfc3986(value, "query"),
    ])
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");

  const path =
    request.key === undefined
      ? bucket.pathPrefix || "/"
      : `${bucket.pathPrefix}/${request.key
          .split("/")
          .map((segment) => encodeRfc3986(segment, "key"))
          .join("/")}`;
  const payload =
    headers.find(([name]) => name === "x-goog-content-sha256")?.[1] ?? "UNSIGNED-PAYLOAD";
  const canonicalRequest = [
    request.method,
    path,
    query,
    headers.map(([name, value]) => `${name}:${value}\n`).join(""),
    signedHeaders,
    payload,
  ].join("\n");
  const hash = createHash("sha256").update(canonicalRequest).digest("hex");
  const stringToSign = `${bucket.algorithm}\n${timestamp}\n${scope}\n${hash}`;
  const signature = bucket.sign(stringToSign, datestamp);

  const sent: Record<string, string> = {};
  for (const [name, value] of headers) if (name !== "host") sent[name] = value;
  return {
    url: `${bucket.origin}${path}?${query}&X-Goog-Signature=${signature}`,
    headers: sent,
    canonicalRequest,
    stringToSign,
  };
}

/** Lower-cased, value-canonicalised, sorted by name, host included. */
function canonicalHeaders(
  host: string,
  given: Readonly<Record<string, string>>,
): [string, string][] {
  const headers: [string, string][] = [["host", host]];
  for (const [raw, value] of Object.entries(given)) {
    const name = raw.toLowerCase();
    // A colon, whitespace or a line break in a name or value would let one header forge another.
    if (!/^[^\s:\p{Cc}]+$/u.test(name))
      throw invalidRequest("a header name is malformed", "headers");
    if (/(?!\t)\p{Cc}/u.test(value))
      throw invalidRequest(`the ${name} header holds a control character`, "headers");
    if (headers.some(([seen]) => seen === name))
      throw invalidRequest(`the ${name} header is given twice`, "headers");
    headers.push([name, value.trim().replace(/\s{2,}/g, " ")]);
  }
  return headers.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Signet's presign on one object: checks each constraint fits the method, then signs it. */
export function presignGcs(bucket: GcsBucket, input: GcsPresignInput): GcsSignedRequest {
  const { method } = input;
  if (input.key === "") throw new SignetError("invalid_key", "the key is empty", "key");
  for (const name of Object.keys(input.headers ?? {})) {
    if (!TOKEN.test(name)) throw invalidRequest("a header name is not an HTTP token", "headers");
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      throw invalidRequest(`${name.toLowerCase()} cannot be given as a custom header`, "headers");
  }
  // Names differing only in case are refused by signV4Url.
  const headers: Record<string, string> = { ...input.headers };
  const query: Record<string, string> = {};
  if (input.range !== undefined) {
    allow(method, ["GET"], "range");
    const { start, end } = input.range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
      throw invalidRequest("a range is two byte offsets, 0 <= start <= end", "range");
    headers.range = `bytes=${start}-${end}`;
  }
  if (input.contentType !== undefined) {
    allow(method, ["PUT"], "contentType");
    headers["content-type"] = input.contentType;
  }
  if (input.contentMd5 !== undefined) {
    allow(method, ["PUT"], "contentMd5");
    if (!MD5_BASE64.test(input.contentMd5))
      throw invalidRequest("contentMd5 is the base64 of a 16-byte MD5 digest", "contentMd5");
    headers["content-md5"] = input.contentMd5;
  }
  if (input.contentLength !== undefined) {
    allow(method, ["PUT"], "contentLength");
    if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0)
      throw invalidRequest("contentLength is a whole number of bytes", "contentLength");
    headers["content-length"] = String(input.contentLength);
  }
  if (input.responseContentDisposition !== undefined) {
    allow(method, ["GET", "HEAD"], "responseContentDisposition");
    query["response-content-disposition"] = input.responseContentDisposition;
  }
  if (input.responseContentType !== undefined) {
    allow(method, ["GET", "HEAD"], "responseContentType");
    query["response-content-type"] = input.responseContentType;
  }
  if (input.part !== undefined) {
    allow(method, ["PUT"], "part");
    const { uploadId, partNumber } = input.part;
    if (uploadId === "") throw invalidRequest("the uploadId is empty", "part.uploadId");
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
      throw invalidRequest("a part number is 1 to 10000", "part.partNumber");
    query.uploadId = uploadId;
    query.partNumber = String(partNumber);
  }
  if (input.generation !== undefined) {
    allow(method, ["GET", "HEAD"], "generation");
    if (!/^\d{1,20}$/.test(input.generation))
      throw invalidRequest("a generation is a whole number", "generation");
    query.generation = input.generation;
  }
  const date = input.date ?? new Date();
  const { expiresIn, expiresAt } = v4Life(date, input.expiresAt);
  const signed = signV4Url(bucket, { method, key: input.key, expiresIn, date, headers, query });
  return { url: signed.url, method, headers: signed.headers, expiresAt };
}

function allow(method: GcsObjectMethod, methods: GcsObjectMethod[], field: string): void {
  if (!methods.includes(method))
    throw invalidRequest(`${field} applies to ${methods.join(" or ")} only`, field);
}
