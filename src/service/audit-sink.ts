/**
 * Where the audit queue's batches go (service/audit.ts). Each `write` stores one batch of audit
 * rows and `issued` rows in one transaction and resolves once it is committed.
 * `DbSink` writes through Signet's own connection, on any database Signet runs on; on a SQLite
 * file a worker thread writes instead (service/audit-writer.ts).
 *
 * An audit row travels as a tuple in the order of AUDIT_COLUMNS, its detail still an object:
 * the sink serializes it, so that a batch sent to another thread is serialized once.
 */
import type { Db } from "../db/connect.js";
import type { AuditTable, IssuedTable } from "../db/schema.js";

/** The audit table's columns, in the order of an AuditRow. */
export const AUDIT_COLUMNS = [
  "at",
  "event",
  "principal",
  "token_id",
  "bucket",
  "key",
  "method",
  "status",
  "outcome",
  "reason",
  "ip",
  "detail",
] as const;

type Col<K extends keyof AuditTable> = AuditTable[K];

/** One audit row, the values of AUDIT_COLUMNS in order; `detail` not yet serialized. */
export type AuditRow = [
  at: Col<"at">,
  event: Col<"event">,
  principal: Col<"principal">,
  token_id: Col<"token_id">,
  bucket: Col<"bucket">,
  key: Col<"key">,
  method: Col<"method">,
  status: Col<"status">,
  outcome: Col<"outcome">,
  reason: Col<"reason">,
  ip: Col<"ip">,
  detail: Record<string, unknown> | null,
];

/** The row as the audit table stores it. */
function stored(row: AuditRow): Omit<AuditTable, "id"> {
  const [at, event, principal, token_id, bucket, key, method, status, outcome, reason, ip] = row;
  const detail = row[11] === null ? null : JSON.stringify(row[11]);
  return {
    at,
    event,
    principal,
    token_id,
    bucket,
    key,
    method,
    status,
    outcome,
    reason,
    ip,
    detail,
  };
}

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
          .values(rows.slice(i, i + CHUNK).map(stored))
          .execute();
    });
  }

  async close(): Promise<void> {}
}
