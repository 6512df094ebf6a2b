/**
 * Google Cloud Storage as a backend. Direct URLs are GCS V4 signed URLs, form uploads are V4
 * POST policies, and Signet's own object operations use GCS's XML API through URLs it signs the
 * same way, so one code path serves service accounts and HMAC keys, GCS and emulators alike.
 * The signing itself is gcs-signing.ts (canonical request, conformance example) and
 * gcs-post-policy.ts; this file decides what a scope may ask of them.
 *
 *   {origin}/{bucket}/{key}?X-Goog-Algorithm=GOOG4-RSA-SHA256 (or GOOG4-HMAC-SHA256)
 *       &X-Goog-Credential={client_email or HMAC access id}/{YYYYMMDD}/auto/storage/goog4_request
 *       &X-Goog-Date={signing time}&X-Goog-Expires={seconds, at most 604800}
 *       &X-Goog-SignedHeaders=host[;content-length][;content-type][;range][;x-goog-meta-…]
 *       [&partNumber={n}&uploadId={id}][&response-content-disposition=…&response-content-type=…]
 *       &X-Goog-Signature={hex}
 *
 * Example: bucket lab-data signed with the conformance tests' dummy service account at
 * 2026-03-01T12:34:56Z, a GET of bytes 0-1048575 of genomes/a.bam for 15 minutes is
 *
 *   GET https://storage.googleapis.com/lab-data/genomes/a.bam?X-Goog-Algorithm=GOOG4-RSA-SHA256
 *       &X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com
 *       %2F20260301%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20260301T123456Z
 *       &X-Goog-Expires=900&X-Goog-SignedHeaders=host%3Brange
 *       &X-Goog-Signature=3c1bf9b708e0f780…296c851a0
 *   headers { "range": "bytes=0-1048575" }
 *
 * and GCS answers 403 SignatureDoesNotMatch to any other Range, method, key or expiry.
 *
 * Settings (one bucket of the config file; GcsBucketConfigSchema):
 *
 *   "lab": { "backend": "gcs", "bucket": "lab-data", "credentialsFile": "/etc/signet/sa.json" }
 *   "kyc": { "backend": "gcs", "bucket": "acme-kyc", "hmacAccessId": "${GCS_HMAC_ID}",
 *            "hmacSecret": "${GCS_HMAC_SECRET}", "maxExpiresIn": 3600 }
 *
 *   bucket                    the real GCS bucket name
 *   credentialsFile           a service account's JSON key (RSA): read once at start-up, then
 *                             every URL is signed in-process, with no network call
 *   hmacAccessId, hmacSecret  an HMAC key, both as ${ENV_NAME} references
 *   endpoint                  a path-style origin for an emulator or a private endpoint
 *                             ("http://127.0.0.1:4443"); the signed host carries no port
 *   virtualHostedStyle        https://{bucket}.storage.googleapis.com/{key}
 *   hostname                  a bucket-bound hostname (CNAME or load balancer): {hostname}/{key}
 *   maxExpiresIn, maxObjectSize, cors   as for every bucket; links may outlive V4's 7 days
 *
 * The identity needs storage.objects.{get,create,delete,list} and
 * storage.multipartUploads.{create,list,listParts,abort} on the bucket.
 *
 * What a direct URL binds: one method (GET, HEAD, PUT, DELETE), one key, the expiry (7 days at
 * most), an exact Content-Type and Content-Length and any extension header (signed headers),
 * one byte range (a signed Range header), response overrides and one multipart part (signed
 * query). What it cannot bind, and unbound() names: several methods, POST or LIST ("methods"),
 * a folder, notBefore, ip, a length range or a type pattern (a POST policy
 * only), checksumSha256 (GCS checks MD5 and CRC32C, never SHA-256), an expiry past 7 days
 * ("expiresAt"), and any constraint this file does not know. presign() refuses a scope holding
 * any of them; the service sends those through links or checks them at complete. A form upload
 * binds a length range and a type prefix ("image/*" becomes starts-with "image/"), never a
 * SHA-256: presignPost() refuses checksumSha256.
 *
 * Signet's own requests are the same V4 URLs, living 5 minutes, sent at once with undici:
 *
 *   HEAD, GET (Range: bytes=s-e), PUT, DELETE   /{bucket}/{key}
 *   GET     /{bucket}?list-type=2&prefix=…&delimiter=/&max-keys=…[&continuation-token=…]
 *   POST    /{bucket}/{key}?uploads                      -> InitiateMultipartUploadResult
 *   GET     /{bucket}/{key}?uploadId=…[&part-number-marker=…]   -> ListPartsResult
 *   POST    /{bucket}/{key}?uploadId=…  <CompleteMultipartUpload>   DELETE …?uploadId=… aborts
 *
 * A 404 is undefined for head and get, and done for delete and abort; 5xx, 408, 429 and an
 * unreachable endpoint are backend_unavailable; 401 and 403 are internal (Signet's credentials
 * or rights). Only GCS's error code is ever quoted. A listing carries no content type (""), and
 * no sha256 is ever reported: GCS keeps MD5 and CRC32C.
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { type Static, Type } from "@sinclair/typebox";
import { XMLParser } from "fast-xml-parser";
import { type Dispatcher, request } from "undici";
import { classify, unavailable } from "../provider-errors.js";
import {
  TIMED_BUCKET_FIELDS,
  backendStallMs,
  SecretRef,
  resolveSecret,
} from "../../core/config-schema.js";
import { type Constraint, constraintsOf } from "../../core/constraints.js";
import { invalidRequest, notFound, SignetError, stagedChanged } from "../../core/errors.js";
import type { Method } from "../../core/methods.js";
import { presignGcsPost } from "./gcs-post-policy.js";
import {
  type GcsBucket,
  gcsBucket,
  type GcsCredentials,
  type GcsObjectMethod,
  presignGcs,
  signV4Url,
  V4_MAX_EXPIRES_IN,
} from "./gcs-signing.js";
import { assertAllBound, conditionalWrite, postUnbound } from "../bound.js";
import { nothingStaged } from "../staging.js";
import { encodeKeyPath } from "../../core/urls.js";
import { GCS_CAPABILITIES } from "./capabilities.js";
import type {
  Backend,
  DirectRequest,
  DirectScope,
  ListPage,
  ObjectInfo,
  PartInfo,
  PostScope,
} from "../types.js";

export const GcsBucketConfigSchema = Type.Object(
  {
    backend: Type.Literal("gcs"),
    bucket: Type.String({ minLength: 1 }),
    credentialsFile: Type.Optional(Type.String({ minLength: 1 })),
    hmacAccessId: Type.Optional(SecretRef),
    hmacSecret: Type.Optional(SecretRef),
    endpoint: Type.Optional(Type.String({ minLength: 1 })),
    hostname: Type.Optional(Type.String({ minLength: 1 })),
    virtualHostedStyle: Type.Optional(Type.Boolean()),
    ...TIMED_BUCKET_FIELDS,
  },
  { additionalProperties: false },
);
export type GcsBucketConfig = Static<typeof GcsBucketConfigSchema>;

/** gcsBucket()'s field names, as this config spells them. */
const CONFIG_KEY: Record<string, string> = {
  "credentials.serviceAccount": "credentialsFile",
  "credentials.hmacAccessId": "hmacAccessId",
  "credentials.hmacSecret": "hmacSecret",
};

