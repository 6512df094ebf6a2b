/**
 * The audit trail: one row per issuance, per use Signet sees, per refusal (with its reason) and
 * per admin change. Never a secret or a signature.
 *
 * Rows are written off the request path: `record` puts them on a bounded queue (a caller waits
 * only when the queue is full), and the queue is written in batches, each batch in one
 * transaction, every `flushMs` milliseconds or as soon as `batchSize` rows wait. `close` (called
 * on SIGTERM through Signet's close) writes whatever is still queued. The rows of `issued` (what
 * revocation needs of each issued token) travel on the same queue, in the same transactions;
 * whoever reads them (revocation) calls `flush` first.
 */
import { sql } from "kysely";
import type { Db } from "../db/connect.js";
import type { AuditTable, IssuedTable } from "../db/schema.js";

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

export interface AuditFilter {
  since?: string;
  until?: string;
  principal?: string;
  action?: string;
  bucket?: string;
  /** a key prefix, matched literally */
  prefix?: string;
  tokenId?: string;
  outcome?: Outcome;
  /** opaque, from a previous page's `nextCursor` */
  cursor?: string;
  limit: number;
}

export interface AuditOptions {
  /** rows held in memory at most; a caller waits for a flush beyond it (default 10,000) */
  maxQueue?: number;
  /** rows per INSERT statement, under SQLite's limit on bound parameters (default 500) */
  batchSize?: number;
  /** how long a row may wait before it is written, in ms (default 20) */
  flushMs?: number;
  /** false drops audit rows (benchmarks only); `issued` rows are still written */
  enabled?: boolean;
  /** told when a batch could not be written (it is kept and retried) */
  onError?: (err: unknown) => void;
}

type AuditRow = Omit<AuditTable, "id">;

const cursorOf = (id: number) => Buffer.from(`a${id}`).toString("base64url");
const idOfCursor = (cursor: string): number | undefined => {
  const text = Buffer.from(cursor, "base64url").toString();
  return /^a\d{1,15}$/.test(text) ? Number(text.slice(1)) : undefined;
};

export class AuditLog {
  private rows: AuditRow[] = [];
  private issued: IssuedTable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly enabled: boolean;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly db: Db,
    options: AuditOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushMs = options.flushMs ?? 20;
    this.enabled = options.enabled ?? true;
    this.onError = options.onError ?? ((err) => console.error("audit write failed", err));
  }

  /** Queues the events; waits only when the queue is full. */
  async record(...events: AuditEvent[]): Promise<void> {
    if (!this.enabled || events.length === 0) return;
    const at = new Date().toISOString();
    for (const e of events)
      this.rows.push({
        at,
        event: e.event,
        principal: e.principal ?? null,
        token_id: e.tokenId ?? null,
        bucket: e.bucket ?? null,
        key: e.key ?? null,
        method: e.method ?? null,
        status: e.status ?? null,
        outcome: e.outcome ?? (e.status != null && e.status >= 400 ? "refused" : "allowed"),
        reason: e.reason ?? null,
        ip: e.ip ?? null,
        detail: e.detail === undefined ? null : JSON.stringify(e.detail),
      });
    await this.queued();
  }

  /** Queues what revocation needs of issued tokens (see service/issuance.ts). */
  async register(...rows: IssuedTable[]): Promise<void> {
    this.issued.push(...rows);
    await this.queued();
  }

  private async queued(): Promise<void> {
    if (this.rows.length + this.issued.length >= this.maxQueue) return this.flush();
    if (this.rows.length + this.issued.length >= this.batchSize) {
      void this.flush().catch(() => undefined);
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far, in one transaction; resolves once it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.writeQueued());
    return this.writing;
  }

  private async writeQueued(): Promise<void> {
    const rows = this.rows;
    const issued = this.issued;
    if (rows.length === 0 && issued.length === 0) return;
    this.rows = [];
    this.issued = [];
    try {
      await this.db.transaction().execute(async (tx) => {
        for (let i = 0; i < issued.length; i += this.batchSize)
          await tx
            .insertInto("issued")
            .values(issued.slice(i, i + this.batchSize))
            .onConflict((oc) => oc.doNothing())
            .execute();
        for (let i = 0; i < rows.length; i += this.batchSize)
          await tx
            .insertInto("audit")
            .values(rows.slice(i, i + this.batchSize))
            .execute();
      });
    } catch (err) {
      // Kept for the next flush (within the bound), never silently lost.
      this.rows = [...rows, ...this.rows].slice(-this.maxQueue);
      this.issued = [...issued, ...this.issued];
      this.onError(err);
      throw err;
    }
  }

  /** Writes what is queued and stops the timer: called on close (SIGTERM). */
  async close(): Promise<void> {
    await this.flush();
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
