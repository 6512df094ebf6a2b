/**
 * How a pending upload intent ends without a commit (abort, the sweeper, `DELETE` of a pending
 * file): `endPending`, the one path, so that every way out revokes first, removes the same
 * partial data, marks the file deleted and records it the same way; how any ending (a
 * commit too: `revokeLate`) revokes the URLs signed meanwhile; and `markDeleted`, the status
 * change that ending and a `DELETE` of a committed file share.
 */
import type { FileInfo } from "../api/types.js";
import type { Backend } from "../backends/types.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import { stagedAt, toFileInfo, type UploadRecord } from "./file-records.js";
import type { Revocations } from "./revocations.js";
import type { WebhookEvent, Webhooks } from "./webhooks.js";

/** What ending an intent writes to: the services that end intents hold these. */
export interface IntentEnds {
  db: Db;
  revocations: Revocations;
  webhooks: Webhooks;
  audit: AuditLog;
}

/** Who ends the intent and what it is recorded as. */
export interface Ending {
  /** the principal recorded (`system:sweeper` for the sweeper) */
  by: string;
  /** the audit event: `upload.abort` (abort, sweep) or `file.delete` */
  audit: string;
  /** the webhook event queued with the status change, if any (`file.deleted` for a delete) */
  webhook?: WebhookEvent;
}

/**
 * Ends pending intent `row` (read while its key is held, still pending): revokes its URLs and
 * removes its partial data (`dropPending`), marks it deleted, with the webhook event in the
 * same transaction, revokes the URLs signed meanwhile (`revokeLate`), and records the audit
 * event, once: an ending that finds the file no longer pending (another ending changed it since
 * `row` was read) queues and records nothing. Answers the file as it is now. `backend` is
 * undefined when the bucket is gone.
 */
export async function endPending(
  ends: IntentEnds,
  row: FileTable,
  backend: Backend | undefined,
  ending: Ending,
): Promise<FileInfo> {
  const revoked = await dropPending(row, backend, ends.revocations);
  const deletedAt = new Date().toISOString();
  const ended = await markDeleted(ends, row, "pending", deletedAt, ending.webhook);
  await revokeLate(ends.db, ends.revocations, row.id, revoked);
  // Another ending got there first: every ending holds the key (a live hold is never taken
  // again), so only one that did not (a peer on older code, a hand edit) gets here; it queued
  // the event and records the audit.
  if (!ended) {
    const now = await ends.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", row.id)
      .executeTakeFirstOrThrow();
    return toFileInfo(now);
  }
  await ends.audit.record({
    event: ending.audit,
    principal: ending.by,
    bucket: row.bucket,
    key: row.key,
    detail: { file: row.id },
  });
  return toFileInfo({ ...row, status: "deleted", deleted_at: deletedAt });
}

/**
 * Marks file `row` deleted at `deletedAt` (an ISO timestamp) if its status is still `from`, and
 * queues `webhook` (if any) for it as deleted in the same transaction. Answers true when this
 * call's update changed the row; false when the status was no longer `from` (something else
 * ended the file since `row` was read): then nothing is queued, and the caller records no audit
 * either, so that an ending is recorded once.
 */
export async function markDeleted(
  ends: Pick<IntentEnds, "db" | "webhooks">,
  row: FileTable,
  from: FileTable["status"],
  deletedAt: string,
  webhook?: WebhookEvent,
): Promise<boolean> {
  return ends.db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable("files")
      .set({ status: "deleted", deleted_at: deletedAt })
      .where("id", "=", row.id)
      .where("status", "=", from)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    if (webhook !== undefined)
      await ends.webhooks.enqueue(
        tx,
        webhook,
        toFileInfo({ ...row, status: "deleted", deleted_at: deletedAt }),
      );
    return true;
  });
}

/**
 * Revokes a pending intent's URLs (one transaction and one change notice), then removes its own
 * partial data: its staging key or multipart upload, never the file's key (an intent made before
 * staging wrote to the key itself: those bytes are left alone). URLs first: a PUT committing
 * after the staged bytes were removed would stage bytes no file owns. Answers the token ids
 * revoked, for `revokeLate`. `backend` is undefined when the bucket is gone.
 */
async function dropPending(
  row: FileTable,
  backend: Backend | undefined,
  revocations: Revocations,
): Promise<string[]> {
  const tokens = (JSON.parse(row.upload ?? "{}") as Partial<UploadRecord>).tokens ?? [];
  await revocations.revokeTokens(tokens);
  const staged = stagedAt(row);
  if (backend !== undefined) {
    if (staged.uploadId !== undefined)
      await backend.abortMultipart(staged.key, staged.uploadId).catch(() => undefined);
    if (staged.own) await backend.delete(staged.key);
  }
  return tokens;
}

/**
 * Revokes the URLs of intent `id` its record lists now but `revoked` did not: those signed while
 * the intent was ending. Called once its status has changed (committed or deleted): a signing
 * after that sees the change and revokes its own URLs (uploads.ts, keepAlive).
 */
export async function revokeLate(
  db: Db,
  revocations: Revocations,
  id: string,
  revoked: readonly string[] = [],
): Promise<void> {
  const row = await db.selectFrom("files").select("upload").where("id", "=", id).executeTakeFirst();
  const done = new Set(revoked);
  const tokens = (JSON.parse(row?.upload ?? "{}") as Partial<UploadRecord>).tokens ?? [];
  const late = tokens.filter((t) => !done.has(t));
  if (late.length > 0) await revocations.revokeTokens(late);
}