/**
 * A backend for one configured bucket: reads the key file or resolves the HMAC key from `env`.
 * `at` is where the bucket sits in the config file ("buckets.lab"): errors, like config.ts's,
 * are "invalid config: {key}: …", and never hold a secret or the key file's content.
 */
export async function createGcsBackend(
  config: GcsBucketConfig,
  env: NodeJS.ProcessEnv,
  at?: string,
): Promise<GcsBackend> {
  const field = (name: string) => (at === undefined ? name : `${at}.${name}`);
  const refuse = (name: string, message: string) =>
    new Error(`invalid config: ${field(name)}: ${message}`);
  const { credentialsFile, hmacAccessId, hmacSecret } = config;
  if ((credentialsFile === undefined) === (hmacAccessId === undefined && hmacSecret === undefined))
    throw refuse("credentialsFile", "give either credentialsFile or hmacAccessId and hmacSecret");

  let credentials: GcsCredentials;
  if (credentialsFile !== undefined) {
    try {
      credentials = { serviceAccount: await readFile(credentialsFile, "utf8") };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw refuse("credentialsFile", `cannot read ${credentialsFile} (${code})`);
    }
  } else {
    const secret = (name: "hmacAccessId" | "hmacSecret") => {
      const ref = config[name];
      if (ref === undefined) throw refuse(name, "hmacAccessId and hmacSecret go together");
      return resolveSecret(ref, env, field(name));
    };
    credentials = { hmacAccessId: secret("hmacAccessId"), hmacSecret: secret("hmacSecret") };
  }

  const { bucket, endpoint, hostname, virtualHostedStyle } = config;
  try {
    return new GcsBackend(
      gcsBucket({ bucket, endpoint, hostname, virtualHostedStyle }, credentials),
      backendStallMs(config),
    );
  } catch (err) {
    if (!(err instanceof SignetError) || err.field === undefined) throw err;
    throw refuse(CONFIG_KEY[err.field] ?? err.field, err.message);
  }
}

