/**
 * Revocation by token id (service/revoke.ts): someone else's token is looked up exactly as a
 * token that does not exist is, by the same queries, so that neither the answer (404) nor the
 * time it takes (on PostgreSQL the lookup is repeated for a while, PEER_WINDOW_MS) tells a
 * caller which ids exist.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/principal.js";
import { RevokeService } from "../../src/service/revoke.js";
import { type Harness, startSignet } from "../helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startSignet({ config: { buckets: { default: { backend: "local" } } } });
});
afterAll(() => h.close());

describe("revoking someone else's token", () => {
  it("runs the same queries as revoking a token that does not exist", async () => {
    const { signet } = h;
    let seen: string[] = [];
    let current = "";
    const recorded = signet.db.withPlugin({
      // Each statement's shape, the token id it names left out.
      transformQuery: (args) => {
        seen.push(JSON.stringify(args.node).replaceAll(current, "TOKEN"));
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const revoke = new RevokeService(recorded, signet.audit, signet.revocations, signet.buckets);
    const now = new Date();
    await signet.db
      .insertInto("issued")
      .values({
        token_id: "someone-elses-token",
        principal: "key:owner",
        bucket: "default",
        target: "x.txt",
        folder: 0,
        revocable: "signet",
        expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
    const caller: Principal = { id: "key:other", subject: "other", roles: ["user"] };
    const queriesFor = async (tokenId: string) => {
      [seen, current] = [[], tokenId];
      await expect(revoke.revoke(caller, { tokenId })).rejects.toMatchObject({
        code: "not_found",
      });
      return seen;
    };
    const others = await queriesFor("someone-elses-token");
    const missing = await queriesFor("no-such-token");
    expect(others.length).toBeGreaterThan(0);
    expect(others).toEqual(missing);
  });
});

// A token whose issuance record was not written yet (a peer's, on its audit queue) was revoked
// with no expiry: its entry was never pruned, in the table and in every instance's memory.
describe("revoking a token with no issuance record yet", () => {
  it("keeps its entry for the longest a URL may live, so that pruning ends it", async () => {
    const id = "no-record-yet-0123456";
    const now = new Date();
    await h.signet.revocations.revokeTokens([id], undefined, now.toISOString());
    const row = await h.signet.db
      .selectFrom("revocations")
      .select("expires_at")
      .where("value", "=", id)
      .executeTakeFirstOrThrow();
    expect(Date.parse(row.expires_at!) - now.getTime()).toBe(365 * 86400 * 1000);
  });
});
