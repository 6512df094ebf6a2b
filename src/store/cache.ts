/**
 * Memory in front of the embedded store's read path, bounded and configurable:
 *
 * - object rows (bucket + key → blob id, size, etag, type): an LRU of at most
 *   SIGNET_CACHE_ROWS entries (default 10,000), each trusted for SIGNET_CACHE_ROW_TTL_MS
 *   (default 1,000 ms). This process's writes (PUT, multipart complete, DELETE) drop the entry at
 *   once; another instance's writes are seen within the TTL, DESIGN.md's one-second rule for
 *   in-memory caches of shared state. Only rows found are kept: a missing object is asked for
 *   again every time.
 * - the bytes of small blobs: blobs are immutable (a write makes a new blob id, never rewrites
 *   one), so a blob id's bytes can be kept until it is removed. At most SIGNET_CACHE_BYTES in
 *   all (default 64 MiB), each at most SIGNET_CACHE_OBJECT_MAX_BYTES (default 64 KiB).
 *
 * - open blob files: at most SIGNET_CACHE_OPEN_FILES (default 128) descriptors kept between
 *   reads, least recently used closed first (blob-reader.ts); same reason, blobs are immutable.
 * - verified data-plane tokens (core/verified-tokens.ts): at most SIGNET_CACHE_TOKEN_BYTES
 *   (default 8 MiB, some 10,000 tokens); expiry and revocation are still checked on each use.
 *
 * 0 turns any of them off. The bounds count entries and bytes of content, not the few hundred
 * bytes of bookkeeping per entry.
 */
import { Readable } from "node:stream";
import { Type } from "@sinclair/typebox";
import { LRUCache } from "lru-cache";
import { textParser } from "../core/schema.js";

export interface StoreCacheOptions {
  /** object rows kept; 0 turns the row cache off */
  rows: number;
  /** how long a cached row is trusted, in milliseconds */
  rowTtlMs: number;
  /** total bytes of blob content kept; 0 turns the byte cache off */
  bytes: number;
  /** the largest blob whose bytes are kept, in bytes */
  maxObjectBytes: number;
  /** blob files kept open between reads; 0: each read opens and closes its own */
  openFiles: number;
  /** bytes of verified tokens kept (core/verified-tokens.ts); 0 turns that cache off */
  tokenBytes: number;
}

export const DEFAULT_STORE_CACHE: StoreCacheOptions = {
  rows: 10_000,
  rowTtlMs: 1_000,
  bytes: 64 * 1024 * 1024,
  maxObjectBytes: 64 * 1024,
  openFiles: 128,
  tokenBytes: 8 * 1024 * 1024,
};

const count = (maximum: number) => Type.Optional(Type.Integer({ minimum: 0, maximum }));
const parseEnv = textParser(
  Type.Object({
    SIGNET_CACHE_ROWS: count(10_000_000),
    // One second at most: the bound DESIGN.md sets on stale shared state.
    SIGNET_CACHE_ROW_TTL_MS: count(1_000),
    SIGNET_CACHE_BYTES: count(2 ** 40),
    SIGNET_CACHE_OBJECT_MAX_BYTES: count(2 ** 30),
    SIGNET_CACHE_OPEN_FILES: count(1_000_000),
    SIGNET_CACHE_TOKEN_BYTES: count(2 ** 40),
  }),
  "environment",
);

/** The cache bounds from the environment; an invalid value is an `invalid_request` naming it. */
export function storeCacheOptions(env: NodeJS.ProcessEnv): StoreCacheOptions {
  const given: Record<string, string> = {};
  for (const name of [
    "SIGNET_CACHE_ROWS",
    "SIGNET_CACHE_ROW_TTL_MS",
    "SIGNET_CACHE_BYTES",
    "SIGNET_CACHE_OBJECT_MAX_BYTES",
    "SIGNET_CACHE_OPEN_FILES",
    "SIGNET_CACHE_TOKEN_BYTES",
  ])
    if (env[name] !== undefined && env[name] !== "") given[name] = env[name];
  const parsed = parseEnv(given) as Record<string, number | undefined>;
  return {
    rows: parsed.SIGNET_CACHE_ROWS ?? DEFAULT_STORE_CACHE.rows,
    rowTtlMs: parsed.SIGNET_CACHE_ROW_TTL_MS ?? DEFAULT_STORE_CACHE.rowTtlMs,
    bytes: parsed.SIGNET_CACHE_BYTES ?? DEFAULT_STORE_CACHE.bytes,
    maxObjectBytes: parsed.SIGNET_CACHE_OBJECT_MAX_BYTES ?? DEFAULT_STORE_CACHE.maxObjectBytes,
    openFiles: parsed.SIGNET_CACHE_OPEN_FILES ?? DEFAULT_STORE_CACHE.openFiles,
    tokenBytes: parsed.SIGNET_CACHE_TOKEN_BYTES ?? DEFAULT_STORE_CACHE.tokenBytes,
  };
}

