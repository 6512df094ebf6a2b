/**
 * Revoking one signed request or share by its id: refused by Signet from the next request on
 * (its own tokens and links), and by the provider too where it can revoke a direct URL (Azure's
 * stored access policies). Open to the principal that issued it and to admins.
 */
import { SignetError } from "../core/errors.js";
import { isAdmin, type Principal } from "../core/principal.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";
import type { Revocations } from "./revocations.js";

export class RevokeService {
  constructor(
    private readonly audit: AuditLog,
    private readonly revocations: Revocations,
    private readonly buckets: Buckets,
  ) {}

  async revoke(
    principal: Principal,
    tokenId: string,
  ): Promise<{ tokenId: string; revokedAt: string }> {
    const issued = await this.audit.issuanceOf(tokenId);
    // A token the caller did not issue looks like no token at all.
    if (issued === undefined || (!isAdmin(principal) && issued.principal !== principal.id))
      throw new SignetError("not_found", "signed request not found");
    await this.revocations.revoke("token", tokenId);
    const provider =
      issued.bucket === null ? undefined : this.buckets.get(issued.bucket)?.backend.revocation;
    // A policy that was never made for this id (a link, or a full pool) is simply not there.
    await provider?.revoke(tokenId);
    await this.audit.record({
      event: "revoke",
      principal: principal.id,
      tokenId,
      bucket: issued.bucket,
    });
    return { tokenId, revokedAt: new Date().toISOString() };
  }
}
