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
import { isoTime } from "../core/iso-time.js";
import type { AuditQuery } from "../api/types.js";
import {
  AUDIT_PAGE_SLOTS,
  type AuditRow,
  type AuditSink,
  DbSink,
  type IssuedBy,
  type IssuedRow,
  pageBounds,
} from "./audit-sink.js";
import { WorkerSink } from "./audit-writer.js";

export type Outcome = "allowed" | "refused";

/** An issuance's audit event: what its `issued` row takes from it is always there. */
export type IssuanceEvent = AuditEvent & {
  principal: string;
  tokenId: string;
  bucket: string;
  key: string;
};

/** What an issuance's `issued` row holds beyond its audit record. */
export type IssuedExtra = Pick<IssuedTable, "folder" | "revocable" | "expires_at">;

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
  /** rows that start a write without waiting for the timer (default 500, at most 1,024: a page) */
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
 * The row of one event recorded at `at` (ms since the epoch): built at flush, off the request.
 * A refused request's key or path is the client's own text (NUL, lone surrogates): a page is
 * JSON, which escapes them, so PostgreSQL's text takes every record of a batch.
 */
function toRow(at: number, e: AuditEvent): AuditRow {
  return [
    isoTime(at),
    e.event,
    e.principal ?? null,
    e.tokenId ?? null,
    e.bucket ?? null,
    e.key ?? null,
    e.method ?? null,
    e.status ?? null,
    e.outcome ?? (e.status != null && e.status >= 400 ? "refused" : "allowed"),
    e.reason ?? null,
    e.ip ?? null,
    e.detail ?? null,
  ];
}

/**
 * The `issued` row of an issuance recorded at `at`, queued without its audit record (the audit
 * off). Built straight from the event, in the order ISSUED_COLUMNS gives: this is the audit-off
 * issuance's hot path; the writer makes the same row from a record (issuedRowOf).
 */
function issuedAlone(event: IssuanceEvent, extra: IssuedExtra, at: number): IssuedRow {
  return [
    event.tokenId,
    event.principal,
    event.bucket,
    event.key,
    extra.folder,
    extra.revocable,
    extra.expires_at,
    isoTime(at),
  ];
}

