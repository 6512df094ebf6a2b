/**
 * Registered files: only principals whose grants reach a file's key see or touch it; for
 * everyone else it does not exist (404, the same answer for an unknown id).
 */
import { SignetError } from "../core/errors.js";
import type { Method } from "../core/methods.js";
import type { Principal } from "../core/principal.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";
import type { PresignService } from "./presign.js";
import { type FileInfo, toFileInfo } from "./uploads.js";
import type { Webhooks } from "./webhooks.js";

export interface FileQuery {
  bucket?: string;
  prefix?: string;
  owner?: string;
  cursor?: string;
  limit: number;
}

const notFound = () => new SignetError("not_found", "file not found");

export class FileService {
  constructor(
    private readonly db: Db,
    private readonly buckets: Buckets,
    private readonly presign: PresignService,
    private readonly audit: AuditLog,
    private readonly webhooks: Webhooks,
  ) {}

  /** Whether the caller's grants allow `method` on the file's key. */
  private allows(principal: Principal, row: FileTable, method: Method): boolean {
    try {
      this.presign.authorize(principal, { bucket: row.bucket, key: row.key, method }, Date.now());
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

  /** The files the caller may read, in id order; `cursor` is the last id of the previous page. */
  async list(
    principal: Principal,
    query: FileQuery,
  ): Promise<{ items: FileInfo[]; nextCursor: string | null }> {
    const items: FileInfo[] = [];
    let after = query.cursor ?? "";
    for (let scanned = 0; items.length < query.limit && scanned < 10_000;) {
      let q = this.db
        .selectFrom("files")
        .selectAll()
        .where("id", ">", after)
        .orderBy("id")
        .limit(500);
      if (query.bucket !== undefined) q = q.where("bucket", "=", query.bucket);
      if (query.owner !== undefined) q = q.where("owner", "=", query.owner);
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
    }
    return { items, nextCursor: items.length === query.limit ? after : null };
  }

  /** Deletes the object, then marks the file deleted. */
  async delete(principal: Principal, id: string): Promise<void> {
    const row = await this.readable(principal, id);
    if (!this.allows(principal, row, "DELETE"))
      throw new SignetError("forbidden", "no grant allows delete on this file");
    if (row.status === "deleted") return;
    const bucket = this.buckets.get(row.bucket);
    if (bucket === undefined) throw notFound();
    await bucket.backend.delete(row.key);
    const deletedAt = new Date().toISOString();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable("files")
        .set({ status: "deleted", deleted_at: deletedAt })
        .where("id", "=", id)
        .execute();
      await this.webhooks.enqueue(
        tx,
        "file.deleted",
        toFileInfo({ ...row, status: "deleted", deleted_at: deletedAt }),
      );
    });
    await this.audit.record({
      event: "file.delete",
      principal: principal.id,
      bucket: row.bucket,
      key: row.key,
      detail: { file: id },
    });
  }
}
