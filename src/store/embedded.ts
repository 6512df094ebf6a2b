/**
 * The embedded store: blob files on disk plus the key-to-blob map in the metadata
 * database. A PUT streams to a temp file, is fsynced and renamed, and only then is the
 * row written, in one transaction; the replaced blob is unlinked after the commit. A crash
 * leaves the old object or the new one, never a torn one, and start-up sweeps orphans.
 */
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Db } from "../db/connect.js";
import type { Transaction } from "kysely";
import type { Database, ObjectTable } from "../db/schema.js";
import { lockNames, objectName } from "./name-lock.js";
import { SignetError, stagedChanged } from "../core/errors.js";
import { BlobFiles, etagOf, type WriteLimits, type WrittenBlob } from "./blobs.js";
import {
  BlobBytesCache,
  DEFAULT_STORE_CACHE,
  InMemoryBody,
  RowCache,
  type StoreCacheOptions,
} from "./cache.js";

export interface ListPage {
  items: StoredObject[];
  prefixes: string[];
  nextCursor: string | null;
}

export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string;
  sha256: string;
  lastModified: Date;
  blobId: string;
}

export interface PutOptions extends WriteLimits {
  contentType: string;
  /** a conditional write, checked in the commit transaction (412 when it fails) */
  condition?: WriteCondition;
  /** a last check in the commit transaction, once the bytes are in (it throws to refuse) */
  guard?: CommitGuard;
}

/**
 * Checked inside the transaction that swaps the key, after the body has arrived: what was true
 * when a slow upload began (no file held the key, the token was not revoked) must still be.
 * Called without `tx` where the write has no transaction of Signet's (a proxied cloud write).
 */
export type CommitGuard = (tx?: Transaction<Database>) => Promise<void>;

/**
 * A request's `If-None-Match: *` / `If-Match: "<etag>"` (RFC 9110 13.1.1-2) on a write: the
 * store checks it against the current object in the same transaction that swaps the key.
 */
export interface WriteCondition {
  ifNoneMatch?: string;
  ifMatch?: string;
}

