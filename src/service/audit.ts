/**
 * The audit trail: one row per issuance, per use Signet sees, per refusal (with its reason) and
 * per admin change. Never a secret or a signature.
 *
 * Rows are written off the request path: `record` puts them on a bounded queue (a caller waits
 * only when the queue, batches being written included, is full), and the queue is written in
 * batches, each batch in one transaction, every `flushMs` milliseconds or as soon as `batchSize`
 * rows wait. A full batch goes to the sink at once, without waiting for the one before (the sink
 * keeps their order): the writer thread stores while this thread goes on issuing. `close` (called
 * on SIGTERM through Signet's close) writes whatever is still queued. The rows of `issued` (what
 * revocation needs of each issued token) travel on the same queue, in the same transactions;
 * whoever reads them (revocation) calls `flush` first.
 */
import { sql } from "kysely";
import { type Db, sqliteFileOf } from "../db/connect.js";
import type { IssuedTable } from "../db/schema.js";
import type { AuditQuery } from "../api/types.js";
import { type AuditRow, type AuditSink, DbSink, toIssuedRow } from "./audit-sink.js";
import { WorkerSink } from "./audit-writer.js";

export type Outcome = "allowed" | "refused";

export interface AuditEvent {
  /** the action: "presign", "link.use", "revoke", "apikey.create", … */
  event: string;
  principal?: string | null;
  tokenId?: string | null;
  bucket?: string | null;
  key?: string | null;
  method?: string | null;
  /** the HTTP status answered, for uses and refusals */
  status?: number | null;
  /** by default "refused" when status is 400 or more, else "allowed" */
  outcome?: Outcome;
  /** a refusal's error code (`token_expired`, `outside_scope`, …) */
  reason?: string | null;
  /** the client's address */
  ip?: string | null;
  detail?: Record<string, unknown>;
}

/** One row of `GET /v1/audit`; `event` is kept as an alias of `action`. */
export interface AuditRecord {
  id: number;
  at: string;
  action: string;
  event: string;
  principal: string | null;
  tokenId: string | null;
  bucket: string | null;
  key: string | null;
  method: string | null;
  status: number | null;
  outcome: Outcome;
  reason: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** `GET /v1/audit`'s filters (the API's `AuditQuery`) with the page size the route settled. */
export interface AuditFilter extends AuditQuery {
  limit: number;
}

export interface AuditOptions {
  /** rows held in memory at most; a caller waits for a flush beyond it (default 10,000) */
  maxQueue?: number;
  /** rows that start a write without waiting for the timer (default 500) */
  batchSize?: number;
  /** how long a row may wait before it is written, in ms (default 20) */
  flushMs?: number;
  /** false drops audit rows (benchmarks only); `issued` rows are still written */
  enabled?: boolean;
  /**
   * where batches are written (default: a worker thread's own connection on a SQLite file,
   * else through `db`)
   */
  sink?: AuditSink;
  /** told when a batch could not be written (it is kept and retried) */
  onError?: (err: unknown) => void;
}

const DONE = Promise.resolve();

const cursorOf = (id: number) => Buffer.from(`a${id}`).toString("base64url");
const idOfCursor = (cursor: string): number | undefined => {
  const text = Buffer.from(cursor, "base64url").toString();
  return /^a\d{1,15}$/.test(text) ? Number(text.slice(1)) : undefined;
};

/**
 * A refused request's key or path is the client's own text: NUL (which PostgreSQL's text refuses,
 * failing the whole batch) is written as U+FFFD, so one hostile request never loses others' rows.
 */
const text = (value: string | null | undefined): string | null =>
  value == null ? null : value.includes("\0") ? value.replaceAll("\0", "\uFFFD") : value;

// The last time formatted: rows queued in the same millisecond (a batch's) format it once.
let lastMs = Number.NaN;
let lastIso = "";

/** `ms` (since the epoch) as ISO 8601 text, as Date's toISOString writes it. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** The row of one event recorded at `at` (ms since the epoch): built at flush, off the request. */
function toRow(at: number, e: AuditEvent): AuditRow {
  return [
    isoTime(at),
    e.event,
    text(e.principal),
    text(e.tokenId),
    text(e.bucket),
    text(e.key),
    text(e.method),
    e.status ?? null,
    e.outcome ?? (e.status != null && e.status >= 400 ? "refused" : "allowed"),
    text(e.reason),
    text(e.ip),
    e.detail ?? null,
  ];
}

