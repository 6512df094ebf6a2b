/**
 * Revocation that never lies. Every signed request is registered at issuance with who will
 * refuse it once revoked (table `issued`, see service/issuance.ts):
 * - "signet": the embedded store's tokens, links, shares, short URLs. Refused from the next
 *   request on (the revocation set is in memory on the data plane).
 * - "provider": a direct URL the provider can revoke (Azure's stored access policies): the
 *   policy is removed.
 * - "none": a direct URL only its backend checks (S3, GCS, Swift, Azure without a policy). Nobody
 *   can refuse it before it expires, so revoking it answers 409 `not_revocable`, saying what
 *   would have worked.
 * Revocation is by token id, by principal (everything issued to it that has not expired yet) or
 * by folder (everything issued for keys or folders inside it). Open to the issuing principal and
 * to admins; someone else's token looks like no token at all.
 *
 * Issuance records reach the database through each instance's audit queue (a batch every 20 ms).
 * This instance's queue is flushed before any lookup; on a shared database (PostgreSQL, several
 * instances), the records of a peer that issued a moment ago are waited for too: a token id not
 * found is looked up again for up to {@link PEER_WINDOW_MS}, and a principal's or a folder's
 * tokens are read once that window has passed since the request arrived. A peer whose queue is
 * further behind than that (its database writes failing) is not waited for.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import type { RevokeResult as ApiRevokeResult } from "../api/types.js";
import { SignetError } from "../core/errors.js";
import { toFolder } from "../core/keys.js";
import { isAdmin, type Principal } from "../core/principal.js";
import type { Db } from "../db/connect.js";
import type { IssuedTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";
import type { Revocations } from "./revocations.js";

/**
 * How long a peer's issuance record may take to reach a shared database, in milliseconds: its
 * audit queue's flush period (20 ms, service/audit.ts) and a transaction, with room for a busy
 * machine.
 */
const PEER_WINDOW_MS = 250;
/** How often a token id not found yet is looked up again within that window, in ms. */
const PEER_POLL_MS = 50;

/** Waits until `settled` (`performance.now()` ms: a clock stepped back cannot stretch it). */
async function untilSettled(settled: number): Promise<void> {
  const left = settled - performance.now();
  if (left > 0) await sleep(left);
}

/** A principal's id as tokens carry it (core/principal.ts). */
const PRINCIPAL_ID = /^(key:.|sub:.|env:admin$)/;

/** One of: a token id; a principal; a bucket and a folder (`prefix`) (the route's schema). */
export interface RevokeInput {
  tokenId?: string;
  principal?: string;
  bucket?: string;
  prefix?: string;
}

/** The API's answer (api/types.ts), and whether the token had been revoked before (200). */
export type RevokeResult = ApiRevokeResult & {
  /** a token revoked before: its revocation is answered again (200, not 201) */
  existing?: true;
};

