/**
 * The Signet SDK for Node (`import { SignetClient } from "signet"`): the control plane
 * (presign, uploads, files, shares, grants, buckets, keys, audit) and transfers through signed
 * requests (parallel ranged downloads, resumable multipart uploads). Its types are the API's
 * wire types (src/api/types.ts). The CLI and the tests use it; so can other apps.
 */
import { request } from "./http.js";
import type {
  ApiKeyInfo,
  AuditQuery,
  AuditRecord,
  BatchResult,
  BucketConfig,
  BucketInfo,
  FileInfo,
  FileListQuery,
  Grant,
  GrantInput,
  Intent,
  KeyInfo,
  KeyRetirement,
  KeyRotation,
  Page,
  PartPlan,
  PartPlanInput,
  PartRequest,
  PresignInput,
  RevokeResult,
  RevokeTarget,
  Share,
  ShareInput,
  SignedRequest,
  UploadInput,
} from "../api/types.js";
import {
  type DownloadOptions,
  type DownloadResult,
  downloadRanged,
  defaultPartSize,
  type Progress,
  type RangedSource,
  urlSource,
} from "./download.js";
import { stallMsOf } from "../api/stall.js";
import { failure, SignetApiError } from "./errors.js";
import { sha256Of } from "./prefix-hash.js";
import { putBytes, putFile, type PutOptions, type UploadApi } from "./upload.js";

export type * from "../api/types.js";
export { SignetApiError } from "./errors.js";
export { planRanges, stateFileOf } from "./download.js";
export { guessContentType } from "./upload.js";
export { type VerifyWebhookOptions, verifyWebhook, WebhookSignatureError } from "./webhooks.js";
export type { DownloadOptions, DownloadResult, Progress, PutOptions, RangedSource };
export { downloadRanged, sha256Of, urlSource };

export interface ClientOptions {
  /** Signet's base URL, e.g. `http://127.0.0.1:8080` */
  server: string;
  /** an API key (sent as a bearer token) */
  key?: string;
  /**
   * Seconds a call to Signet's API may send and receive nothing before it fails as `stalled`
   * (default 300, above the server's own 60 s bound on each call to a provider; 0 or Infinity:
   * never; a negative is a RangeError). Completing an upload is exempt: it answers once a large
   * object is assembled and checked, which takes minutes on a cloud store.
   */
  apiStallTimeout?: number;
}

/** `ClientOptions.apiStallTimeout`'s default, in seconds. */
const API_STALL_TIMEOUT = 300;

/** Options of `SignetClient.get` and `SignetClient.getUrl`. */
export interface GetOptions extends DownloadOptions {
  expiresIn?: number;
  /** default: a 32nd of the object, 1 to 64 MiB (see `defaultPartSize`) */
  partSize?: number;
  /** base64 sha256 the file must have (for `get`, the file record's is used when known) */
  sha256?: string;
}

/** A client of one Signet server. Every method throws `SignetApiError` on a refusal. */
export class SignetClient {
  /** the server's base URL, without a trailing slash */
  readonly server: string;
  private readonly apiStallMs: number;

  constructor(private readonly options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.apiStallMs = stallMsOf(options.apiStallTimeout ?? API_STALL_TIMEOUT);
  }