export class AuditLog {
  /** events as recorded (not copied: callers hand over fresh objects) and when */
  private events: AuditEvent[] = [];
  private times: number[] = [];
  private issued: IssuedTable[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** batches handed to the sink and not yet stored, with their row counts */
  private readonly inFlight = new Map<Promise<void>, number>();
  /** rows in `inFlight` */
  private inFlightRows = 0;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly enabled: boolean;
  private readonly onError: (err: unknown) => void;
  private readonly sink: AuditSink;

  constructor(
    private readonly db: Db,
    options: AuditOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushMs = options.flushMs ?? 20;
    this.enabled = options.enabled ?? true;
    const file = sqliteFileOf(db);
    // On a SQLite file, batches are written by a worker thread (service/audit-writer.ts).
    this.sink = options.sink ?? (file !== undefined ? new WorkerSink(file) : new DbSink(db));
    this.onError = options.onError ?? ((err) => console.error("audit write failed", err));
  }

  /** Queues the events; waits only when the queue is full. */
  record(...events: AuditEvent[]): Promise<void> {
    if (!this.enabled || events.length === 0) return DONE;
    const at = Date.now();
    for (const e of events) {
      this.events.push(e);
      this.times.push(at);
    }
    return this.queued();
  }

  /** Queues what revocation needs of issued tokens (see service/issuance.ts). */
  register(...rows: IssuedTable[]): Promise<void> {
    for (const row of rows) this.issued.push(row);
    return this.queued();
  }

  /**
   * Hands each full batch to the sink at once (or soon, by timer, what is less than a batch);
   * waits only when the queue, batches being written included, is full.
   */
  private queued(): Promise<void> {
    if (this.events.length >= this.batchSize || this.issued.length >= this.batchSize)
      this.dispatch(false);
    const waiting = this.events.length + this.issued.length;
    if (waiting + this.inFlightRows >= this.maxQueue) return this.flush();
    if (waiting > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.flushMs);
      this.timer.unref();
    }
    return DONE;
  }

  /**
   * Writes everything queued so far; resolves once it, and every batch handed over before it,
   * is stored (rejects when one of them failed: its rows are queued again).
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dispatch(true);
    return Promise.all(this.inFlight.keys()).then(() => undefined);
  }

  /**
   * Hands what is queued to the sink, `batchSize` rows of each table per transaction (each
   * holds the database's write lock only briefly, so that the requests' own writes are not kept
   * waiting); with `partial`, the last batch may be short. Batches are not awaited in turn:
   * the sink applies them in the order handed over (AuditSink), so the writer works while this
   * thread goes on issuing.
   */
  private dispatch(partial: boolean): void {
    const size = this.batchSize;
    while (
      this.events.length >= size ||
      this.issued.length >= size ||
      (partial && (this.events.length > 0 || this.issued.length > 0))
    ) {
      const events = this.events.splice(0, size);
      const times = this.times.splice(0, size);
      const issued = this.issued.splice(0, size);
      const rows = events.length + issued.length;
      const write = this.sink.write(
        events.map((e, i) => toRow(times[i]!, e)),
        issued.map(toIssuedRow),
      );
      const settled: Promise<void> = write.then(
        () => this.settle(settled),
        (err: unknown): never => {
          this.settle(settled);
          // Kept for the next flush (within the bound), never silently lost.
          this.events = [...events, ...this.events].slice(-this.maxQueue);
          this.times = [...times, ...this.times].slice(-this.maxQueue);
          this.issued = [...issued, ...this.issued];
          this.onError(err);
          throw err;
        },
      );
      // A failure is the flush's to report; nobody may be awaiting this batch.
      settled.catch(() => undefined);
      this.inFlight.set(settled, rows);
      this.inFlightRows += rows;
    }
  }

  private settle(write: Promise<void>): void {
    this.inFlightRows -= this.inFlight.get(write) ?? 0;
    this.inFlight.delete(write);
  }

  /** Writes what is queued and stops the timer: called on close (SIGTERM). */
  async close(): Promise<void> {
    await this.flush();
    await this.sink.close();
  }

  /** Removes records older than `retainDays` days; answers how many were removed. */
  async sweep(retainDays: number, now = Date.now()): Promise<number> {
    const before = new Date(now - retainDays * 86_400_000).toISOString();
    const result = await this.db.deleteFrom("audit").where("at", "<", before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Newest first, filtered; `nextCursor` is opaque. */
  async list(filter: AuditFilter): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    await this.flush();
    let query = this.db
      .selectFrom("audit")
      .selectAll()
      .orderBy("id", "desc")
      .limit(filter.limit + 1);
    if (filter.cursor !== undefined) {
      const id = idOfCursor(filter.cursor);
      if (id === undefined) return { items: [], nextCursor: null };
      query = query.where("id", "<", id);
    }
    if (filter.since !== undefined) query = query.where("at", ">=", filter.since);
    if (filter.until !== undefined) query = query.where("at", "<", filter.until);
    if (filter.principal !== undefined) query = query.where("principal", "=", filter.principal);
    if (filter.action !== undefined) query = query.where("event", "=", filter.action);
    if (filter.bucket !== undefined) query = query.where("bucket", "=", filter.bucket);
    if (filter.tokenId !== undefined) query = query.where("token_id", "=", filter.tokenId);
    if (filter.prefix !== undefined)
      // substr rather than LIKE: literal and case-sensitive on SQLite and PostgreSQL alike
      // (both count characters, i.e. code points).
      query = query.where(
        sql<boolean>`substr(key, 1, ${[...filter.prefix].length}) = ${filter.prefix}`,
      );
    if (filter.outcome === "refused") query = query.where("outcome", "=", "refused");
    else if (filter.outcome === "allowed")
      query = query.where((eb) =>
        eb.or([eb("outcome", "=", "allowed"), eb("outcome", "is", null)]),
      );
    const rows = await query.execute();
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        at: r.at,
        action: r.event,
        event: r.event,
        principal: r.principal,
        tokenId: r.token_id,
        bucket: r.bucket,
        key: r.key,
        method: r.method,
        status: r.status,
        outcome: (r.outcome ?? "allowed") as Outcome,
        reason: r.reason,
        ip: r.ip,
        detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
      })),
      nextCursor: rows.length > filter.limit ? cursorOf(page[page.length - 1]!.id) : null,
    };
  }
}
