/**
 * Where the audit queue's batches go (service/audit.ts). Each `write` stores one batch of audit
 * rows and `issued` rows in one transaction and resolves once it is committed.
 * `DbSink` writes through Signet's own connection, on any database Signet runs on. (A worker
 * thread with a second SQLite connection was tried and dropped: its commits between a request
 * transaction's read and write make that transaction fail with SQLITE_BUSY at once.)
 */
import type { Db } from "../db/connect.js";
import type { AuditTable, IssuedTable } from "../db/schema.js";

export type AuditRow = Omit<AuditTable, "id">;

export interface AuditSink {
  write(rows: AuditRow[], issued: IssuedTable[]): Promise<void>;
  close(): Promise<void>;
}

/** Rows per INSERT statement: under SQLite's limit on bound parameters. */
const CHUNK = 500;

export class DbSink implements AuditSink {
  constructor(private readonly db: Db) {}

  async write(rows: AuditRow[], issued: IssuedTable[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < issued.length; i += CHUNK)
        await tx
          .insertInto("issued")
          .values(issued.slice(i, i + CHUNK))
          .onConflict((oc) => oc.doNothing())
          .execute();
      for (let i = 0; i < rows.length; i += CHUNK)
        await tx
          .insertInto("audit")
          .values(rows.slice(i, i + CHUNK))
          .execute();
    });
  }

  async close(): Promise<void> {}
}
