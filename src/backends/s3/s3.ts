/**
 * Amazon S3 and S3-compatible stores. Direct URLs are SigV4 presigned URLs (s3-signing.ts signs
 * them, sigv4.ts has the format), form uploads are POST policies (s3-post-policy.ts), and Signet's
 * own operations go through @aws-sdk/client-s3 with Signet's credentials.
 *
 *   https://{bucket}.s3.{region}.amazonaws.com/{key}      ({endpoint}/{bucket}/{key} path style)
 *     ?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={key id}/{day}/{region}/s3/aws4_request
 *     &X-Amz-Date=…&X-Amz-Expires={s}&X-Amz-SignedHeaders=host[;{each name in `headers`}]
 *     [&partNumber=…&uploadId=…][&response-content-…=…]&X-Amz-Signature={hex}
 *
 * Example: the bucket
 *
 *   "media": { "backend": "s3", "bucket": "acme-media", "region": "eu-west-3",
 *              "accessKeyId": "${S3_KEY_ID}", "secretAccessKey": "${S3_SECRET}" }
 *
 * asked for a GET of reports/q3.pdf, bytes 0 to 1048575, for 900 s, gives
 *
 *   { url: "https://acme-media.s3.eu-west-3.amazonaws.com/reports/q3.pdf?X-Amz-Algorithm=…
 *           &X-Amz-Expires=900&X-Amz-SignedHeaders=host%3Brange&X-Amz-Signature=…",
 *     method: "GET", headers: { range: "bytes=0-1048575" } }
 *
 * Settings: `bucket`, `region`, `endpoint` and `forcePathStyle` for S3-compatible stores;
 * `accessKeyId`, `secretAccessKey` and `sessionToken` as `${ENV}` references, else the SDK's
 * default chain; `maxExpiresIn` (direct URLs live 7 days at most, links may outlive them),
 * `maxObjectSize` and `cors` as for every bucket; `checksums`, "enforced" on AWS by default and
 * "ignored" with an `endpoint` (Swift's s3api accepts a wrong x-amz-checksum-sha256).
 *
 * Binds: one method, one key, the expiry (7 days at most, and never past the expiry of
 * default-chain credentials, renewed as they near it); on GET and HEAD a Range and the response
 * overrides; on PUT Content-Length, Content-Type and, where enforced, x-amz-checksum-sha256; a
 * multipart part (partNumber, uploadId, its Content-Length). Cannot bind, as unbound() says:
 * several methods, a folder, notBefore, ip, a length range (a POST policy can), required
 * `headers` (s3-signing.ts signs no other header yet), a constraint its method does not take,
 * revocation. presign() refuses those (constraint_not_enforceable) rather than drop them.
 * Static credentials with a sessionToken have no known expiry, so nothing caps URLs by it.
 */
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { type Static, Type } from "@sinclair/typebox";
import {
  TIMED_BUCKET_FIELDS,
  backendStallMs,
  SecretRef,
  resolveSecret,
} from "../../core/config-schema.js";
import { type Constraint, type ScopeConstraints, constraintsOf } from "../../core/constraints.js";
import { type ErrorCode, SignetError, stagedChanged } from "../../core/errors.js";
import { type Method, OBJECT_METHODS, type ObjectMethod } from "../../core/methods.js";
import { presignPost } from "./s3-post-policy.js";
import { type S3Location, S3Signer, s3Endpoint } from "./s3-signing.js";
import { MAX_EXPIRES_IN } from "./sigv4.js";
import { assertAllBound, postUnbound } from "../bound.js";
import { nothingStaged, SINGLE_COPY_MAX } from "../staging.js";
import { S3_CAPABILITIES } from "./capabilities.js";
import type {
  Backend,
  DirectRequest,
  DirectScope,
  ListPage,
  ObjectInfo,
  PartInfo,
  PostScope,
} from "../types.js";

export const S3BucketConfigSchema = Type.Object(
  {
    backend: Type.Literal("s3"),
    /** the store's own bucket name */
    bucket: Type.String({ pattern: "^[^/]+$" }),
    region: Type.String({ pattern: "^[A-Za-z0-9_-]+$" }),
    endpoint: Type.Optional(Type.String({ pattern: "^https?://" })),
    forcePathStyle: Type.Optional(Type.Boolean()),
    accessKeyId: Type.Optional(SecretRef),
    secretAccessKey: Type.Optional(SecretRef),
    sessionToken: Type.Optional(SecretRef),
    checksums: Type.Optional(Type.Union([Type.Literal("enforced"), Type.Literal("ignored")])),
    ...TIMED_BUCKET_FIELDS,
  },
  { additionalProperties: false },
);
export type S3BucketConfig = Static<typeof S3BucketConfigSchema>;