/** Whether `condition` allows writing over `current` (undefined: no object at the key). */
export function conditionHolds(
  condition: WriteCondition | undefined,
  current: { etag: string } | undefined,
): boolean {
  if (condition === undefined) return true;
  // Quotes are compared away: a provider's own answer may carry the tag bare (Swift's ETag)
  // while its backend reports it quoted, and either is the same version.
  const bare = (tag: string) =>
    tag
      .trim()
      .replace(/^W\//, "")
      .replace(/^"(.*)"$/, "$1");
  const tags = (value: string) => value.split(",").map(bare);
  const etag = current === undefined ? undefined : bare(current.etag);
  if (condition.ifNoneMatch !== undefined) {
    if (etag !== undefined) {
      const list = tags(condition.ifNoneMatch);
      if (list.includes("*") || list.includes(etag)) return false;
    }
  }
  if (condition.ifMatch !== undefined) {
    if (etag === undefined) return false;
    const list = tags(condition.ifMatch);
    if (!list.includes("*") && !list.includes(etag)) return false;
  }
  return true;
}

export const preconditionFailed = () =>
  new SignetError("precondition_failed", "the object does not meet the request's precondition");

const toObject = (row: ObjectTable): StoredObject => ({
  bucket: row.bucket,
  key: row.key,
  size: Number(row.size),
  etag: row.etag,
  contentType: row.content_type,
  sha256: row.sha256,
  lastModified: new Date(row.last_modified),
  blobId: row.blob_id,
});

export class EmbeddedStore {
  readonly blobs: BlobFiles;
  /** object rows and small blobs' bytes kept in memory for the read path (cache.ts) */
  readonly rows: RowCache<StoredObject>;
  readonly bytes: BlobBytesCache;

  constructor(
    private readonly db: Db,
    dataDir: string,
    cache: Omit<StoreCacheOptions, "tokenBytes"> = DEFAULT_STORE_CACHE,
  ) {
    this.blobs = new BlobFiles(dataDir, cache.openFiles);
    this.rows = new RowCache(cache);
    this.bytes = new BlobBytesCache(cache);
  }

  async init(): Promise<{ tmp: number; orphans: number }> {
    await this.blobs.init();
    // A blob is kept while an object or a multipart part points to it.
    return this.blobs.sweep(async (blobId) => {
      const object = await this.db
        .selectFrom("objects")
        .select("blob_id")
        .where("blob_id", "=", blobId)
        .executeTakeFirst();
      if (object !== undefined) return true;
      const part = await this.db
        .selectFrom("local_parts")
        .select("blob_id")
        .where("blob_id", "=", blobId)
        .executeTakeFirst();
      return part !== undefined;
    });
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    return this.rows.lookup(bucket, key, async () => {
      const row = await this.db
        .selectFrom("objects")
        .selectAll()
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .executeTakeFirst();
      return row && toObject(row);
    });
  }

  async put(
    bucket: string,
    key: string,
    body: Readable,
    options: PutOptions,
  ): Promise<StoredObject> {
    return this.commit(
      bucket,
      key,
      await this.blobs.write(body, options),
      options.contentType,
      options.condition,
      options.guard,
    );
  }

  /**
   * Makes a written blob the object at `key`: one transaction swaps the row, then the
   * replaced blob is unlinked. A crash before the commit leaves an orphan, never a torn object.
   */
  async commit(
    bucket: string,
    key: string,
    written: WrittenBlob,
    contentType: string,
    condition?: WriteCondition,
    guard?: CommitGuard,
  ): Promise<StoredObject> {
    const row: ObjectTable = {
      bucket,
      key,
      blob_id: written.blobId,
      size: written.size,
      etag: etagOf(written.sha256),
      content_type: contentType,
      sha256: written.sha256,
      // Millisecond precision is lost in HTTP dates; keep whole seconds so that
      // If-Modified-Since round-trips exactly.
      last_modified: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
    };
    let replaced: string | undefined;
    try {
      replaced = await this.db.transaction().execute(async (tx) => {
        await lockNames(tx, objectName(bucket, key));
        const old = await tx
          .selectFrom("objects")
          .select(["blob_id", "etag"])
          .where("bucket", "=", bucket)
          .where("key", "=", key)
          .executeTakeFirst();
        if (!conditionHolds(condition, old)) throw preconditionFailed();
        await guard?.(tx);
        await setRow(tx, row);
        return old?.blob_id;
      });
    } catch (err) {
      await this.blobs.remove(written.blobId);
      throw err;
    }
    this.rows.invalidate(bucket, key);
    if (replaced !== undefined) await this.removeBlob(replaced);
    return toObject(row);
  }

  /**
   * The object and its whole bytes when both are already in memory (row and byte caches),
   * else undefined: the caller then takes the asynchronous path (`head`, `open`), which fills
   * them. Never reads the database or a file.
   */
  inMemory(bucket: string, key: string): { object: StoredObject; bytes: Buffer } | undefined {
    const object = this.rows.peek(bucket, key);
    if (object === undefined) return undefined;
    const bytes = this.bytes.get(object.blobId);
    return bytes && { object, bytes };
  }

  /** Opens the object's bytes (`end` inclusive); undefined when there is no such object. */
  async open(
    object: StoredObject,
    range?: { start: number; end: number },
  ): Promise<Readable | undefined> {
    try {
      if (this.bytes.holds(object.size)) {
        // Small blobs are read whole once, then served from memory: no open/read/close.
        let whole = this.bytes.get(object.blobId);
        if (whole === undefined) {
          whole = await readFile(this.blobs.pathOf(object.blobId));
          this.bytes.set(object.blobId, whole);
        }
        const part = range === undefined ? whole : whole.subarray(range.start, range.end + 1);
        return new InMemoryBody(part);
      }
      return await this.blobs.read(object.blobId, range ?? { start: 0, end: object.size - 1 });
    } catch (err) {
      // Replaced or deleted between the lookup and the open.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /**
   * One page of a folder listing, with "/" as the delimiter: objects directly under `prefix`
   * and the sub-folders below it, in key order. The cursor is the last key or sub-folder
   * returned; a sub-folder is skipped whole on the next page.
   */
  async list(
    bucket: string,
    prefix: string,
    options: { cursor?: string; limit: number },
  ): Promise<ListPage> {
    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let after = options.cursor ?? "";
    let last: string | undefined;
    const batch = Math.min(1000, options.limit + 1);
    scan: for (;;) {
      const rows = await this.db
        .selectFrom("objects")
        .selectAll()
        .where("bucket", "=", bucket)
        // A sub-folder "p/" is skipped whole: every key under it sorts before "p0" ("/" + 1),
        // whatever characters follow the slash (U+10FFFF included).
        .where((eb) =>
          after.endsWith("/") && after.length > prefix.length
            ? eb("key", ">=", `${after.slice(0, -1)}0`)
            : eb("key", ">", after),
        )
        // substr counts characters (code points), not bytes.
        .where((eb) =>
          eb(eb.fn("substr", ["key", eb.val(1), eb.val([...prefix].length)]), "=", prefix),
        )
        .orderBy("key")
        .limit(batch)
        .execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        if (items.length + prefixes.length === options.limit) {
          return { items, prefixes, nextCursor: last ?? null };
        }
        const rest = row.key.slice(prefix.length);
        const slash = rest.indexOf("/");
        if (slash === -1) {
          items.push(toObject(row));
          last = row.key;
          after = row.key;
        } else {
          last = prefix + rest.slice(0, slash + 1);
          prefixes.push(last);
          after = last;
          continue scan;
        }
      }
      if (rows.length < batch) break;
    }
    return { items, prefixes, nextCursor: null };
  }

  /** Deletes the object at `key` (false when there is none), when `condition` holds. */
  async delete(bucket: string, key: string, condition?: WriteCondition): Promise<boolean> {
    const blobId = await this.db.transaction().execute(async (tx) => {
      await lockNames(tx, objectName(bucket, key));
      const row = await tx
        .selectFrom("objects")
        .select(["blob_id", "etag"])
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .executeTakeFirst();
      if (!conditionHolds(condition, row)) throw preconditionFailed();
      if (row === undefined) return undefined;
      await tx
        .deleteFrom("objects")
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .where("blob_id", "=", row.blob_id)
        .execute();
      return row.blob_id;
    });
    this.rows.invalidate(bucket, key);
    if (blobId === undefined) return false;
    await this.removeBlob(blobId);
    return true;
  }

  /**
   * Makes the object at `from` (an upload's own staging key) the object at `to`, in one
   * transaction: the staged blob is re-pointed, never copied, and the blob `to` held before
   * is unlinked after the commit. Undefined when nothing is staged at `from`. With `blobId`,
   * only that blob is moved: other bytes staged since (a PUT after complete's check) are 409.
   */
  async move(
    bucket: string,
    from: string,
    to: string,
    blobId?: string,
  ): Promise<StoredObject | undefined> {
    const moved = await this.db.transaction().execute(async (tx) => {
      await lockNames(tx, objectName(bucket, from), objectName(bucket, to));
      const staged = await tx
        .selectFrom("objects")
        .selectAll()
        .where("bucket", "=", bucket)
        .where("key", "=", from)
        .executeTakeFirst();
      if (staged === undefined) return undefined;
      if (blobId !== undefined && staged.blob_id !== blobId) throw stagedChanged();
      const old = await tx
        .selectFrom("objects")
        .select("blob_id")
        .where("bucket", "=", bucket)
        .where("key", "=", to)
        .executeTakeFirst();
      await tx.deleteFrom("objects").where("bucket", "=", bucket).where("key", "=", from).execute();
      const row: ObjectTable = { ...staged, key: to };
      await setRow(tx, row);
      return { row, replaced: old?.blob_id };
    });
    this.rows.invalidate(bucket, from);
    this.rows.invalidate(bucket, to);
    if (moved === undefined) return undefined;
    if (moved.replaced !== undefined && moved.replaced !== moved.row.blob_id)
      await this.removeBlob(moved.replaced);
    return toObject(moved.row);
  }

  /** Unlinks a blob no row points to any more, and forgets its bytes. */
  private async removeBlob(blobId: string): Promise<void> {
    this.bytes.delete(blobId);
    await this.blobs.remove(blobId);
  }
}

/** Points a key at a row's blob, inserting or replacing the key's row. */
async function setRow(tx: Pick<Db, "insertInto">, row: ObjectTable): Promise<void> {
  await tx
    .insertInto("objects")
    .values(row)
    .onConflict((oc) =>
      oc.columns(["bucket", "key"]).doUpdateSet({
        blob_id: row.blob_id,
        size: row.size,
        etag: row.etag,
        content_type: row.content_type,
        sha256: row.sha256,
        last_modified: row.last_modified,
      }),
    )
    .execute();
}