/** The constraints a V4 URL binds (on the methods they apply to; presignGcs checks those). */
const BOUND: ReadonlySet<Constraint> = new Set<Constraint>([
  "contentType",
  "contentLength",
  "range",
  "headers",
  "responseContentDisposition",
  "responseContentType",
]);
const SIGNABLE: ReadonlySet<Method> = new Set<Method>(["GET", "HEAD", "PUT", "DELETE"]);

/** The life of the URLs Signet signs for its own requests: long enough for clock skew. */
const OWN_URL_LIFE = 300;
/** The most XML Signet reads from one answer (a page of 1,000 keys of 1 KiB is ~1.3 MiB). */
const MAX_XML_BYTES = 8 << 20;
/** 10,000 parts at most, 1,000 a page: more pages than this is a backend going round. */
const MAX_PART_PAGES = 20;
/** GCS's own default for an object stored without a type. */
const DEFAULT_TYPE = "application/octet-stream";

const xml = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  // Keys are text: "0001" must not become 1, nor " a " become "a".
  parseTagValue: false,
  trimValues: false,
  // Despite its name this is what decodes &#NN; references, which GCS may write for characters
  // XML cannot hold; GCS sends no HTML named entities.
  htmlEntities: true,
  isArray: (name) => name === "Contents" || name === "CommonPrefixes" || name === "Part",
});

type XmlNode = Record<string, unknown>;
type Response = Dispatcher.ResponseData;

interface OwnRequest {
  method: GcsObjectMethod | "POST";
  /** absent: the bucket itself */
  key?: string;
  query?: Record<string, string>;
  /** headers to sign and send */
  headers?: Record<string, string>;
  body?: Readable | string;
}

export class GcsBackend implements Backend {
  readonly kind = "gcs";
  readonly capabilities = GCS_CAPABILITIES;
  readonly maxExpiresIn = V4_MAX_EXPIRES_IN;

  /** `stallMs`: how long a request to GCS may send and receive nothing (ms) */
  constructor(
    private readonly gcs: GcsBucket,
    private readonly stallMs = backendStallMs({}),
  ) {}

  unbound(scope: DirectScope): string[] {
    const names: string[] = [];
    if (scope.methods.length !== 1 || !SIGNABLE.has(scope.methods[0]!)) names.push("methods");
    if (scope.key === undefined) names.push("folder");
    if (scope.notBefore !== undefined) names.push("notBefore");
    if (scope.expiresAt.getTime() - Date.now() > V4_MAX_EXPIRES_IN * 1000) names.push("expiresAt");
    // Anything not known to be bound is unbound, so a new constraint is never dropped silently.
    for (const name of constraintsOf(scope.constraints))
      if (
        !BOUND.has(name) ||
        (name === "contentType" && isTypePattern(scope.constraints)) ||
        (name === "headers" && conditionalWrite(scope.constraints))
      )
        names.push(name);
    return names;
  }

  presign(scope: DirectScope): DirectRequest {
    assertAllBound(this.unbound(scope), "a GCS V4 URL");
    const method = scope.methods[0] as GcsObjectMethod;
    const c = scope.constraints;
    const signed = presignGcs(this.gcs, {
      method,
      key: scope.key!,
      expiresAt: scope.expiresAt,
      range: c.range,
      contentType: c.contentType,
      contentLength: c.contentLength,
      headers: c.headers,
      responseContentDisposition: c.responseContentDisposition,
      responseContentType: c.responseContentType,
      part: scope.part,
      // A file's URL is pinned to its committed generation.
      generation: method === "GET" || method === "HEAD" ? scope.version : undefined,
    });
    return { url: signed.url, method, headers: signed.headers };
  }

