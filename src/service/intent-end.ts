/**
 * How a pending upload intent ends without a commit (abort, the sweeper, `DELETE` of a pending
 * file), and how any ending revokes the intent's URLs: one path, so that every way out revokes
 * first and removes the same partial data.
 */
import type { Backend } from "../backends/types.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import { stagedAt, type UploadRecord } from "./file-records.js";
import type { Revocations } from "./revocations.js";

/**
 * Revokes a pending intent's URLs (one transaction and one change notice), then removes its own
 * partial data: its staging key or multipart upload, never the file's key (an intent made before
 * staging wrote to the key itself: those bytes are left alone). URLs first: a PUT committing
 * after the staged bytes were removed would stage bytes no file owns. Answers the token ids
 * revoked, for `revokeLate`. `backend` is undefined when the bucket is gone.
 */
export async function dropPending(
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
