/** The audit trail: one row per issuance and per use. Never a secret or a signature. */
import type { Db } from "../db/connect.js";

export interface AuditEvent {
  event: string;
  principal?: string | null;
  tokenId?: string | null;
  bucket?: string | null;
  key?: string | null;
  method?: string | null;
  status?: number | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEvent, "detail">> {
  id: number;
  at: string;
  detail: Record<string, unknown> | null;
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(...events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const at = new Date().toISOString();
    await this.db
      .insertInto("audit")
      .values(
        events.map((e) => ({
          at,
          event: e.event,
          principal: e.principal ?? null,
          token_id: e.tokenId ?? null,
          bucket: e.bucket ?? null,
          key: e.key ?? null,
          method: e.method ?? null,
          status: e.status ?? null,
          ip: e.ip ?? null,
          detail: e.detail === undefined ? null : JSON.stringify(e.detail),
        })),
      )
      .execute();
  }

  /** Newest first; `cursor` is the id of the last record of the previous page. */
  async list(options: {
    cursor?: number;
    limit: number;
    tokenId?: string;
  }): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    let query = this.db
      .selectFrom("audit")
      .selectAll()
      .orderBy("id", "desc")
      .limit(options.limit + 1);
    if (options.cursor !== undefined) query = query.where("id", "<", options.cursor);
    if (options.tokenId !== undefined) query = query.where("token_id", "=", options.tokenId);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        at: r.at,
        event: r.event,
        principal: r.principal,
        tokenId: r.token_id,
        bucket: r.bucket,
        key: r.key,
        method: r.method,
        status: r.status,
        ip: r.ip,
        detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
      })),
      nextCursor: rows.length > options.limit ? String(page[page.length - 1]!.id) : null,
    };
  }
}