  presignPost(scope: PostScope): { url: string; fields: Record<string, string> } {
    if (scope.checksumSha256 !== undefined)
      throw new SignetError(
        "constraint_not_enforceable",
        "a GCS POST policy cannot bind a SHA-256 of the body",
        "checksumSha256",
      );
    assertAllBound(postUnbound(scope), "a GCS POST policy");
    const type = scope.contentType;
    const range = scope.contentLengthRange;
    const { url, fields } = presignGcsPost(this.gcs, {
      key: scope.key,
      folder: scope.folder,
      expiresAt: scope.expiresAt,
      contentLength: range && { min: range[0], max: range[1] },
      contentType: type?.endsWith("/*") ? { startsWith: type.slice(0, -1) } : type,
      successActionStatus: scope.successActionStatus,
      successActionRedirect: scope.successActionRedirect,
    });
    return { url, fields };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const res = await this.send("head", { method: "HEAD", key });
    if (res.statusCode !== 200 && res.statusCode !== 404) throw await failure(res, "head");
    await res.body.dump();
    return res.statusCode === 404
      ? undefined
      : infoOf(key, res, integer(header(res, "content-length"), "head"), "head");
  }

  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const headers: Record<string, string> = {};
    if (range !== undefined) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
        throw invalidRequest("a range is two byte offsets, 0 <= start <= end", "range");
      headers.range = `bytes=${start}-${end}`;
    }
    const res = await this.send("get", { method: "GET", key, headers });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== (range === undefined ? 200 : 206)) {
      if (res.statusCode >= 300) throw await failure(res, "get");
      await res.body.dump();
      throw unreadable("get", "the range was not honoured");
    }
    // A 206's Content-Length is the range's; the object's size ends its Content-Range.
    const size =
      range === undefined
        ? header(res, "content-length")
        : /^bytes \d+-\d+\/(\d+)$/.exec(header(res, "content-range") ?? "")?.[1];
    try {
      return { info: infoOf(key, res, integer(size, "get"), "get"), body: res.body };
    } catch (err) {
      res.body.destroy();
      throw err;
    }
  }

  async put(
    key: string,
    body: Readable,
    meta: { contentType: string; contentLength?: number },
  ): Promise<ObjectInfo> {
    const headers: Record<string, string> = { "content-type": meta.contentType };
    if (meta.contentLength !== undefined) headers["content-length"] = String(meta.contentLength);
    await expectOk(await this.send("put", { method: "PUT", key, headers, body }), "put");
    return this.written(key);
  }

  async delete(key: string): Promise<void> {
    const res = await this.send("delete", { method: "DELETE", key });
    // Already gone is gone: deleting stays idempotent.
    if (res.statusCode !== 404) await expectOk(res, "delete");
    else await res.body.dump();
  }

  /**
   * The XML API's copy (a PUT naming `x-goog-copy-source: {bucket}/{object}`), within the
   * bucket, then the staged object is deleted. Metadata and type travel with the copy.
   *
   * Only the checked object moves: the copy carries `x-goog-copy-source-if-generation-match`
   * with the generation `head` reported for it (`checked.version`; its ETag through
   * `x-goog-copy-source-if-match` should a store report none), and GCS answers 412
   * PreconditionFailed when the staged object is another generation ("Copy an object", XML API:
   * "If any of the conditional copy headers fail to match ... 412 Precondition Failed"; the
   * headers are listed in "HTTP headers and common query string parameters for JSON/XML").
   * GCS checks it atomically with the copy, so nothing is written to `to` then: 409 conflict.
   */
  async promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo> {
    const source = `${this.gcs.bucket}/${encodeKeyPath(from)}`;
    const headers: Record<string, string> = { "x-goog-copy-source": source };
    if (checked.version !== undefined)
      headers["x-goog-copy-source-if-generation-match"] = checked.version;
    else headers["x-goog-copy-source-if-match"] = checked.etag;
    const res = await this.send("copy", { method: "PUT", key: to, headers });
    if (res.statusCode === 404 || res.statusCode === 412) {
      await res.body.dump();
      throw res.statusCode === 404 ? nothingStaged() : stagedChanged();
    }
    await expectOk(res, "copy");
    await this.delete(from);
    return this.written(to);
  }

  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage> {
    if (!Number.isSafeInteger(options.limit) || options.limit < 1)
      throw invalidRequest("limit is a whole number, at least 1", "limit");
    const query: Record<string, string> = {
      "list-type": "2",
      prefix,
      delimiter: "/",
      "max-keys": String(options.limit),
    };
    if (options.cursor !== undefined) query["continuation-token"] = options.cursor;
    const res = await this.send("list", { method: "GET", query });
    const doc = await xmlOf(res, "list", "ListBucketResult");
    const items = children(doc, "Contents", "list").flatMap((item): ObjectInfo[] => {
      const key = text(item, "Key", "list");
      // A folder placeholder ("a/", as the console writes) is no object: keys never end in /.
      if (key === prefix) return [];
      return [
        {
          key,
          size: integer(text(item, "Size", "list"), "list"),
          etag: text(item, "ETag", "list"),
          // GCS's XML listing does not carry the type; HEAD the object for it.
          contentType: "",
          lastModified: date(text(item, "LastModified", "list"), "list"),
        },
      ];
    });
    const prefixes = children(doc, "CommonPrefixes", "list").map((p) => text(p, "Prefix", "list"));
    const truncated = optionalText(doc, "IsTruncated", "list") === "true";
    return {
      items,
      prefixes,
      nextCursor: truncated ? text(doc, "NextContinuationToken", "list") : null,
    };
  }

  async createMultipart(key: string, meta: { contentType: string }): Promise<string> {
    const res = await this.send("create multipart", {
      method: "POST",
      key,
      query: { uploads: "" },
      headers: { "content-type": meta.contentType },
    });
    const doc = await xmlOf(res, "create multipart", "InitiateMultipartUploadResult");
    const uploadId = text(doc, "UploadId", "create multipart");
    if (uploadId === "") throw unreadable("create multipart", "the UploadId is empty");
    return uploadId;
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PART_PAGES; page++) {
      const query: Record<string, string> = { uploadId };
      if (marker !== undefined) query["part-number-marker"] = marker;
      const res = await this.send("list parts", { method: "GET", key, query });
      const doc = await xmlOf(res, "list parts", "ListPartsResult", "upload");
      for (const part of children(doc, "Part", "list parts"))
        parts.push({
          partNumber: integer(text(part, "PartNumber", "list parts"), "list parts"),
          size: integer(text(part, "Size", "list parts"), "list parts"),
          etag: text(part, "ETag", "list parts"),
        });
      if (optionalText(doc, "IsTruncated", "list parts") !== "true") return parts;
      const next = text(doc, "NextPartNumberMarker", "list parts");
      if (next === marker) throw unreadable("list parts", "the part marker does not advance");
      marker = next;
    }
    throw unreadable("list parts", `more than ${MAX_PART_PAGES} pages of parts`);
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    for (const { partNumber } of parts)
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
        throw invalidRequest("a part number is 1 to 10000", "parts");
    // GCS wants the parts in ascending order.
    const body = `<CompleteMultipartUpload>${[...parts]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map(
        (p) =>
          `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`,
      )
      .join("")}</CompleteMultipartUpload>`;
    const res = await this.send("complete multipart", {
      method: "POST",
      key,
      query: { uploadId },
      headers: { "content-type": "application/xml" },
      body,
    });
    await xmlOf(res, "complete multipart", "CompleteMultipartUploadResult", "upload");
    return this.written(key);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const res = await this.send("abort multipart", { method: "DELETE", key, query: { uploadId } });
    if (res.statusCode !== 404) await expectOk(res, "abort multipart");
    else await res.body.dump();
  }

  /** The stored object's own metadata after a write: a PUT's answer carries no size or date. */
  private async written(key: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (info === undefined)
      throw new SignetError("conflict", "the object was deleted as soon as it was written");
    return info;
  }

  /** Signs a short-lived V4 URL for one of Signet's own requests and sends it. */
  private async send(op: string, own: OwnRequest): Promise<Response> {
    const signed = signV4Url(this.gcs, {
      method: own.method,
      key: own.key,
      expiresIn: OWN_URL_LIFE,
      headers: own.headers,
      query: own.query,
    });
    // undici fails the body stream with its own errors too: note the caller's stream failing.
    let bodyFailed: { error: unknown } | undefined;
    async function* relay(source: Readable): AsyncGenerator<Buffer> {
      try {
        yield* source as AsyncIterable<Buffer>;
      } catch (error) {
        bodyFailed = { error };
        throw error;
      }
    }
    try {
      return await request(signed.url, {
        method: own.method,
        headers: signed.headers,
        body: own.body instanceof Readable ? Readable.from(relay(own.body)) : own.body,
        // undici refreshes the first while a body goes out, the second while one comes in.
        headersTimeout: this.stallMs,
        bodyTimeout: this.stallMs,
      });
    } catch (err) {
      if (bodyFailed !== undefined) throw bodyFailed.error;
      if ((err as { code?: string }).code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH")
        throw invalidRequest("the body's length is not its contentLength", "contentLength");
      // undici's message may hold the URL, and so the signature: never pass it on.
      throw new SignetError("backend_unavailable", `GCS could not be reached (${op})`);
    }
  }
}