export type Checksums = "enforced" | "ignored";

/** Credentials as the SDK's providers return them: `expiration` when they are temporary. */
export type S3Credentials = Awaited<ReturnType<S3Client["config"]["credentials"]>>;

export interface S3BackendOptions {
  location: S3Location;
  checksums: Checksums;
  /** seconds, at most 7 days */
  maxExpiresIn: number;
  /** for the object operations; made with the same location and credentials */
  client: S3Client;
  /** what URLs are signed with */
  credentials: S3Credentials;
  /** fresh credentials, when `credentials` expire (the SDK provider, asked not to use its cache) */
  renew?: (options: { forceRefresh: true }) => Promise<S3Credentials>;
}

/** What a presigned URL binds, by method (s3-signing.ts); checksumSha256 only where checked. */
const BINDS: Record<ObjectMethod, ReadonlySet<Constraint>> = {
  GET: new Set(["range", "responseContentDisposition", "responseContentType"]),
  HEAD: new Set(["range", "responseContentDisposition", "responseContentType"]),
  PUT: new Set(["contentLength", "contentType", "checksumSha256"]),
  DELETE: new Set(),
};
const isObjectMethod = (method: Method | undefined): method is ObjectMethod =>
  (OBJECT_METHODS as readonly (Method | undefined)[]).includes(method);

// Renew temporary credentials while a default 15-minute URL still fits in them; a failed
// renewal is retried at most once a minute.
const RENEW_BEFORE_MS = 15 * 60_000;
const RENEW_RETRY_MS = 60_000;

/** A multipart object's ETag: the MD5 of its parts' MD5s, then "-" and the part count. */
const MULTIPART_ETAG = /-\d+"?$/;

// An upload of unknown length goes up in parts of this size (S3 wants at least 5 MiB).
const PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;

export class S3Backend implements Backend {
  readonly kind = "s3";
  readonly capabilities = S3_CAPABILITIES;
  readonly checksums: Checksums;
  readonly location: S3Location;
  readonly #maxExpiresIn: number;
  readonly #client: S3Client;
  readonly #renew: S3BackendOptions["renew"];
  #signer: S3Signer;
  #expiration: Date | undefined;
  #renewing: Promise<void> | undefined;
  #nextRenewal = 0;

  constructor(options: S3BackendOptions) {
    this.location = options.location;
    this.checksums = options.checksums;
    this.#maxExpiresIn = Math.min(options.maxExpiresIn, MAX_EXPIRES_IN);
    this.#client = options.client;
    this.#renew = options.renew;
    this.#signer = new S3Signer(options.location, options.credentials);
    this.#expiration = options.credentials.expiration;
  }