export class RevokeService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly revocations: Revocations,
    private readonly buckets: Buckets,
    /** other instances issue into the same database (PostgreSQL) */
    private readonly shared = false,
  ) {}

  async revoke(principal: Principal, input: RevokeInput): Promise<RevokeResult> {
    // Until when (performance.now() ms) peers' issuance records are waited for (now on SQLite).
    const settled = performance.now() + (this.shared ? PEER_WINDOW_MS : 0);
    // Issuance rows travel on the audit queue: what was just issued must be found.
    await this.audit.flush();
    if (input.tokenId !== undefined) {
      const result = await this.revokeToken(principal, input.tokenId, settled);
      await this.markShares([input.tokenId], result.revokedAt);
      return result;
    }
    const now = new Date().toISOString();
    let query = this.db.selectFrom("issued").selectAll().where("expires_at", ">", now);
    if (input.principal !== undefined) {
      // What tokens carry as their principal; anything else (a bare key id, a role) would match
      // nothing, and a revocation that revokes nothing must not look like one that worked.
      if (!PRINCIPAL_ID.test(input.principal))
        throw new SignetError(
          "invalid_request",
          "principal must be key:ID, sub:SUBJECT or env:admin, as tokens carry it (a role is " +
            "not a principal: revoke each of its principals)",
          "principal",
        );
      if (!isAdmin(principal) && input.principal !== principal.id)
        throw new SignetError("forbidden", "only an admin revokes another principal's tokens");
      query = query.where("principal", "=", input.principal);
    } else {
      const folder = toFolder(input.prefix ?? "", "prefix");
      // The caller's own URLs stay revocable after a grant is gone: existence is enough here.
      if (input.bucket === undefined) throw new SignetError("not_found", "bucket not found");
      this.buckets.require(input.bucket);
      query = query
        .where("bucket", "=", input.bucket)
        .where(sql<boolean>`substr(target, 1, ${[...folder].length}) = ${folder}`);
      if (!isAdmin(principal)) query = query.where("principal", "=", principal.id);
    }
    // What peers issued just before this request is still on their queues for a moment.
    await untilSettled(settled);
    const rows = await query.execute();
    const refusable = rows.filter((r) => r.revocable !== "none");
    const revokedAt = new Date().toISOString();
    await this.revocations.revokeTokens(
      refusable.filter((r) => r.revocable === "signet").map((r) => r.token_id),
      undefined,
      revokedAt,
    );
    for (const row of refusable.filter((r) => r.revocable === "provider"))
      await this.revokeAtProvider(row, revokedAt);
    await this.markShares(
      refusable.map((r) => r.token_id),
      revokedAt,
    );
    const notRevocable = rows
      .filter((r) => r.revocable === "none")
      .map((r) => ({ tokenId: r.token_id, expiresAt: r.expires_at }));
    const result: RevokeResult = {
      ...(input.principal !== undefined
        ? { principal: input.principal }
        : { bucket: input.bucket!, prefix: toFolder(input.prefix ?? "", "prefix") }),
      revokedAt,
      revoked: refusable.length,
      notRevocable,
    };
    await this.audit.record({
      event: "revoke",
      principal: principal.id,
      bucket: result.bucket ?? null,
      key: result.prefix ?? null,
      detail: {
        ...(result.principal !== undefined ? { principal: result.principal } : {}),
        revoked: refusable.length,
        notRevocable: notRevocable.length,
      },
    });
    return result;
  }

  /**
   * What a principal revoked for good (a deleted API key: Revocations.revokePrincipal, which
   * Signet's own tokens already answer to) still leaves to end: its provider-revocable direct
   * URLs, ended at the provider as `revoke({ principal })` ends them, and its shares, which then
   * list as revoked. Safe to run again (a retried delete).
   */
  async principalDeleted(principal: string): Promise<void> {
    const settled = performance.now() + (this.shared ? PEER_WINDOW_MS : 0);
    await this.audit.flush();
    await untilSettled(settled);
    const revokedAt = new Date().toISOString();
    const rows = await this.db
      .selectFrom("issued")
      .selectAll()
      .where("principal", "=", principal)
      .where("revocable", "=", "provider")
      .where("expires_at", ">", revokedAt)
      .execute();
    for (const row of rows) await this.revokeAtProvider(row, revokedAt);
    await this.db
      .updateTable("shares")
      .set({ revoked_at: revokedAt })
      .where("principal", "=", principal)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", revokedAt)
      .execute();
  }

  private async revokeToken(
    principal: Principal,
    tokenId: string,
    settled: number,
  ): Promise<RevokeResult> {
    // Someone else's token is looked up as no token is, by the same queries for as long: the
    // answer and its time tell nothing about which ids exist.
    const owner = isAdmin(principal) ? undefined : principal.id;
    const issued = await this.issuedOf(tokenId, owner, settled);
    if (issued === undefined) throw new SignetError("not_found", "signed request not found");
    if (issued.revocable === "none") {
      await this.audit.record({
        event: "revoke",
        principal: principal.id,
        tokenId,
        bucket: issued.bucket,
        key: issued.target,
        status: 409,
        reason: "not_revocable",
      });
      throw new SignetError(
        "not_revocable",
        `this direct URL is checked only by the ${issued.bucket} bucket's backend, which cannot ` +
          `refuse it before it expires at ${issued.expires_at}: issue URLs with "revocable": true ` +
          "(or a link) to be able to revoke them, or rotate the bucket's signing key to end every " +
          "URL signed with it",
      );
    }
    // Revoked before: that revocation stands, and nothing changes (no second audit row).
    const earlier = await this.revokedAtOf(tokenId);
    if (earlier !== undefined) return { tokenId, revokedAt: earlier, existing: true };
    const revokedAt = new Date().toISOString();
    const recorded =
      issued.revocable === "provider"
        ? await this.revokeAtProvider(issued, revokedAt)
        : await this.revocations.revokeTokens([tokenId], issued.expires_at, revokedAt);
    // Another request revoked it meanwhile: its revocation is the one that stands.
    if (!recorded.has(tokenId))
      return { tokenId, revokedAt: (await this.revokedAtOf(tokenId)) ?? revokedAt, existing: true };
    await this.audit.record({
      event: "revoke",
      principal: principal.id,
      tokenId,
      bucket: issued.bucket,
      key: issued.target,
    });
    return { tokenId, revokedAt };
  }

  /**
   * The issuance record of `tokenId` issued to `owner` (anyone's when undefined), or a share's
   * (see shareAsIssued). A miss is looked up again until `deadline` (`performance.now()` ms; past
   * {@link PEER_WINDOW_MS} on a shared database): a peer may have issued it.
   */
  private async issuedOf(
    tokenId: string,
    owner: string | undefined,
    deadline: number,
  ): Promise<IssuedTable | undefined> {
    for (;;) {
      let query = this.db.selectFrom("issued").selectAll().where("token_id", "=", tokenId);
      if (owner !== undefined) query = query.where("principal", "=", owner);
      const found = (await query.executeTakeFirst()) ?? (await this.shareAsIssued(tokenId, owner));
      if (found !== undefined || performance.now() >= deadline) return found;
      await sleep(Math.max(0, Math.min(PEER_POLL_MS, deadline - performance.now())));
    }
  }

  /**
   * Shares among `tokenIds` show `revokedAt` from their first revocation, whichever route
   * revoked them (`DELETE /v1/shares/{id}` revokes through here too).
   */
  private async markShares(tokenIds: string[], at: string): Promise<void> {
    for (let i = 0; i < tokenIds.length; i += 500)
      await this.db
        .updateTable("shares")
        .set({ revoked_at: at })
        .where("id", "in", tokenIds.slice(i, i + 500))
        .where("revoked_at", "is", null)
        .execute();
  }

  /**
   * A share `issued` does not know (made before it existed, migration 0009, or its row pruned)
   * is still a link Signet refuses once revoked: its own row says whose it is and until when.
   */
  private async shareAsIssued(
    tokenId: string,
    owner: string | undefined,
  ): Promise<IssuedTable | undefined> {
    let query = this.db.selectFrom("shares").selectAll().where("id", "=", tokenId);
    if (owner !== undefined) query = query.where("principal", "=", owner);
    const share = await query.executeTakeFirst();
    if (share === undefined) return undefined;
    return {
      token_id: share.id,
      principal: share.principal,
      bucket: share.bucket,
      target: share.folder,
      folder: 1,
      revocable: "signet",
      expires_at: share.expires_at,
      created_at: share.created_at,
    };
  }

  /** When the token was first revoked (ISO 8601), if it was. */
  private async revokedAtOf(tokenId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("revocations")
      .select("created_at")
      .where("kind", "=", "token")
      .where("value", "=", tokenId)
      .executeTakeFirst();
    return row?.created_at;
  }

  /** The provider ends the URL; Signet refuses the id too (a link made for it, if any). */
  private async revokeAtProvider(row: IssuedTable, at: string): Promise<Set<string>> {
    await this.buckets.get(row.bucket)?.backend.revocation?.revoke(row.token_id);
    return this.revocations.revokeTokens([row.token_id], row.expires_at, at);
  }
}
