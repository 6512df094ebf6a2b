/**
 * The embedded store as a backend: its direct URLs are Signet's own tokens,
 *
 *   {publicUrl}/o/{bucket}/{key}?t={payload}.{mac}        (core/token.ts has the format)
 *
 * e.g. http://127.0.0.1:8080/o/default/reports/q3.pdf?t=eyJ2IjoxLC….Xk2f…
 * A folder URL is …/o/{bucket}/{folder}/?t=… and the same query works on every key under it;
 * a form upload posts to …/o/{bucket}/. Signet itself verifies these on the data plane, so
 * every constraint a scope can carry is bound: methods (several per URL), key or folder,
 * time window, IP, range, exact or bounded length, type, sha256, required headers, response
 * overrides, multipart parts, revocation.
 */
import type { Readable } from "node:stream";
import { requiredHeaders } from "../../core/constraints.js";
import type { Method } from "../../core/methods.js";
import { scopeClaims } from "../../core/direct-scope.js";
import type { UnsignedClaims } from "../../core/token.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";
import type { EmbeddedStore, StoredObject, WriteCondition } from "../../store/embedded.js";
import type { PutMeta } from "../types.js";
import type { EmbeddedMultipart } from "../../store/multipart.js";
import { LOCAL_CAPABILITIES } from "./capabilities.js";
import { nothingStaged } from "../staging.js";
import type {
  Backend,
  DirectRequest,
  DirectScope,
  ListPage,
  ObjectInfo,
  PartInfo,
  PostScope,
} from "../types.js";

export type TokenSigner = (claims: UnsignedClaims) => string;

const info = (object: StoredObject): ObjectInfo => ({
  key: object.key,
  size: object.size,
  etag: object.etag,
  contentType: object.contentType,
  lastModified: object.lastModified,
  sha256: object.sha256,
  version: object.blobId,
});

export class LocalBackend implements Backend {
  readonly kind = "local";
  readonly capabilities = LOCAL_CAPABILITIES;
  readonly maxExpiresIn = Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly bucket: string,
    private readonly store: EmbeddedStore,
    private readonly publicUrl: () => string,
    private readonly sign: TokenSigner,
    readonly multipart: EmbeddedMultipart,
  ) {}

  private base(): string {
    return `${trimSlash(this.publicUrl())}/o/${encodeURIComponent(this.bucket)}/`;
  }

  unbound(): string[] {
    return [];
  }

  presign(scope: DirectScope): DirectRequest {
    const token = this.sign(scopeClaims(scope));
    const query =
      scope.part === undefined
        ? `t=${token}`
        : `uploadId=${encodeURIComponent(scope.part.uploadId)}&partNumber=${scope.part.partNumber}&t=${token}`;
    const base = this.base();
    const [method, ...more] = scope.methods as [Method, ...Method[]];
    const request: DirectRequest = {
      url: `${base}${encodeKeyPath(scope.key ?? scope.folder ?? "")}?${query}`,
      method,
      headers: requiredHeaders(scope.constraints),
    };
    if (more.length > 0) request.methods = scope.methods;
    if (scope.key === undefined) request.objectUrlTemplate = `${base}{key}?${query}`;
    return request;
  }

  presignPost(scope: PostScope): Required<Pick<DirectRequest, "url" | "fields">> {
    const claims: UnsignedClaims = {
      i: scope.tokenId,
      p: scope.principal,
      m: ["POST"],
      b: scope.bucket,
      e: Math.floor(scope.expiresAt.getTime() / 1000),
    };
    if (scope.generation !== undefined) claims.bg = scope.generation;
    if (scope.key !== undefined) claims.o = scope.key;
    if (scope.folder !== undefined) claims.f = scope.folder;
    if (scope.contentLengthRange !== undefined) claims.clr = scope.contentLengthRange;
    if (scope.contentType !== undefined) claims.ct = scope.contentType;
    if (scope.checksumSha256 !== undefined) claims.sha = scope.checksumSha256;
    if (scope.successActionStatus !== undefined) claims.fs = scope.successActionStatus;
    if (scope.successActionRedirect !== undefined) claims.fr = scope.successActionRedirect;
    // Checked on the form's request like every other token's (objects.authorize, verify).
    if (scope.ip !== undefined) claims.ip = scope.ip;
    if (scope.referrers !== undefined) claims.rf = scope.referrers;
    if (scope.headers !== undefined) claims.h = scope.headers;
    if (scope.notBefore !== undefined) claims.n = Math.floor(scope.notBefore.getTime() / 1000);
    // As with S3 and GCS: a folder policy lets the browser name the file; `${filename}` is
    // replaced by the uploaded file's name.
    const fields: Record<string, string> = {
      key: scope.key ?? `${scope.folder}\${filename}`,
      t: this.sign(claims),
    };
    if (scope.contentType !== undefined && !scope.contentType.endsWith("/*"))
      fields["Content-Type"] = scope.contentType;
    if (scope.successActionStatus !== undefined)
      fields.success_action_status = String(scope.successActionStatus);
    if (scope.successActionRedirect !== undefined)
      fields.success_action_redirect = scope.successActionRedirect;
    return { url: this.base(), fields };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const object = await this.store.head(this.bucket, key);
    return object && info(object);
  }

  /** The object and its bytes when the store holds both in memory (EmbeddedStore.inMemory). */
  inMemory(key: string): { info: ObjectInfo; bytes: Buffer } | undefined {
    const found = this.store.inMemory(this.bucket, key);
    return found && { info: info(found.object), bytes: found.bytes };
  }

  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const object = await this.store.head(this.bucket, key);
    if (object === undefined) return undefined;
    const body = await this.store.open(object, range);
    return body && { info: info(object), body };
  }

  async put(key: string, body: Readable, meta: PutMeta): Promise<ObjectInfo> {
    return info(
      await this.store.put(this.bucket, key, body, {
        contentType: meta.contentType,
        expectedBytes: meta.contentLength,
        condition: meta.condition,
        guard: meta.guard,
      }),
    );
  }

  async delete(key: string, condition?: WriteCondition): Promise<void> {
    await this.store.delete(this.bucket, key, condition);
  }

  /** One transaction re-points the staged blob to `to` (embedded.ts, `move`): nothing is copied. */
  async promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo> {
    const moved = await this.store.move(this.bucket, from, to, checked.version);
    if (moved === undefined) throw nothingStaged();
    return info(moved);
  }

  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage> {
    const page = await this.store.list(this.bucket, prefix, options);
    return { ...page, items: page.items.map(info) };
  }

  createMultipart(key: string, meta: { contentType: string }): Promise<string> {
    return this.multipart.create(this.bucket, key, meta.contentType);
  }

  listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    return this.multipart.listParts(this.bucket, key, uploadId);
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    return info(await this.multipart.complete(this.bucket, key, uploadId, parts));
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.multipart.abort(this.bucket, key, uploadId);
  }
}
