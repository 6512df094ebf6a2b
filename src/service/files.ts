/**
 * Registered files: only principals whose grants reach a file's key see or touch it; for
 * everyone else it does not exist (404, the same answer for an unknown id).
 */
import { sameEtag } from "../core/etag.js";
import { SignetError } from "../core/errors.js";
import type { Method } from "../core/methods.js";
import type { Principal } from "../core/principal.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";
import type { Issuance } from "./issuance.js";
import type { FileInfo, FileListQuery } from "../api/types.js";
import { toFileInfo } from "./file-records.js";
import { endPending, type IntentEnds, markDeleted } from "./intent-end.js";
import type { Webhooks } from "./webhooks.js";
import type { KeyGuard } from "./key-guard.js";
import type { Revocations } from "./revocations.js";

/**
 * The issuance context that pins a URL for a file to its committed version where Signet checks
 * one (the embedded store's blob id, in its tokens and links): other bytes at the key then answer
 * 409 `file_changed`.
 */
export const pinTo = (file: { version?: string | null }): { version?: string } =>
  file.version != null ? { version: file.version } : {};

/** The API's query, with its page size decided. */
export type FileQuery = FileListQuery & { limit: number };

const notFound = () => new SignetError("not_found", "file not found");

/** Rows a page of `list` looks at, at most (each is a grant check). */
const SCAN_LIMIT = 10_000;

export class FileService {
  /** what ending a pending intent writes to (intent-end.ts) */
  private readonly ends: IntentEnds;

  constructor(
    private readonly db: Db,
    private readonly buckets: Buckets,
    private readonly issuance: Issuance,
    private readonly audit: AuditLog,
    private readonly webhooks: Webhooks,
    private readonly guard: KeyGuard,
    private readonly revocations: Revocations,
  ) {
    this.ends = { db, revocations, webhooks, audit };
  }

  /** Whether the caller's grants allow `method` on the file's key. */
  private allows(principal: Principal, row: FileTable, method: Method): boolean {
    try {
      this.issuance.authorize(principal, { bucket: row.bucket, key: row.key, method });
      return true;
    } catch (err) {
      if (err instanceof SignetError && (err.code === "forbidden" || err.code === "not_found"))
        return false;
      throw err;
    }
  }

  /** The file, when the caller may read it; for anyone else it does not exist. */
  async readable(principal: Principal, id: string): Promise<FileTable> {
    const row = await this.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (row === undefined || !this.allows(principal, row, "GET")) throw notFound();
    return row;
  }

  async get(principal: Principal, id: string): Promise<FileInfo> {
    return toFileInfo(await this.readable(principal, id));
  }

  /**
   * A readable, committed file whose bytes are still the committed ones: what /r, DRS and
   * Fence sign URLs for. Other statuses are 404; changed bytes are 409 `file_changed`.
   */
  async served(principal: Principal, id: string): Promise<FileInfo & { version: string | null }> {
    const row = await this.readable(principal, id);
    if (row.status !== "committed") throw notFound();
    return { ...toFileInfo(await this.unchanged(row)), version: row.version };
  }

  /**
   * The committed version check before signing: the stored object's ETag and size must be
   * the ones recorded at commit (an ETag is each backend's version of the bytes: the embedded
   * store's is their SHA-256). Changed bytes mark the file (`changedAt`) and answer 409.
   */
  async unchanged(row: FileTable): Promise<FileTable> {
    const backend = this.buckets.get(row.bucket)?.backend;
    if (backend === undefined) throw notFound();
    const info = await backend.head(row.key);
    if (
      info !== undefined &&
      (row.version !== null
        ? info.version === row.version
        : row.etag !== null &&
          sameEtag(info.etag, row.etag) &&
          (row.size === null || Number(row.size) === info.size))
    )
      return row;
    const changedAt = row.changed_at ?? new Date().toISOString();
    if (row.changed_at === null)
      await this.db
        .updateTable("files")
        .set({ changed_at: changedAt })
        .where("id", "=", row.id)
        .execute();
    throw new SignetError(
      "file_changed",
      info === undefined
        ? "the file's bytes are gone from its bucket"
        : "the file's bytes were changed outside Signet since it was committed",
    );
  }

