/**
 * Serialises the transactions that read a row, then write it, for one name: an object's bucket
 * and key, or a multipart upload. On PostgreSQL, READ COMMITTED lets two such transactions read
 * the same old row, or the same absence, and both write: a conditional PUT (`If-None-Match: *`,
 * `If-Match`) passed twice, and a replaced blob was never removed. Each name takes a
 * transaction-scoped advisory lock (`pg_advisory_xact_lock`, released at commit or rollback) on
 * a 64-bit hash of it, in sorted order so that two transactions locking the same names cannot
 * deadlock; a hash collision only makes two writers wait for each other. SQLite runs one write
 * transaction at a time already (nothing to do).
 */
import { sql, type Transaction } from "kysely";
import { dialectOf } from "../db/connect.js";
import type { Database } from "../db/schema.js";

/** The lock name of an object (JSON: unambiguous, and PostgreSQL text, which U+0000 is not). */
export const objectName = (bucket: string, key: string) => JSON.stringify(["o", bucket, key]);
/** The lock name of a multipart upload of the embedded store. */
export const uploadName = (uploadId: string) => JSON.stringify(["u", uploadId]);

/** Takes the advisory locks of `names` for the rest of transaction `tx` (PostgreSQL). */
export async function lockNames(tx: Transaction<Database>, ...names: string[]): Promise<void> {
  if (dialectOf(tx) !== "postgres") return;
  for (const name of [...new Set(names)].sort())
    await sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`.execute(tx);
}