const isTypePattern = (c: { contentType?: string }) => c.contentType?.endsWith("/*") === true;

async function expectOk(res: Response, op: string): Promise<void> {
  if (res.statusCode >= 300) throw await failure(res, op);
  await res.body.dump();
}

/** Maps a refusal; only GCS's error code is quoted (its Message can hold the string-to-sign). */
async function failure(res: Response, op: string, missing?: string): Promise<SignetError> {
  const status = res.statusCode;
  let code: string | undefined;
  try {
    const body = xml.parse(await readBody(res, op), true) as XmlNode;
    const error = body.Error;
    if (isNode(error) && typeof error.Code === "string" && /^\w{1,64}$/.test(error.Code))
      code = error.Code;
  } catch {
    // An answer without an XML error (a HEAD, a proxy's page) is described by its status.
  }
  const what = `GCS answered ${op} with ${status}${code === undefined ? "" : ` ${code}`}`;
  // The provider-error table first: a missing bucket, refused credentials, throttling.
  const failed = classify(code, status);
  if (failed !== undefined && failed !== "failed") return unavailable("gcs", failed, code, status);
  if (status >= 500 || status === 408 || status === 429)
    return new SignetError("backend_unavailable", what);
  if (status === 404 && missing !== undefined) return notFound(missing);
  if (status === 416) return new SignetError("range_not_satisfiable", what);
  if (status === 409 || status === 412) return new SignetError("conflict", what);
  if (code === "InvalidPart") return new SignetError("invalid_part", what, "parts");
  if (code === "InvalidPartOrder") return new SignetError("invalid_part_order", what, "parts");
  if (status === 400) return invalidRequest(what);
  // 401, 403, a missing bucket and the rest: Signet's own credentials, rights or configuration.
  return new SignetError("internal", what);
}

