/**
 * Where the audit queue's batches go (service/audit.ts). Each `write` stores one batch of audit
 * rows and `issued` rows in one transaction and resolves once it is committed.
 * `DbSink` writes through Signet's own connection, on any database Signet runs on; on a SQLite
 * file a worker thread writes instead (service/audit-writer.ts).
 *
 * An audit row travels as a tuple in the order of AUDIT_COLUMNS, its detail still an object:
 * the sink serializes it, so that a batch sent to another thread is serialized once. An `issued`
 * row travels as a tuple in the order of ISSUED_COLUMNS (no property names to copy or bind).
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

/** The issued table's columns, in the order of an IssuedRow. */
export const ISSUED_COLUMNS = [
  "token_id",
  "principal",
  "bucket",
  "target",
  "folder",
  "revocable",
  "expires_at",
  "created_at",
] as const satisfies readonly (keyof IssuedTable)[];

/** One `issued` row, the values of ISSUED_COLUMNS in order. */
export type IssuedRow = [
  token_id: IssuedTable["token_id"],
  principal: IssuedTable["principal"],
  bucket: IssuedTable["bucket"],
  target: IssuedTable["target"],
  folder: IssuedTable["folder"],
  revocable: IssuedTable["revocable"],
  expires_at: IssuedTable["expires_at"],
  created_at: IssuedTable["created_at"],
];

/** An `issued` row as the queue hands it to a sink. */
export function toIssuedRow(row: IssuedTable): IssuedRow {
  return [
    row.token_id,
    row.principal,
    row.bucket,
    row.target,
    row.folder,
    row.revocable,
    row.expires_at,
    row.created_at,
  ];
}

function issuedOf(row: IssuedRow): IssuedTable {
  const [token_id, principal, bucket, target, folder, revocable, expires_at, created_at] = row;
  return { token_id, principal, bucket, target, folder, revocable, expires_at, created_at };
}

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

/**
 * Stores batches. Writes are applied in the order `write` is called, whether or not the earlier
 * ones have settled: the queue hands over several batches without awaiting each in turn.
 */
export interface AuditSink {
  write(rows: AuditRow[], issued: IssuedRow[]): Promise<void>;
  close(): Promise<void>;
}

/** Rows per INSERT statement: under SQLite's limit on bound parameters. */
const CHUNK = 500;

export class DbSink implements AuditSink {
  /** the last write handed over: each waits for it (in order, whatever the pool's size) */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  write(rows: AuditRow[], issued: IssuedRow[]): Promise<void> {
    const write = this.last.catch(() => undefined).then(() => this.store(rows, issued));
    this.last = write;
    return write;
  }

  private async store(rows: AuditRow[], issued: IssuedRow[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < issued.length; i += CHUNK)
        await tx
          .insertInto("issued")
          .values(issued.slice(i, i + CHUNK).map(issuedOf))
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