  /** The configured maximum, or less once temporary credentials expire sooner. */
  get maxExpiresIn(): number {
    if (this.#expiration === undefined) return this.#maxExpiresIn;
    const left = Math.floor((this.#expiration.getTime() - Date.now()) / 1000);
    return Math.max(0, Math.min(this.#maxExpiresIn, left));
  }

  unbound(scope: DirectScope): string[] {
    const { methods, constraints } = scope;
    const unbound: string[] = [];
    if (methods.length !== 1 || !isObjectMethod(methods[0])) unbound.push("methods");
    if (scope.key === undefined) unbound.push("folder");
    if (scope.notBefore !== undefined) unbound.push("notBefore");
    for (const name of constraintsOf(constraints))
      if (!methods.every((method) => this.#binds(name, method, constraints))) unbound.push(name);
    return unbound;
  }

  #binds(name: Constraint, method: Method, constraints: ScopeConstraints): boolean {
    if (name === "headers") return Object.keys(constraints.headers!).length === 0;
    if (name === "checksumSha256" && this.checksums === "ignored") return false;
    return isObjectMethod(method) && BINDS[method].has(name);
  }

  /** Signs a scope whose unbound() is empty; anything else is constraint_not_enforceable. */
  presign(scope: DirectScope): DirectRequest {
    assertAllBound(this.unbound(scope), "an S3 URL");
    this.#checkExpiry(scope.expiresAt);
    const method = scope.methods[0] as ObjectMethod;
    const c = scope.constraints;
    const signed = this.#signer.presign({
      method,
      key: scope.key!,
      expiresAt: scope.expiresAt,
      range: c.range,
      contentLength: c.contentLength,
      contentType: c.contentType,
      checksumSha256: c.checksumSha256,
      responseContentDisposition: c.responseContentDisposition,
      responseContentType: c.responseContentType,
      part: scope.part,
    });
    return { url: signed.url, method, headers: signed.headers };
  }

  presignPost(scope: PostScope): Required<Pick<DirectRequest, "url" | "fields">> {
    if (scope.checksumSha256 !== undefined && this.checksums === "ignored")
      throw new SignetError(
        "constraint_not_enforceable",
        "this store does not check x-amz-checksum-sha256",
        "checksumSha256",
      );
    assertAllBound(postUnbound(scope), "an S3 POST policy");
    this.#checkExpiry(scope.expiresAt);
    const { contentType, contentLengthRange: lengths } = scope;
    const form = presignPost(this.#signer, {
      key: scope.key,
      folder: scope.folder,
      expiresAt: scope.expiresAt,
      contentLength: lengths && { min: lengths[0], max: lengths[1] },
      // "image/*" → the form's own Content-Type field must start with "image/"
      contentType: contentType?.endsWith("/*")
        ? { startsWith: contentType.slice(0, -1) }
        : contentType,
      successActionStatus: scope.successActionStatus,
      successActionRedirect: scope.successActionRedirect,
      checksumSha256: scope.checksumSha256,
    });
    return { url: form.url, fields: form.fields };
  }

  /**
   * Fetches fresh credentials now (one fetch at a time); nothing to do for static ones.
   * presign() starts this itself when the credentials near their expiry.
   */
  refreshCredentials(): Promise<void> {
    const renew = this.#renew;
    if (renew === undefined) return Promise.resolve();
    this.#nextRenewal = Date.now() + RENEW_RETRY_MS;
    this.#renewing ??= renew({ forceRefresh: true })
      .then((credentials) => {
        this.#signer = new S3Signer(this.location, credentials);
        this.#expiration = credentials.expiration;
      })
      .finally(() => {
        this.#renewing = undefined;
      });
    return this.#renewing;
  }

  #checkExpiry(expiresAt: Date): void {
    const now = Date.now();
    const expiration = this.#expiration;
    if (expiration === undefined) return;
    if (expiration.getTime() - now < RENEW_BEFORE_MS && now >= this.#nextRenewal)
      // A failed renewal keeps the current credentials: URLs past them are refused below.
      this.refreshCredentials().catch(() => undefined);
    if (expiresAt.getTime() > expiration.getTime())
      throw new SignetError(
        "expiry_too_long",
        `this bucket's temporary credentials expire at ${expiration.toISOString()}`,
        "expiresIn",
      );
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await answer(
        this.#client.send(
          new HeadObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            ChecksumMode: "ENABLED",
          }),
        ),
      );
      return objectInfo(key, out.ContentLength ?? 0, out);
    } catch (err) {
      return missing(err);
    }
  }

  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    try {
      const out = await answer(
        this.#client.send(
          new GetObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            Range: range && `bytes=${range.start}-${range.end}`,
          }),
        ),
      );
      // A 206's Content-Length is the range's; the object's size ends its Content-Range.
      const total = /\/(\d+)$/.exec(out.ContentRange ?? "")?.[1];
      const size = total === undefined ? (out.ContentLength ?? 0) : Number(total);
      return { info: objectInfo(key, size, out), body: out.Body as Readable };
    } catch (err) {
      return missing(err);
    }
  }

  async put(
    key: string,
    body: Readable,
    meta: { contentType: string; contentLength?: number },
  ): Promise<ObjectInfo> {
    if (meta.contentLength === undefined) await this.#putInParts(key, body, meta.contentType);
    else
      await answer(
        this.#client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            Body: body,
            ContentLength: meta.contentLength,
            ContentType: meta.contentType,
          }),
        ),
      );
    return this.#written(key);
  }

  /** A body of unknown length: one PutObject when it fits in a part, else a multipart upload. */
  async #putInParts(key: string, body: Readable, contentType: string): Promise<void> {
    let uploadId: string | undefined;
    const parts: { partNumber: number; etag: string }[] = [];
    try {
      for await (const { data, last } of chunked(body, PART_SIZE)) {
        if (uploadId === undefined && last) {
          await answer(
            this.#client.send(
              new PutObjectCommand({
                Bucket: this.location.bucket,
                Key: key,
                Body: data,
                ContentType: contentType,
              }),
            ),
          );
          return;
        }
        if (parts.length === MAX_PARTS)
          throw new SignetError("payload_too_large", `an upload has at most ${MAX_PARTS} parts`);
        uploadId ??= await this.createMultipart(key, { contentType });
        const partNumber = parts.length + 1;
        const out = await answer(
          this.#client.send(
            new UploadPartCommand({
              Bucket: this.location.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: data,
              ContentLength: data.length,
            }),
          ),
        );
        parts.push({ partNumber, etag: out.ETag ?? "" });
      }
      await this.#complete(key, uploadId!, parts);
    } catch (err) {
      // The first error is the one to report; an upload left behind costs storage until a
      // bucket lifecycle rule removes it.
      if (uploadId !== undefined) await this.abortMultipart(key, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await answer(
      this.#client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key })),
    );
  }

  /**
   * CopyObject (UploadPartCopy in 5 GiB parts above S3's single-copy limit), then the staged
   * object is deleted. Type and metadata travel with the copy.
   *
   * Only the checked object moves: every copy request carries `CopySourceIfMatch`
   * (x-amz-copy-source-if-match) with the ETag `head` reported for it, so S3 answers 412
   * PreconditionFailed, writing nothing, when other bytes were staged since (CopyObject and
   * UploadPartCopy, "Request Syntax": "Copies the object if its entity tag (ETag) matches the
   * specified tag"). A multipart copy's parts are each pinned to that ETag, so they all come
   * from the checked object; a refused part aborts the upload. S3's ETag is an MD5 (of the
   * bytes, or of the parts' MD5s): the pin is as strong as MD5.
   *
   * Swift's s3api (the peer here) evaluates the header on a HEAD of the Swift object just
   * before its copy, not atomically with it, and against Swift's own ETag: a multipart
   * object's S3 ETag ("…-N") never matches there. So a 412 for a multipart ETag is looked at
   * again: when the store's HEAD still reports the checked ETag, the copy is made once more
   * without the header, with the same window as s3api's own HEAD-then-copy.
   */
  async promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo> {
    try {
      await this.#copy(from, to, checked, true);
    } catch (err) {
      if (
        !(err instanceof SignetError) ||
        err.code !== "conflict" ||
        !MULTIPART_ETAG.test(checked.etag)
      )
        throw err;
      const now = await this.head(from);
      if (now === undefined) throw nothingStaged();
      if (now.etag !== checked.etag) throw err;
      await this.#copy(from, to, checked, false);
    }
    await this.delete(from);
    return this.#written(to);
  }

  /** The copy of promote(), pinned to `checked.etag` or not (see there). */
  async #copy(from: string, to: string, checked: ObjectInfo, pinned: boolean): Promise<void> {
    const source = {
      CopySource: `${this.location.bucket}/${encodeURIComponent(from)}`,
      ...(pinned ? { CopySourceIfMatch: checked.etag } : {}),
    };
    try {
      if (checked.size <= SINGLE_COPY_MAX) {
        await answer(
          this.#client.send(
            new CopyObjectCommand({
              Bucket: this.location.bucket,
              Key: to,
              ...source,
              ...(this.checksums === "enforced" ? { ChecksumAlgorithm: "SHA256" as const } : {}),
            }),
          ),
        );
        return;
      }
      const uploadId = await this.createMultipart(to, { contentType: checked.contentType });
      try {
        const parts: { partNumber: number; etag: string }[] = [];
        for (let start = 0; start < checked.size; start += SINGLE_COPY_MAX) {
          const end = Math.min(checked.size, start + SINGLE_COPY_MAX) - 1;
          const out = await answer(
            this.#client.send(
              new UploadPartCopyCommand({
                Bucket: this.location.bucket,
                Key: to,
                UploadId: uploadId,
                PartNumber: parts.length + 1,
                ...source,
                CopySourceRange: `bytes=${start}-${end}`,
              }),
            ),
          );
          parts.push({ partNumber: parts.length + 1, etag: out.CopyPartResult?.ETag ?? "" });
        }
        await this.#complete(to, uploadId, parts);
      } catch (err) {
        await this.abortMultipart(to, uploadId).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === "PreconditionFailed") throw stagedChanged();
      if (name === "NoSuchKey" || name === "NotFound") throw nothingStaged();
      throw err;
    }
  }

  /** Listings carry no content type (S3 does not list it): contentType is "". */
  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage> {
    const out = await answer(
      this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: prefix,
          Delimiter: "/",
          MaxKeys: options.limit,
          ContinuationToken: options.cursor,
        }),
      ),
    );
    return {
      items: (out.Contents ?? []).map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: o.ETag ?? "",
        contentType: "",
        lastModified: o.LastModified ?? new Date(0),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix!),
      nextCursor: (out.IsTruncated === true && out.NextContinuationToken) || null,
    };
  }

  async createMultipart(key: string, meta: { contentType: string }): Promise<string> {
    const out = await answer(
      this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.location.bucket,
          Key: key,
          ContentType: meta.contentType,
        }),
      ),
    );
    return out.UploadId!;
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    // Every page but the last holds at least one part, so MAX_PARTS pages always suffice.
    for (let page = 0; page < MAX_PARTS; page++) {
      const out = await answer(
        this.#client.send(
          new ListPartsCommand({
            Bucket: this.location.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        ),
      );
      for (const p of out.Parts ?? [])
        parts.push({ partNumber: p.PartNumber!, size: p.Size ?? 0, etag: p.ETag ?? "" });
      if (out.IsTruncated !== true) return parts;
      if (out.NextPartNumberMarker === undefined || out.NextPartNumberMarker === marker) break;
      marker = out.NextPartNumberMarker;
    }
    throw new SignetError("backend_unavailable", "the store's part listing does not advance");
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    await this.#complete(key, uploadId, parts);
    return this.#written(key);
  }

  async #complete(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    await answer(
      this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.location.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
          },
        }),
      ),
    );
  }

  /** Idempotent: an upload already gone counts as aborted. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await answer(
        this.#client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.location.bucket,
            Key: key,
            UploadId: uploadId,
          }),
        ),
      );
    } catch (err) {
      if (!(err instanceof SignetError && err.code === "not_found")) throw err;
    }
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.#client.destroy();
  }

  async #written(key: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (info === undefined)
      throw new SignetError("conflict", `${key} was deleted as it was written`);
    return info;
  }
}

/** Milliseconds to connect to the store, at most (as undici's default for GCS and Swift). */
const CONNECT_TIMEOUT_MS = 10_000;

