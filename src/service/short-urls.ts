/**
 * Short URLs: `…/u/{id}` stands for one signed request (a very long URL is hard to paste). The
 * id is 128 random bits; the signed URL is kept server-side until its expiry and `/u/{id}`
 * redirects to it while it is neither expired nor revoked (it carries the signed request's
 * token id, so revoking that id ends both; revoking the issuing principal, an API key's
 * deletion, ends it too: the row keeps the principal, since the request's issuance record may
 * still be on another instance's audit queue when the short URL is first used).
 */
import { randomBytes } from "node:crypto";
import { SignetError } from "../core/errors.js";
import { trimSlash } from "../core/urls.js";
import type { Db } from "../db/connect.js";
import type { ShortUrlTable } from "../db/schema.js";
import type { Revocations } from "./revocations.js";

/** base64url of 16 random bytes */
export const SHORT_ID = /^[A-Za-z0-9_-]{22}$/;

export class ShortUrls {
  constructor(
    private readonly db: Db,
    private readonly revocations: Revocations,
    private readonly baseUrl: () => string,
  ) {}

  /**
   * Stores the signed URL (`expiresAt` ISO 8601) with the principal id it was issued to;
   * answers the short URL standing for it.
   */
  async create(
    principal: string,
    tokenId: string,
    url: string,
    expiresAt: string,
  ): Promise<string> {
    const id = randomBytes(16).toString("base64url");
    await this.db
      .insertInto("short_urls")
      .values({ id, token_id: tokenId, url, expires_at: expiresAt, principal })
      .execute();
    return `${trimSlash(this.baseUrl())}/u/${id}`;
  }

  /** The stored signed request of a short id and its principal, or 404 `not_found`. */
  async find(id: string): Promise<ShortUrlTable> {
    const row = SHORT_ID.test(id)
      ? await this.db.selectFrom("short_urls").selectAll().where("id", "=", id).executeTakeFirst()
      : undefined;
    if (row === undefined) throw new SignetError("not_found", "no such short URL");
    return row;
  }

  /** 403 `token_expired` or `token_revoked`, like every other token; else its signed URL. */
  target(row: ShortUrlTable, now = Date.now()): string {
    if (Date.parse(row.expires_at) <= now)
      throw new SignetError("token_expired", "expiresAt: this short URL has expired");
    if (this.revocations.isRevoked(row.token_id, row.principal ?? ""))
      throw new SignetError("token_revoked", "this short URL was revoked");
    return row.url;
  }

  /** Drops short URLs past their expiry; answers how many. */
  async prune(now = Date.now()): Promise<number> {
    const result = await this.db
      .deleteFrom("short_urls")
      .where("expires_at", "<", new Date(now).toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
