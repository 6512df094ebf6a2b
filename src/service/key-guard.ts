/**
 * Files stay true (DESIGN.md): a key held by a committed or pending file is written or
 * deleted only through that file (its intent's commit, `upsert`, `DELETE /v1/files/{id}`).
 * This guard answers, for raw URLs, at issuance where the key is known and at use where only
 * the use names it (folder URLs on the embedded store, links and shares):
 * - PUT or form POST at a held key: 409 `conflict` naming the file, unless the caller asked
 *   `upsert: true` and may also delete there; the held file is then superseded at issuance
 *   (a raw URL has no commit: the record stops claiming bytes the URL may replace);
 * - DELETE at a held key: 409 `conflict` (files are deleted through the files API);
 * - a folder URL that writes or deletes: only where Signet sees each use (the embedded store,
 *   or a link), since a cloud folder URL lets the client pick the key when it is used.
 */
import { SignetError } from "../core/errors.js";
import type { Method } from "../core/methods.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { ScopeRequest } from "../core/scope-request.js";
import type { Bucket } from "./buckets.js";
import { toFileInfo } from "./file-records.js";
import type { Webhooks } from "./webhooks.js";

/** A transaction of the metadata database. */
export type Tx = Pick<Db, "selectFrom" | "updateTable" | "insertInto">;

const WRITES: readonly Method[] = ["PUT", "POST", "DELETE"];

/** The refusal naming the file that holds a key. */
export const heldBy = (row: Pick<FileTable, "id" | "status">) =>
  new SignetError(
    "conflict",
    `the key holds ${row.status} file ${row.id}: replace it with upsert: true, or delete that file`,
    "key",
  );

export class KeyGuard {
  constructor(
    private readonly db: Db,
    private readonly webhooks: Webhooks,
  ) {}

  /** The committed or pending files at `key` (oldest first), but `except`. */
  async holders(bucket: string, key: string, except?: string, tx?: Tx): Promise<FileTable[]> {
    let q = (tx ?? this.db)
      .selectFrom("files")
      .selectAll()
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .where("status", "in", ["committed", "pending"]);
    if (except !== undefined) q = q.where("id", "!=", except);
    return q.orderBy("created_at").execute();
  }

  /**
   * The raw-presign rule, at issuance. `authorizeDelete` throws unless the caller may delete
   * at the key (upsert needs write and delete). May turn an `auto` folder write into a link
   * (Signet then checks each use); a `direct` one on a cloud backend is 400.
   */
  async checkIssue(
    checked: { request: ScopeRequest; bucket: Bucket },
    upsert: boolean | undefined,
    authorizeDelete: () => void,
  ): Promise<void> {
    const { request, bucket } = checked;
    const writes = request.methods.some((m) => WRITES.includes(m));
    if (request.key === undefined) {
      if (upsert === true)
        throw new SignetError("invalid_request", "upsert names one key, not a folder", "upsert");
      if (!writes || bucket.backend.capabilities.signetVerified) return;
      if (request.form !== undefined || request.delivery === "direct")
        throw new SignetError(
          "constraint_not_enforceable",
          "a cloud folder URL that writes lets the client pick a key Signet cannot check " +
            "against its files: ask for a link (delivery: link or auto)",
          "prefix",
        );
      request.delivery = "link";
      return;
    }
    if (!writes) return;
    // upsert needs write and delete, whether or not a file holds the key now.
    if (upsert === true) authorizeDelete();
    const held = await this.holders(bucket.name, request.key);
    if (held.length === 0) return;
    if (request.methods.includes("DELETE") || upsert !== true) throw heldBy(held[0]!);
    const pending = held.find((row) => row.status === "pending");
    if (pending !== undefined) throw heldBy(pending);
    await this.supersede(held.map((row) => row.id));
  }

  /**
   * The use-time rule on /o, /l and /s: a write or delete at a held key is 409. Checked when the
   * request arrives and again once its body is in (`tx`: the write's own commit transaction).
   */
  async checkUse(bucket: string, key: string, method: Method, tx?: Tx): Promise<void> {
    if (!WRITES.includes(method)) return;
    const held = await this.holders(bucket, key, undefined, tx);
    if (held.length > 0) throw heldBy(held[0]!);
  }

  /**
   * Marks the given files superseded where they are still committed (webhook `file.superseded`
   * in the same transaction); `tx` joins a caller's transaction (an intent's commit).
   */
  async supersede(ids: string[], tx?: Tx): Promise<void> {
    if (ids.length === 0) return;
    const run = async (t: Tx) => {
      const rows = await t
        .selectFrom("files")
        .selectAll()
        .where("id", "in", ids)
        .where("status", "=", "committed")
        .execute();
      for (const row of rows) {
        await t
          .updateTable("files")
          .set({ status: "superseded" })
          .where("id", "=", row.id)
          .where("status", "=", "committed")
          .execute();
        await this.webhooks.enqueue(
          t,
          "file.superseded",
          toFileInfo({ ...row, status: "superseded" }),
        );
      }
    };
    if (tx === undefined) await this.db.transaction().execute(run);
    else await run(tx);
  }
}