/** Builds the backend of one bucket; `at` prefixes the config keys errors name. */
export async function createS3Backend(
  config: S3BucketConfig,
  env: NodeJS.ProcessEnv,
  at?: string,
): Promise<S3Backend> {
  const field = (name: string) => (at === undefined ? name : `${at}.${name}`);
  const location: S3Location = {
    bucket: config.bucket,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
  };
  try {
    s3Endpoint(location);
  } catch (err) {
    const { message, field: key } = err as SignetError;
    throw new Error(`invalid config: ${field(key ?? "endpoint")}: ${message}`);
  }
  const given = staticCredentials(config, env, field);
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: given,
    // else the SDK adds a CRC32 to every upload, as aws-chunked trailers not every store takes
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // The SDK has no timeout of its own: a silent store would hold the request (and any key it
    // holds) for ever. socketTimeout is an idle one, so a long copy or upload is not cut
    // (S3 sends whitespace while it completes a multipart upload or a copy).
    requestHandler: {
      connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, backendStallMs(config)),
      socketTimeout: backendStallMs(config),
    },
  });
  let credentials = given;
  let renew: S3BackendOptions["renew"];
  if (credentials === undefined) {
    const provider = client.config.credentials;
    try {
      credentials = await provider();
    } catch {
      client.destroy();
      // The provider's own message may quote files or commands: it is not repeated here.
      throw new Error(
        `invalid config: ${field("accessKeyId")} is not set and the AWS SDK's default ` +
          "credential chain found no credentials",
      );
    }
    if (credentials.expiration !== undefined) renew = (options) => provider(options);
  }
  return new S3Backend({
    location,
    checksums: config.checksums ?? (config.endpoint === undefined ? "enforced" : "ignored"),
    maxExpiresIn: config.maxExpiresIn ?? MAX_EXPIRES_IN,
    client,
    credentials,
    renew,
  });
}

