/**
 * Revoked token ids and principals, mirrored in memory so that the data plane checks them
 * without a query per request.
 */
import type { RevocationCheck } from "../core/token.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { Db } from "../db/connect.js";

export class Revocations implements RevocationCheck {
  private readonly tokens = new Set<string>();
  private readonly principals = new Set<string>();
  /** tells other instances to reload (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  constructor(private readonly db: Db) {}

  async load(): Promise<void> {
    for (const row of await this.db.selectFrom("revocations").selectAll().execute())
      (row.kind === "token" ? this.tokens : this.principals).add(row.value);
  }

  isRevoked(tokenId: string, principal: string): boolean {
    return this.tokens.has(tokenId) || this.principals.has(principal);
  }

  async revoke(kind: "token" | "principal", value: string): Promise<void> {
    await this.db
      .insertInto("revocations")
      .values({ kind, value, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.doNothing())
      .execute();
    (kind === "token" ? this.tokens : this.principals).add(value);
    await this.changes.publish("revocations");
  }
}