/** The root element of an XML answer, refusing any other status or root. */
async function xmlOf(res: Response, op: string, root: string, missing?: string): Promise<XmlNode> {
  if (res.statusCode !== 200) throw await failure(res, op, missing);
  let doc: XmlNode;
  try {
    doc = xml.parse(await readBody(res, op), true) as XmlNode;
  } catch (err) {
    if (err instanceof SignetError) throw err;
    throw unreadable(op, "the answer is not XML");
  }
  const node = doc[root];
  // A complete can fail after its 200 has been sent: the error is then the body.
  if (isNode(doc.Error)) throw unreadable(op, "GCS reported an error in a 200 answer");
  if (!isNode(node)) throw unreadable(op, `the answer is no ${root}`);
  return node;
}

async function readBody(res: Response, op: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_XML_BYTES) {
      res.body.destroy();
      throw unreadable(op, "the answer is too large");
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const unreadable = (op: string, why: string) =>
  new SignetError("backend_unavailable", `GCS's answer to ${op} is unreadable: ${why}`);

const isNode = (value: unknown): value is XmlNode =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function optionalText(node: XmlNode, name: string, op: string): string | undefined {
  const value = node[name];
  if (value === undefined || typeof value === "string") return value;
  throw unreadable(op, `${name} is not one text element`);
}

function text(node: XmlNode, name: string, op: string): string {
  const value = optionalText(node, name, op);
  if (value === undefined) throw unreadable(op, `${name} is missing`);
  return value;
}

function children(node: XmlNode, name: string, op: string): XmlNode[] {
  const list = (node[name] ?? []) as unknown[];
  if (!list.every(isNode)) throw unreadable(op, `a ${name} is empty`);
  return list;
}

function integer(value: string | undefined, op: string): number {
  const n = value !== undefined && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw unreadable(op, "a size or number is not a whole number");
  return n;
}

function date(value: string | undefined, op: string): Date {
  const d = new Date(value ?? NaN);
  if (Number.isNaN(d.getTime())) throw unreadable(op, "a date is not a date");
  return d;
}

function header(res: Response, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function infoOf(key: string, res: Response, size: number, op: string): ObjectInfo {
  const etag = header(res, "etag");
  if (etag === undefined) throw unreadable(op, "the object has no ETag");
  const info: ObjectInfo = {
    key,
    size,
    etag,
    contentType: header(res, "content-type") ?? DEFAULT_TYPE,
    lastModified: date(header(res, "last-modified"), op),
  };
  // The generation pins a file's URLs to its committed bytes (DirectScope.version).
  const generation = header(res, "x-goog-generation");
  if (generation !== undefined && /^\d{1,20}$/.test(generation)) info.version = generation;
  return info;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
