/**
 * The Signet SDK: the control plane (presign, keys, audit) and transfers through signed
 * requests. The CLI and the tests use it; so can other apps. Bodies are streamed both ways.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { request } from "undici";
import type { ErrorBody } from "../core/errors.js";
import type { Grant } from "../core/grants.js";
import type { ApiKeyInfo } from "../service/apikeys.js";
import type { AuditRecord } from "../service/audit.js";
import type { KeyRetirement, KeyRotation } from "../service/backend-keys.js";
import type { BucketInfo } from "../service/buckets.js";
import type { BucketConfig, GrantInput } from "../service/config.js";
import type { KeyInfo } from "../service/keyring.js";
import type {
  BatchResult,
  PartPlan,
  PartPlanInput,
  PresignInput,
  SignedRequest,
} from "../service/presign.js";
import type { Share, ShareInput } from "../service/shares.js";
import type { FileInfo, Intent, UploadInput } from "../service/uploads.js";

export type {
  ApiKeyInfo,
  AuditRecord,
  BatchResult,
  BucketConfig,
  BucketInfo,
  Grant,
  GrantInput,
  KeyInfo,
  KeyRetirement,
  KeyRotation,
  PartPlan,
  PartPlanInput,
  PresignInput,
  FileInfo,
  Intent,
  Share,
  ShareInput,
  UploadInput,
  SignedRequest,
};

export class SignetApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "SignetApiError";
  }
}

export interface ClientOptions {
  server: string;
  key?: string;
}

/** Called with bytes done and the total, when known. */
export type Progress = (done: number, total: number | undefined) => void;

/** Passes bytes through, counting them and reporting progress. */
class ByteMeter extends Transform {
  bytes = 0;

  constructor(onProgress: Progress | undefined, total: number | undefined) {
    super({
      transform: (chunk: Buffer, _enc, next) => {
        this.bytes += chunk.length;
        onProgress?.(this.bytes, total);
        next(null, chunk);
      },
    });
  }
}

