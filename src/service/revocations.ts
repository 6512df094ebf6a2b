/**
 * Revoked token ids and principals, mirrored in memory so that the data plane checks them
 * without a query per request. A token entry carries the token's own expiry and is pruned
 * once it has passed (an expired token is refused anyway); principal entries stay.
 */
import { MAX_URL_SECONDS } from "../core/config-schema.js";
import type { RevocationCheck } from "../core/token.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { Db } from "../db/connect.js";

/** Kept past a token's expiry so that clock skew between instances cannot revive it. */
const PRUNE_MARGIN_MS = 60_000;

export class Revocations implements RevocationCheck {
  private tokens = new Set<string>();
  private principals = new Set<string>();
  /** tells other instances to reload (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  /** `beforeLookup` makes pending issuance records readable (the audit queue's flush). */
  constructor(
    private readonly db: Db,
    private readonly beforeLookup: () => Promise<void> = async () => {},
  ) {}

  async load(): Promise<void> {
    // Read first, then swap: a reload never leaves a moment with no revocations in force.
    const rows = await this.db.selectFrom("revocations").selectAll().execute();
    const tokens = new Set<string>();
    const principals = new Set<string>();
    for (const row of rows) (row.kind === "token" ? tokens : principals).add(row.value);
    this.tokens = tokens;
    this.principals = principals;
  }

  isRevoked(tokenId: string, principal: string): boolean {
    return this.tokens.has(tokenId) || this.principals.has(principal);
  }

  /** Revokes everything `principal` holds, now and later (a deleted API key). */
  async revokePrincipal(principal: string): Promise<void> {
    await this.db
      .insertInto("revocations")
      .values({
        kind: "principal",
        value: principal,
        created_at: new Date().toISOString(),
        expires_at: null,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    this.principals.add(principal);
    await this.changes.publish("revocations");
  }

  /**
   * Revokes many tokens in one transaction (an intent's parts, a principal's tokens), recorded
   * as revoked at `now` (ISO 8601). A token's expiry (when not given) is read from its issuance
   * record; a token with none yet is kept for the longest any URL may live (MAX_URL_SECONDS).
   * Answers the ids
   * this call recorded: a token revoked before (by another request meanwhile, say) keeps its
   * first revocation.
   */
  async revokeTokens(
    ids: string[],
    expiresAt?: string,
    now = new Date().toISOString(),
  ): Promise<Set<string>> {
    const recorded = new Set<string>();
    if (ids.length === 0) return recorded;
    const latest = new Date(Date.parse(now) + MAX_URL_SECONDS * 1000).toISOString();
    if (expiresAt === undefined) await this.beforeLookup();
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const expiries = new Map<string, string>();
        if (expiresAt === undefined)
          for (const row of await tx
            .selectFrom("issued")
            .select(["token_id", "expires_at"])
            .where("token_id", "in", chunk)
            .execute())
            expiries.set(row.token_id, row.expires_at);
        const inserted = await tx
          .insertInto("revocations")
          .values(
            chunk.map((value) => ({
              kind: "token" as const,
              value,
              created_at: now,
              // No issuance record yet (a peer's, still on its audit queue): the longest any
              // URL may live bounds it, so the entry is pruned one day rather than never.
              expires_at: expiresAt ?? expiries.get(value) ?? latest,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .returning("value")
          .execute();
        for (const row of inserted) recorded.add(row.value);
      }
    });
    for (const id of ids) this.tokens.add(id);
    await this.changes.publish("revocations");
    return recorded;
  }

  /** Drops entries whose token has expired; answers how many. */
  async prune(now = Date.now()): Promise<number> {
    const before = new Date(now - PRUNE_MARGIN_MS).toISOString();
    const gone = await this.db
      .deleteFrom("revocations")
      .where("kind", "=", "token")
      .where("expires_at", "is not", null)
      .where("expires_at", "<", before)
      .returning("value")
      .execute();
    for (const row of gone) this.tokens.delete(row.value);
    return gone.length;
  }
}