  /**
   * The files the caller may read, in id order; `cursor` is the last id looked at. A page
   * scans at most SCAN_LIMIT rows: a short (even empty) page with a cursor means "go on", and
   * only `nextCursor: null` means the end.
   */
  async list(
    principal: Principal,
    query: FileQuery,
  ): Promise<{ items: FileInfo[]; nextCursor: string | null }> {
    // An unknown bucket (or one no grant of the caller names) is 404, not an empty list.
    if (query.bucket !== undefined) this.issuance.requireBucket(principal, query.bucket);
    const items: FileInfo[] = [];
    let after = query.cursor ?? "";
    for (let scanned = 0; items.length < query.limit && scanned < SCAN_LIMIT;) {
      let q = this.db
        .selectFrom("files")
        .selectAll()
        .where("id", ">", after)
        .orderBy("id")
        .limit(500);
      if (query.bucket !== undefined) q = q.where("bucket", "=", query.bucket);
      if (query.owner !== undefined) q = q.where("owner", "=", query.owner);
      if (query.status !== undefined) q = q.where("status", "=", query.status);
      if (query.prefix !== undefined)
        q = q.where((eb) =>
          eb(
            eb.fn("substr", ["key", eb.val(1), eb.val([...query.prefix!].length)]),
            "=",
            query.prefix!,
          ),
        );
      const rows = await q.execute();
      if (rows.length === 0) return { items, nextCursor: null };
      for (const row of rows) {
        after = row.id;
        if (this.allows(principal, row, "GET")) items.push(toFileInfo(row));
        if (items.length === query.limit) return { items, nextCursor: row.id };
      }
      scanned += rows.length;
      if (rows.length < 500) return { items, nextCursor: null };
    }
    // The scan budget ran out before the end: the cursor goes on from the last row looked at.
    return { items, nextCursor: after };
  }

  /**
   * Deletes the file's own bytes, then marks it deleted: a committed file's key; a pending
   * file's staged upload, ended as an abort ends it (intent-end.ts) but recorded as a delete; a
   * superseded file's key holds another file's bytes and is left.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const found = await this.readable(principal, id);
    if (!this.allows(principal, found, "DELETE"))
      throw new SignetError("forbidden", "no grant allows delete on this file");
    if (found.status === "deleted") return;
    const bucket = this.buckets.get(found.bucket);
    if (bucket === undefined) throw notFound();
    // Holding the key as a commit does (409 while one runs), and judged on the row as it is then:
    // an upsert that committed meanwhile made this file superseded, and the key's bytes its own.
    // Under a hold of this DELETE's own (`deleting`): behind another DELETE of the key it waits.
    const row = await this.guard.deleting(found.bucket, found.key, async () => {
      const now = await this.db
        .selectFrom("files")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      if (now.status === "deleted") return undefined;
      if (now.status === "pending") {
        // endPending queues the webhook event and records the audit itself.
        await endPending(this.ends, now, bucket.backend, {
          by: principal.id,
          audit: "file.delete",
          webhook: "file.deleted",
        });
        return undefined;
      }
      if (now.status === "committed") await bucket.backend.delete(now.key);
      const deletedAt = new Date().toISOString();
      // false: something ended the file since the read without holding the key (DELETEs wait
      // for each other); it queued the event and records the audit.
      return (await markDeleted(this.ends, now, now.status, deletedAt, "file.deleted"))
        ? now
        : undefined;
    });
    if (row === undefined) return;
    await this.audit.record({
      event: "file.delete",
      principal: principal.id,
      bucket: row.bucket,
      key: row.key,
      detail: { file: id },
    });
  }
}