async function failure(status: number, body: { text(): Promise<string> }): Promise<SignetApiError> {
  const text = await body.text();
  try {
    const { error } = JSON.parse(text) as { error: ErrorBody };
    return new SignetApiError(status, error.code, error.message, error.field);
  } catch {
    return new SignetApiError(status, "http_error", `HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

export interface PutOptions {
  contentType?: string;
  expiresIn?: number;
  /** above this size the file goes up in parallel parts */
  multipartThreshold?: number;
  partSize?: number;
  concurrency?: number;
  onProgress?: Progress;
}

/** SHA-256 of a file, base64, read as a stream. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("base64");
}

/** Retries transient failures (network errors, 5xx, 429) with exponential backoff. */
async function withRetries<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const status = err instanceof SignetApiError ? err.status : undefined;
      const transient = status === undefined || status >= 500 || status === 429;
      if (!transient || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }
}

export class SignetClient {
  private readonly server: string;

  constructor(private readonly options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
  }

  private async call<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    idempotencyKey?: string,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
    if (this.options.key !== undefined) headers.authorization = `Bearer ${this.options.key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await request(`${this.server}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.statusCode >= 400) throw await failure(res.statusCode, res.body);
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined as T;
    }
    return (await res.body.json()) as T;
  }

  presign(input: PresignInput): Promise<SignedRequest> {
    return this.call("POST", "/v1/presign", input);
  }

  async presignBatch(requests: PresignInput[]): Promise<BatchResult[]> {
    return (await this.call<{ results: BatchResult[] }>("POST", "/v1/presign/batch", { requests }))
      .results;
  }

  readonly shares = {
    create: (input: ShareInput) => this.call<Share & { url: string }>("POST", "/v1/shares", input),
    list: async () => (await this.call<{ items: Share[] }>("GET", "/v1/shares")).items,
    delete: (id: string) => this.call<void>("DELETE", `/v1/shares/${encodeURIComponent(id)}`),
  };

  /** Revokes one signed request or share by its id. */
  revoke(tokenId: string): Promise<{ tokenId: string; revokedAt: string }> {
    return this.call("POST", "/v1/revocations", { tokenId });
  }

  parts(input: PartPlanInput): Promise<PartPlan> {
    return this.call("POST", "/v1/presign/parts", input);
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

  async audit(
    options: { limit?: number; cursor?: string; tokenId?: string } = {},
  ): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(options))
      if (value !== undefined) query.set(name, String(value));
    return this.call("GET", `/v1/audit?${query.toString()}`);
  }

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
    const size = range === undefined ? (await stat(file)).size : range.end - range.start + 1;
    const source = createReadStream(file, range ?? {});
    const body = source.pipe(new ByteMeter(onProgress, size));
    source.once("error", (err) => body.destroy(err));
    const res = await request(signed.url, {
      method: "PUT",
      headers: { ...signed.headers, "content-length": String(size) },
      body,
    });
    if (res.statusCode >= 300) throw await failure(res.statusCode, res.body);
    await res.body.dump();
    const etag = res.headers.etag;
    return typeof etag === "string" ? etag : "";
  }

  /** Streams a signed GET to a file, written under a temporary name and renamed when whole. */
  async download(signed: SignedRequest, file: string, onProgress?: Progress): Promise<number> {
    const res = await request(signed.url, { method: "GET", headers: signed.headers });
    if (res.statusCode >= 300) throw await failure(res.statusCode, res.body);
    const lengthHeader = res.headers["content-length"];
    const total = typeof lengthHeader === "string" ? Number(lengthHeader) : undefined;
    const partial = `${file}.signet-partial`;
    const counter = new ByteMeter(onProgress, total);
    try {
      await pipeline(res.body, counter, createWriteStream(partial));
      if (total !== undefined && counter.bytes !== total)
        throw new Error(`download ended after ${counter.bytes} of ${total} bytes`);
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return counter.bytes;
  }

  readonly uploads = {
    create: (input: UploadInput, idempotencyKey?: string) =>
      this.call<Intent>("POST", "/v1/uploads", input, idempotencyKey),
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
      ),
    abort: (id: string) =>
      this.call<{ file: FileInfo }>("POST", `/v1/uploads/${encodeURIComponent(id)}/abort`, {}),
  };

  readonly files = {
    get: (id: string) => this.call<FileInfo>("GET", `/v1/files/${encodeURIComponent(id)}`),
    delete: (id: string) => this.call<void>("DELETE", `/v1/files/${encodeURIComponent(id)}`),
  };

  /**
   * Uploads a file through an upload intent: one PUT below `multipartThreshold`, else parallel
   * parts (each retried), then complete, which commits only after Signet checked the stored
   * object against the file's size and sha256. Returns the committed file.
   */
  async put(
    file: string,
    bucket: string,
    key: string,
    options: PutOptions = {},
  ): Promise<FileInfo> {
    const { size } = await stat(file);
    const partSize = options.partSize ?? 8 * 1024 * 1024;
    const multipart = size > (options.multipartThreshold ?? 16 * 1024 * 1024);
    const intent = await this.uploads.create(
      {
        bucket,
        key,
        size,
        sha256: await sha256Of(file),
        contentType: options.contentType ?? "application/octet-stream",
        expiresIn: options.expiresIn,
        ...(multipart ? { multipart: { partSize } } : {}),
      },
      randomUUID(),
    );
    let done = 0;
    const progress = (part: number) => options.onProgress?.(done + part, size);
    let parts: { partNumber: number; etag: string }[] | undefined;
    if ("url" in intent.upload) {
      await this.upload(intent.upload, file, progress);
    } else {
      const queue = [...intent.upload.parts];
      parts = [];
      const worker = async () => {
        for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
          const current = part;
          const etag = await withRetries(() =>
            this.upload(current, file, (n) => progress(n), {
              start: current.start,
              end: current.end,
            }),
          );
          done += current.end - current.start + 1;
          parts!.push({ partNumber: current.partNumber, etag });
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, worker),
      );
      parts.sort((a, b) => a.partNumber - b.partNumber);
    }
    return (await this.uploads.complete(intent.file.id, parts, randomUUID())).file;
  }

  async get(
    bucket: string,
    key: string,
    file: string,
    options: { expiresIn?: number; onProgress?: Progress } = {},
  ): Promise<number> {
    const signed = await this.presign({ bucket, key, method: "GET", expiresIn: options.expiresIn });
    return this.download(signed, file, options.onProgress);
  }
}