  /** One call to the API; `stalls`: whether the API stall timeout applies. */
  private async call<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    idempotencyKey?: string,
    stalls = true,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
    if (this.options.key !== undefined) headers.authorization = `Bearer ${this.options.key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await request(`${this.server}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      stallMs: stalls ? this.apiStallMs : 0,
    });
    if (res.statusCode >= 400) throw await failure(res.statusCode, res.body, res.headers);
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined as T;
    }
    return (await res.body.json()) as T;
  }

  /** `POST /v1/presign`: one signed request. */
  presign(input: PresignInput): Promise<SignedRequest> {
    return this.call("POST", "/v1/presign", input);
  }

  /** `POST /v1/presign/batch`: at most 1,000, answered in input order. */
  async presignBatch(requests: PresignInput[]): Promise<BatchResult[]> {
    return (await this.call<{ results: BatchResult[] }>("POST", "/v1/presign/batch", { requests }))
      .results;
  }

  /** `POST /v1/presign/parts`: ranged GETs over one object. */
  parts(input: PartPlanInput): Promise<PartPlan> {
    return this.call("POST", "/v1/presign/parts", input);
  }

  readonly shares = {
    create: (input: ShareInput) => this.call<Share & { url: string }>("POST", "/v1/shares", input),
    /** `GET /v1/shares`: one page of the shares the caller created (`nextCursor` for the next). */
    list: (query: { cursor?: string; limit?: number } = {}) =>
      this.call<Page<Share>>("GET", `/v1/shares?${queryString(query)}`),
    delete: (id: string) => this.call<void>("DELETE", `/v1/shares/${encodeURIComponent(id)}`),
  };

  /**
   * `POST /v1/revocations`: revokes one signed request or share by its id (a string, or
   * `{ tokenId }`), everything issued to a principal (`{ principal }`), or everything issued
   * inside a folder (`{ bucket, prefix }`). Throws `SignetApiError` `not_revocable` (409) for a
   * direct URL that nobody can refuse before it expires.
   */
  revoke(target: string | RevokeTarget): Promise<RevokeResult> {
    return this.call(
      "POST",
      "/v1/revocations",
      typeof target === "string" ? { tokenId: target } : target,
    );
  }

  readonly apiKeys = {
    create: (input: { name: string; role: string; expiresIn?: number }) =>
      this.call<ApiKeyInfo & { key: string }>("POST", "/v1/apikeys", input),
    list: async () => (await this.call<{ items: ApiKeyInfo[] }>("GET", "/v1/apikeys")).items,
    revoke: (id: string) => this.call<void>("DELETE", `/v1/apikeys/${encodeURIComponent(id)}`),
  };

  readonly grants = {
    create: (input: GrantInput) => this.call<Grant>("POST", "/v1/grants", input),
    list: async () => (await this.call<{ items: Grant[] }>("GET", "/v1/grants")).items,
    delete: (id: string) => this.call<void>("DELETE", `/v1/grants/${encodeURIComponent(id)}`),
  };

  readonly buckets = {
    create: (name: string, config: BucketConfig) =>
      this.call<BucketInfo>("POST", "/v1/buckets", { name, config }),
    list: async () => (await this.call<{ items: BucketInfo[] }>("GET", "/v1/buckets")).items,
    delete: (name: string) => this.call<void>("DELETE", `/v1/buckets/${encodeURIComponent(name)}`),
    /** A new generated key signs from now on; the previous one keeps earlier URLs valid. */
    rotateKey: (name: string) =>
      this.call<KeyRotation>("POST", `/v1/buckets/${encodeURIComponent(name)}/rotate-key`),
    /** Removes the previous key from the backend: URLs signed with it stop working. */
    retireKey: (name: string) =>
      this.call<KeyRetirement>("POST", `/v1/buckets/${encodeURIComponent(name)}/retire-key`),
  };

  readonly keys = {
    list: async () => (await this.call<{ items: KeyInfo[] }>("GET", "/v1/keys")).items,
    rotate: () => this.call<KeyInfo>("POST", "/v1/keys"),
    retire: (kid: string) =>
      this.call<KeyInfo>("POST", `/v1/keys/${encodeURIComponent(kid)}/retire`),
  };

  /** `GET /v1/audit`: one page of records, oldest first, filtered. */
  audit(query: AuditQuery = {}): Promise<Page<AuditRecord>> {
    return this.call("GET", `/v1/audit?${queryString(query)}`);
  }

  readonly uploads = {
    /** `POST /v1/uploads`: an upload intent (retried safely with the same idempotency key). */
    create: (input: UploadInput, idempotencyKey?: string) =>
      this.call<Intent>("POST", "/v1/uploads", input, idempotencyKey),
    /**
     * `POST /v1/uploads/{id}/parts`: fresh URLs for parts whose URLs expired, binding what the
     * intent's own did (each part's `start`, `end` and length). 400 `invalid_part` past the end.
     */
    signParts: async (id: string, partNumbers: number[], expiresIn?: number) =>
      (
        await this.call<{ parts: PartRequest[] }>(
          "POST",
          `/v1/uploads/${encodeURIComponent(id)}/parts`,
          { partNumbers, expiresIn },
        )
      ).parts,
    complete: (
      id: string,
      parts?: { partNumber: number; etag: string }[],
      idempotencyKey?: string,
    ) =>
      this.call<{ file: FileInfo }>(
        "POST",
        `/v1/uploads/${encodeURIComponent(id)}/complete`,
        parts === undefined ? {} : { parts },
        idempotencyKey,
        false,
      ),
    abort: (id: string) =>
      this.call<{ file: FileInfo }>("POST", `/v1/uploads/${encodeURIComponent(id)}/abort`, {}),
  };

  readonly files = {
    get: (id: string) => this.call<FileInfo>("GET", `/v1/files/${encodeURIComponent(id)}`),
    list: (query: FileListQuery = {}) =>
      this.call<Page<FileInfo>>("GET", `/v1/files?${queryString(query)}`),
    delete: (id: string) => this.call<void>("DELETE", `/v1/files/${encodeURIComponent(id)}`),
  };

  /**
   * Streams a file, or the bytes `start..end` (inclusive) of it, to a signed PUT request;
   * returns the ETag the store answered.
   */
  async upload(
    signed: SignedRequest,
    file: string,
    onProgress?: Progress,
    range?: { start: number; end: number },
  ): Promise<string> {
    let done = 0;
    return putBytes(
      signed,
      file,
      (n) => {
        done += n;
        onProgress?.(done, undefined);
      },
      range,
    );
  }

  /**
   * Uploads a file to `bucket/key` through an upload intent (see src/client/upload.ts): parallel
   * parts above 16 MiB, each retried and re-signed on expiry, resumable; returns the committed file.
   */
  put(file: string, bucket: string, key: string, options: PutOptions = {}): Promise<FileInfo> {
    const api: UploadApi = {
      server: this.server,
      createUpload: (input, idem) => this.uploads.create(input, idem),
      signParts: (id, numbers) => this.uploads.signParts(id, numbers),
      completeUpload: (id, parts, idem) => this.uploads.complete(id, parts, idem),
      getFile: (id) => this.files.get(id),
    };
    return putFile(api, file, bucket, key, options);
  }

  /**
   * The committed file at `bucket/key`, when the caller may see it (for its sha256), else
   * undefined.
   */
  async fileAt(bucket: string, key: string): Promise<FileInfo | undefined> {
    try {
      const { items } = await this.files.list({ bucket, prefix: key, limit: 1000 });
      return items.find((f) => f.key === key && f.status === "committed");
    } catch {
      return undefined;
    }
  }

  /**
   * A download source over a part plan of `bucket/key`: each part's URL is renewed (by a new
   * plan with the same part size) when it is about to expire or was refused; a plan whose
   * ETag changed means the object changed, which stops the download.
   */
  async source(bucket: string, key: string, options: GetOptions = {}): Promise<RangedSource> {
    const record = await this.fileAt(bucket, key);
    const plan = async (partSize: number) =>
      this.parts({ bucket, key, expiresIn: options.expiresIn, partSize });
    // The part size follows the object's size: the file record's, else a one-part plan's.
    const size =
      record?.size ??
      (await this.parts({ bucket, key, expiresIn: options.expiresIn, parts: 1 })).size;
    let current = await plan(options.partSize ?? defaultPartSize(size));
    const partSize = current.parts[0] === undefined ? 1 : current.parts[0].end + 1;
    const etag = current.etag;
    let renewing: Promise<PartPlan> | undefined;
    const sha256 =
      options.sha256 ??
      (record !== undefined && record.size === current.size
        ? (record.sha256 ?? undefined)
        : undefined);
    return {
      size: current.size,
      validator: `${bucket}/${key} ${etag}`,
      partSize,
      parts: current.parts.map(({ partNumber, start, end }) => ({ partNumber, start, end })),
      sha256,
      request: async (part, renew) => {
        let signed = current.parts[part.partNumber - 1]!;
        if (renew || Date.parse(signed.expiresAt) - Date.now() < 5_000) {
          // One renewal serves every part that needed one at the same time.
          renewing ??= plan(partSize).finally(() => (renewing = undefined));
          const fresh = await renewing;
          if (fresh.etag !== etag)
            throw new SignetApiError(409, "object_changed", `${bucket}/${key} changed`);
          current = fresh;
          signed = current.parts[part.partNumber - 1]!;
        }
        return { url: signed.url, headers: signed.headers };
      },
    };
  }

  /**
   * Downloads `bucket/key` to `file` over N parallel ranged connections (default 8), resumable
   * from its state file, checking the size and (when known) the sha256.
   */
  async get(
    bucket: string,
    key: string,
    file: string,
    options: GetOptions = {},
  ): Promise<DownloadResult> {
    return downloadRanged(await this.source(bucket, key, options), file, options);
  }

  /** Downloads any HTTP(S) URL that answers Range requests, like `get`. */
  static async getUrl(
    url: string,
    file: string,
    options: GetOptions = {},
  ): Promise<DownloadResult> {
    return downloadRanged(
      await urlSource(url, {
        partSize: options.partSize,
        sha256: options.sha256,
        stallTimeout: options.stallTimeout,
        attempts: options.attempts,
      }),
      file,
      options,
    );
  }
}

/** A query string of the defined values. */
function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== null) params.set(name, String(value));
  return params.toString();
}