/** The record at `index` of the page `id`, as `GET /v1/audit` answers it. */
function toRecord(id: number, index: number, row: AuditRow): AuditRecord {
  const [at, event, principal, tokenId, bucket, key, method, status, outcome, reason, ip, detail] =
    row;
  return {
    id: id * AUDIT_PAGE_SLOTS + index,
    at,
    action: event,
    event,
    principal,
    tokenId,
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

/** Whether a record passes `GET /v1/audit`'s filters (its cursor and limit aside). */
function matches(r: AuditRecord, f: AuditFilter): boolean {
  return (
    (f.since === undefined || r.at >= f.since) &&
    (f.until === undefined || r.at < f.until) &&
    (f.principal === undefined || r.principal === f.principal) &&
    (f.action === undefined || r.event === f.action) &&
    (f.bucket === undefined || r.bucket === f.bucket) &&
    (f.tokenId === undefined || r.tokenId === f.tokenId) &&
    // A literal, case-sensitive prefix.
    (f.prefix === undefined || (r.key !== null && r.key.startsWith(f.prefix))) &&
    (f.outcome === undefined || r.outcome === f.outcome)
  );
}

/** How long rows put back after a failed write wait before they are tried again, in ms. */
const RETRY_MS = 1000;

/** Flushes tried by `close` before it gives up on what is left. */
const CLOSE_ATTEMPTS = 3;

/**
 * LIKE patterns (escape `\\`) that a page's text matches when it may hold a record passing the
 * filters: a value as JSON writes it (the exact text a page holds), so that the database skips
 * pages without parsing them (a selective filter, a token id say, would parse the whole trail).
 * Only a prefilter: `matches` decides. A prefix with a surrogate is left out (JSON escapes a lone
 * one, which a key's pair is not).
 */
function pageTexts(f: AuditFilter): string[] {
  const like = (text: string) => `%${text.replace(/[\\%_]/g, "\\$&")}%`;
  const texts = [f.tokenId, f.principal, f.bucket, f.action]
    .filter((v): v is string => v !== undefined)
    .map((v) => like(JSON.stringify(v)));
  if (f.prefix !== undefined && f.prefix !== "" && !/[\ud800-\udfff]/.test(f.prefix))
    texts.push(like(JSON.stringify(f.prefix).slice(0, -1)));
  return texts;
}

/** Pages read at a time by `list`, newest first. */
const PAGES_READ = 8;

export class AuditLog {
  /** events as recorded (not copied: callers hand over fresh objects) and when */
  private events: AuditEvent[] = [];
  private times: number[] = [];
  /** for each queued event, the `issued` row it tells (an issuance), else undefined */
  private tells: (IssuedExtra | undefined)[] = [];
  /** `issued` rows queued alone (the audit off) */
  private issued: IssuedRow[] = [];
  /** rows at the front of `events` (and of `issued`) put back and not handed over again */
  private returned = 0;
  private returnedIssued = 0;
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
    if (!(this.batchSize >= 1 && this.batchSize <= AUDIT_PAGE_SLOTS))
      throw new RangeError(`batchSize must be 1 to ${AUDIT_PAGE_SLOTS} (records in a page)`);
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
      this.tells.push(undefined);
    }
    return this.queued();
  }

  /**
   * Queues an issuance (service/issuance.ts): its audit record and the `issued` row revocation
   * needs, made of the record's token id, principal, bucket, key and time and of `issued`, as one
   * entry that crosses to the writer once (IssuedBy). With the audit off, the `issued` row alone.
   */
  recordIssuance(event: IssuanceEvent, issued: IssuedExtra): Promise<void> {
    const at = Date.now();
    if (this.enabled) {
      this.events.push(event);
      this.times.push(at);
      this.tells.push(issued);
    } else this.issued.push(issuedAlone(event, issued, at));
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
      const tells = this.tells.splice(0, size);
      const issued = this.issued.splice(0, size);
      this.returned = Math.max(0, this.returned - events.length);
      this.returnedIssued = Math.max(0, this.returnedIssued - issued.length);
      const rows = events.length + issued.length;
      const issuedBy: IssuedBy[] = [];
      tells.forEach((t, i) => {
        if (t !== undefined) issuedBy.push([i, t.folder, t.revocable, t.expires_at]);
      });
      const write = this.sink.write(
        events.map((e, i) => toRow(times[i]!, e)),
        issued,
        issuedBy,
      );
      const settled: Promise<void> = write.then(
        () => this.settle(settled),
        (err: unknown): never => {
          this.settle(settled);
          this.putBack(events, times, tells, issued);
          this.onError(err);
          this.retryLater();
          throw err;
        },
      );
      // A failure is the flush's to report; nobody may be awaiting this batch.
      settled.catch(() => undefined);
      this.inFlight.set(settled, rows);
      this.inFlightRows += rows;
    }
  }

  /**
   * Queues a failed batch's rows again for the next flush. Batches fail in the order they were
   * handed over, so each goes after those put back before it (and not handed over again) and
   * before what was queued meanwhile: the records keep their order. Audit records beyond
   * `maxQueue` are dropped, oldest first (and reported), but never an `issued` row: an
   * issuance's row goes on alone, as with the audit off (revocation must find every token).
   */
  private putBack(
    events: AuditEvent[],
    times: number[],
    tells: (IssuedExtra | undefined)[],
    issued: IssuedRow[],
  ): void {
    const at = this.returned;
    this.events.splice(at, 0, ...events);
    this.times.splice(at, 0, ...times);
    this.tells.splice(at, 0, ...tells);
    this.issued.splice(this.returnedIssued, 0, ...issued);
    this.returned += events.length;
    this.returnedIssued += issued.length;
    const excess = this.events.length - this.maxQueue;
    if (excess <= 0) return;
    const dropped = this.events.splice(0, excess);
    const droppedTimes = this.times.splice(0, excess);
    const droppedTells = this.tells.splice(0, excess);
    this.returned = Math.max(0, this.returned - excess);
    const alone: IssuedRow[] = [];
    dropped.forEach((e, i) => {
      const extra = droppedTells[i];
      if (extra !== undefined) alone.push(issuedAlone(e as IssuanceEvent, extra, droppedTimes[i]!));
    });
    this.issued.splice(this.returnedIssued, 0, ...alone);
    this.returnedIssued += alone.length;
    this.onError(new Error(`${excess} audit records dropped: the queue is full (maxQueue)`));
  }

  private settle(write: Promise<void>): void {
    this.inFlightRows -= this.inFlight.get(write) ?? 0;
    this.inFlight.delete(write);
  }

  /** Rows put back after a failed write are tried again in RETRY_MS, whether or not more come. */
  private retryLater(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush().catch(() => undefined), RETRY_MS);
    this.timer.unref();
  }

  /**
   * Writes what is queued and stops the timer: called on close (SIGTERM). A failed write is
   * tried again (CLOSE_ATTEMPTS in all) before the rows left are reported through `onError`.
   */
  async close(): Promise<void> {
    for (let attempt = 1; ; attempt++)
      try {
        await this.flush();
        break;
      } catch {
        if (attempt === CLOSE_ATTEMPTS) {
          const left = this.events.length + this.issued.length;
          this.onError(new Error(`${left} audit and issued rows could not be written at close`));
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sink.close();
  }

  /**
   * Removes records older than `retainDays` days; answers how many were removed. Whole pages go
   * at once; in a page that also holds newer records, the old ones become null (the others keep
   * their ids).
   */
  async sweep(retainDays: number, now = Date.now()): Promise<number> {
    const before = new Date(now - retainDays * 86_400_000).toISOString();
    return this.db.transaction().execute(async (tx) => {
      const whole = await tx
        .selectFrom("audit_pages")
        .select((eb) => eb.fn.sum<number | string | null>("count").as("n"))
        .where("max_at", "<", before)
        .executeTakeFirst();
      let removed = Number(whole?.n ?? 0);
      await tx.deleteFrom("audit_pages").where("max_at", "<", before).execute();
      const straddling = await tx
        .selectFrom("audit_pages")
        .select(["id", "records"])
        .where("min_at", "<", before)
        .execute();
      for (const page of straddling) {
        const rows = JSON.parse(page.records) as (AuditRow | null)[];
        const kept = rows.map((r) => (r !== null && r[0] < before ? null : r));
        const left = kept.filter((r): r is AuditRow => r !== null);
        removed += rows.filter((r) => r !== null).length - left.length;
        // Not empty: the page's newest record is newer than `before`.
        await tx
          .updateTable("audit_pages")
          .set({ ...pageBounds(left), records: JSON.stringify(kept) })
          .where("id", "=", page.id)
          .execute();
      }
      return removed;
    });
  }

  /**
   * Newest first, filtered; `nextCursor` is opaque. Reads pages newest first, PAGES_READ at a
   * time, within since/until by the pages' bounds, until a page of `limit` is full.
   */
  async list(filter: AuditFilter): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    await this.flush();
    let before = Number.MAX_SAFE_INTEGER;
    if (filter.cursor !== undefined) {
      const id = idOfCursor(filter.cursor);
      if (id === undefined) return { items: [], nextCursor: null };
      before = id;
    }
    const found: AuditRecord[] = [];
    let below = Math.floor((before - 1) / AUDIT_PAGE_SLOTS) + 1;
    while (found.length <= filter.limit) {
      let query = this.db
        .selectFrom("audit_pages")
        .select(["id", "records"])
        .where("id", "<", below)
        .orderBy("id", "desc")
        .limit(PAGES_READ);
      if (filter.since !== undefined) query = query.where("max_at", ">=", filter.since);
      if (filter.until !== undefined) query = query.where("min_at", "<", filter.until);
      for (const text of pageTexts(filter))
        query = query.where(sql<boolean>`records like ${text} escape '\\'`);
      const pages = await query.execute();
      for (const page of pages) {
        const id = Number(page.id);
        const rows = JSON.parse(page.records) as (AuditRow | null)[];
        for (let i = rows.length - 1; i >= 0 && found.length <= filter.limit; i--) {
          const row = rows[i];
          if (row === null || row === undefined) continue;
          const record = toRecord(id, i, row);
          if (record.id < before && matches(record, filter)) found.push(record);
        }
      }
      if (pages.length < PAGES_READ) break;
      below = Number(pages[pages.length - 1]!.id);
    }
    const page = found.slice(0, filter.limit);
    return {
      items: page,
      nextCursor: found.length > filter.limit ? cursorOf(page[page.length - 1]!.id) : null,
    };
  }
}
