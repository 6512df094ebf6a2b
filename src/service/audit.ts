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

const AUDIT_CHUNK = 500;

export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(...events: AuditEvent[]): Promise<void> {
    const at = new Date().toISOString();
    // Chunks keep each statement under SQLite's limit on bound parameters.
    for (let i = 0; i < events.length; i += AUDIT_CHUNK)
      await this.insert(at, events.slice(i, i + AUDIT_CHUNK));
  }

  private async insert(at: string, events: AuditEvent[]): Promise<void> {
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

  /** Who issued a signed request or share, and on which bucket, from its issuance record. */
  async issuanceOf(
    tokenId: string,
  ): Promise<{ principal: string; bucket: string | null } | undefined> {
    const row = await this.db
      .selectFrom("audit")
      .select(["principal", "bucket"])
      .where("token_id", "=", tokenId)
      .where("event", "in", ["presign", "share.create"])
      .executeTakeFirst();
    return row?.principal == null ? undefined : { principal: row.principal, bucket: row.bucket };
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