function staticCredentials(
  config: S3BucketConfig,
  env: NodeJS.ProcessEnv,
  field: (name: string) => string,
): S3Credentials | undefined {
  const { accessKeyId, secretAccessKey, sessionToken } = config;
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    if (sessionToken !== undefined)
      throw new Error(
        `invalid config: ${field("sessionToken")} needs accessKeyId and secretAccessKey`,
      );
    return undefined;
  }
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [absent, given] =
      accessKeyId === undefined
        ? ["accessKeyId", "secretAccessKey"]
        : ["secretAccessKey", "accessKeyId"];
    throw new Error(`invalid config: ${field(absent)} is required with ${given}`);
  }
  const secret = (ref: string, name: string) => resolveSecret(ref, env, field(name));
  return {
    accessKeyId: secret(accessKeyId, "accessKeyId"),
    secretAccessKey: secret(secretAccessKey, "secretAccessKey"),
    sessionToken: sessionToken === undefined ? undefined : secret(sessionToken, "sessionToken"),
  };
}

interface S3Metadata {
  ETag?: string | undefined;
  ContentType?: string | undefined;
  LastModified?: Date | undefined;
  ChecksumSHA256?: string | undefined;
  ChecksumType?: string | undefined;
}

const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

function objectInfo(key: string, size: number, out: S3Metadata): ObjectInfo {
  const info: ObjectInfo = {
    key,
    size,
    etag: out.ETag ?? "",
    contentType: out.ContentType ?? "application/octet-stream",
    lastModified: out.LastModified ?? new Date(0),
  };
  // A multipart object's checksum is COMPOSITE ("…-3"), a hash of part hashes: not the bytes'.
  const sha256 = out.ChecksumSHA256;
  if (sha256 !== undefined && out.ChecksumType !== "COMPOSITE" && SHA256_BASE64.test(sha256))
    info.sha256 = sha256;
  return info;
}

