/**
 * Where the audit queue's batches go (service/audit.ts). Each `write` stores one batch, in one
 * transaction: its audit records as one page (table `audit_pages`: a JSON array of AuditRow
 * tuples) and its `issued` rows, and resolves once it is committed. `DbSink` writes through
 * Signet's own connection, on any database Signet runs on; on a SQLite file a worker thread
 * writes instead (service/audit-writer.ts).
 *
 * A page rather than a row a record: a row costs the writer about 6 µs (SQLite: binding twelve
 * values, the table and an index), a record in a page about a sixth of that, and the trail is
 * written far more often than read (GET /v1/audit reads pages and filters their records).
 * An `issued` row travels as a tuple in the order of ISSUED_COLUMNS (no property names to copy
 * or bind).
 */
import type { Db } from "../db/connect.js";
import type { AuditPageTable, IssuedTable } from "../db/schema.js";

/** The fields of an audit record, in the order of an AuditRow. */
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

/** One audit record, the values of AUDIT_COLUMNS in order (`at` is ISO 8601 text). */
export type AuditRow = [
  at: string,
  event: string,
  principal: string | null,
  token_id: string | null,
  bucket: string | null,
  key: string | null,
  method: string | null,
  status: number | null,
  outcome: "allowed" | "refused",
  reason: string | null,
  ip: string | null,
  detail: Record<string, unknown> | null,
];

/**
 * A record's id: its page's id times AUDIT_PAGE_SLOTS plus its index in the page, so that ids
 * grow with the trail and a page holds at most AUDIT_PAGE_SLOTS records (service/audit.ts).
 */
export const AUDIT_PAGE_SLOTS = 1024;

/** A page's row but its records: the bounds of a batch of records (at least one). */
export type PageBounds = Omit<AuditPageTable, "id" | "records">;

/** The oldest and newest time of a batch of records (at least one), and their count. */
export function pageBounds(rows: AuditRow[]): PageBounds {
  let min = rows[0]![0];
  let max = min;
  for (const [at] of rows) {
    if (at < min) min = at;
    if (at > max) max = at;
  }
  return { min_at: min, max_at: max, count: rows.length };
}

/** The page row of a batch of records (at least one), in the order recorded. */
export function pageOf(rows: AuditRow[]): Omit<AuditPageTable, "id"> {
  return { ...pageBounds(rows), records: JSON.stringify(rows) };
}

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

/**
 * An `issued` row that an issuance's audit record tells: the record's index in its batch, then
 * what only the issued row holds. Its token, principal, bucket, target (the record's key) and
 * time are the record's (ISSUED_SOURCES), so an issuance crosses to the writer once.
 */
export type IssuedBy = [
  index: number,
  folder: IssuedTable["folder"],
  revocable: IssuedTable["revocable"],
  expires_at: IssuedTable["expires_at"],
];

const FROM_RECORD: Partial<
  Record<(typeof ISSUED_COLUMNS)[number], (typeof AUDIT_COLUMNS)[number]>
> = {
  token_id: "token_id",
  principal: "principal",
  bucket: "bucket",
  target: "key",
  created_at: "at",
};
const FROM_ISSUED_BY: Partial<Record<(typeof ISSUED_COLUMNS)[number], number>> = {
  folder: 1,
  revocable: 2,
  expires_at: 3,
};

/**
 * Where each value of an IssuedBy's row comes from, in ISSUED_COLUMNS order: [0, i] is the audit
 * record's value i, [1, i] the IssuedBy's. Data, so that the writer thread (a plain string) makes
 * the rows as `issuedRowOf` does.
 */
export const ISSUED_SOURCES: readonly (readonly [0 | 1, number])[] = ISSUED_COLUMNS.map((c) => {
  const field = FROM_RECORD[c];
  return field !== undefined ? [0, AUDIT_COLUMNS.indexOf(field)] : [1, FROM_ISSUED_BY[c]!];
});

/** The `issued` row an issuance's audit record tells. */
export function issuedRowOf(record: AuditRow, by: IssuedBy): IssuedRow {
  return ISSUED_SOURCES.map(([from, i]) => (from === 0 ? record[i] : by[i])) as IssuedRow;
}

function issuedOf(row: IssuedRow): IssuedTable {
  const [token_id, principal, bucket, target, folder, revocable, expires_at, created_at] = row;
  return { token_id, principal, bucket, target, folder, revocable, expires_at, created_at };
}

/**
 * Stores batches. Writes are applied in the order `write` is called, whether or not the earlier
 * ones have settled: the queue hands over several batches without awaiting each in turn.
 */
export interface AuditSink {
  /** `rows` (at most AUDIT_PAGE_SLOTS), `issued` rows, and the issued rows `rows` tell */
  write(rows: AuditRow[], issued: IssuedRow[], issuedBy?: IssuedBy[]): Promise<void>;
  close(): Promise<void>;
}

/** `issued` rows per INSERT statement: under SQLite's limit on bound parameters. */
const CHUNK = 500;

export class DbSink implements AuditSink {
  /** the last write handed over: each waits for it (in order, whatever the pool's size) */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  write(rows: AuditRow[], issued: IssuedRow[], issuedBy: IssuedBy[] = []): Promise<void> {
    const all = [...issued, ...issuedBy.map((by) => issuedRowOf(rows[by[0]]!, by))];
    const write = this.last.catch(() => undefined).then(() => this.store(rows, all));
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
      if (rows.length > 0) await tx.insertInto("audit_pages").values(pageOf(rows)).execute();
    });
  }

  async close(): Promise<void> {}
}