/**
 * Rows by bucket and key. A lookup that started before a write to the same store must not put
 * back what the write replaced: `lookup` keeps its answer only when no write happened while it
 * ran (one counter for the whole store: writes are rare beside reads).
 */
export class RowCache<Row extends object> {
  readonly #rows: LRUCache<string, Row> | undefined;
  #writes = 0;

  constructor(options: Pick<StoreCacheOptions, "rows" | "rowTtlMs">) {
    if (options.rows > 0 && options.rowTtlMs > 0)
      this.#rows = new LRUCache({ max: options.rows, ttl: options.rowTtlMs });
  }

  /** The cached row, else `load()`'s, kept when found and no write raced it. */
  async lookup(
    bucket: string,
    key: string,
    load: () => Promise<Row | undefined>,
  ): Promise<Row | undefined> {
    if (this.#rows === undefined) return load();
    // "\0" cannot occur in a bucket name: the pair maps to one string only.
    const id = `${bucket}\0${key}`;
    const hit = this.#rows.get(id);
    if (hit !== undefined) return hit;
    const writes = this.#writes;
    const row = await load();
    if (row !== undefined && writes === this.#writes) this.#rows.set(id, row);
    return row;
  }

  /** The cached row only (no load): for a synchronous answer that falls back to `lookup`. */
  peek(bucket: string, key: string): Row | undefined {
    return this.#rows?.get(`${bucket}\0${key}`);
  }

  /**
   * Called once a write of the row has committed: the entry goes, and a lookup still running
   * (which may have read the old row) does not keep its answer.
   */
  invalidate(bucket: string, key: string): void {
    this.#writes++;
    this.#rows?.delete(`${bucket}\0${key}`);
  }

  get size(): number {
    return this.#rows?.size ?? 0;
  }
}

/** The whole content of small blobs, by blob id (blobs are immutable). */
export class BlobBytesCache {
  readonly #bytes: LRUCache<string, Buffer> | undefined;
  readonly maxObjectBytes: number;

  constructor(options: Pick<StoreCacheOptions, "bytes" | "maxObjectBytes">) {
    this.maxObjectBytes = Math.min(options.maxObjectBytes, options.bytes);
    if (options.bytes > 0 && this.maxObjectBytes > 0)
      this.#bytes = new LRUCache({
        maxSize: options.bytes,
        // An empty blob still takes an entry: count it as one byte.
        sizeCalculation: (value) => Math.max(1, value.length),
      });
  }

  /** Whether a blob of this size is kept in memory. */
  holds(size: number): boolean {
    return this.#bytes !== undefined && size <= this.maxObjectBytes;
  }

  get(blobId: string): Buffer | undefined {
    return this.#bytes?.get(blobId);
  }

  set(blobId: string, bytes: Buffer): void {
    if (this.holds(bytes.length)) this.#bytes!.set(blobId, bytes);
  }

  /** A removed blob's bytes are never served again from here. */
  delete(blobId: string): void {
    this.#bytes?.delete(blobId);
  }

  /** bytes of content held */
  get size(): number {
    return this.#bytes?.calculatedSize ?? 0;
  }
}

/**
 * A body whose bytes are already in memory: still a Readable for every consumer, and a sender
 * that knows it (send-object.ts) writes `bytes` in one call instead of piping a stream.
 */
export class InMemoryBody extends Readable {
  constructor(readonly bytes: Buffer) {
    super();
  }

  override _read(): void {
    this.push(this.bytes);
    this.push(null);
  }
}