/** "Not found" is undefined; anything else is thrown again. */
function missing(err: unknown): undefined {
  const name = (err as { name?: string }).name;
  if (name === "NotFound" || name === "NoSuchKey") return undefined;
  throw err;
}

// S3 answers Signet can name; the rest are thrown as the SDK raised them.
const REFUSALS: Record<string, [ErrorCode, string]> = {
  NoSuchUpload: ["not_found", "upload not found"],
  InvalidPart: ["invalid_part", "a part is missing or its ETag does not match"],
  InvalidPartOrder: ["invalid_part_order", "the parts are not in ascending order"],
  EntityTooSmall: ["invalid_request", "a part other than the last is smaller than 5 MiB"],
  InvalidRange: ["range_not_satisfiable", "the range starts past the object's end"],
};
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

function refusal(err: unknown): SignetError | undefined {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const known = REFUSALS[e.name ?? ""];
  if (known !== undefined) return new SignetError(known[0], known[1]);
  const status = e.$metadata?.httpStatusCode;
  if ((status !== undefined && status >= 500) || NETWORK_ERRORS.has(e.code ?? ""))
    return new SignetError(
      "backend_unavailable",
      status === undefined
        ? `the store is unreachable (${e.code})`
        : `the store answered ${status}`,
    );
  return undefined;
}

/** The body in buffers of at least `size` bytes (the last may be shorter, even empty). */
async function* chunked(
  body: Readable,
  size: number,
): AsyncGenerator<{ data: Buffer; last: boolean }> {
  let ready: Buffer | undefined;
  let chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= size) {
      // held back one buffer, so that the last one can say so
      if (ready !== undefined) yield { data: ready, last: false };
      ready = Buffer.concat(chunks);
      chunks = [];
      length = 0;
    }
  }
  const rest = Buffer.concat(chunks);
  if (ready !== undefined && rest.length > 0) {
    yield { data: ready, last: false };
    ready = undefined;
  }
  yield { data: ready ?? rest, last: true };
}

/** The SDK's answer, with the refusals Signet can name mapped (refusal()). */
async function answer<T>(sent: Promise<T>): Promise<T> {
  try {
    return await sent;
  } catch (err) {
    throw refusal(err) ?? err;
  }
}
