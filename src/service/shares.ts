/**
 * Share links: a folder shared through one link, covering objects added later, revocable at
 * any time. Shares are always links. Creating one needs the `share` action and the action of
 * each of its methods, inside one grant.
 */
import { SignetError } from "../core/errors.js";
import type { Method } from "../core/methods.js";
import { isAdmin, type Principal } from "../core/principal.js";
import type { Db } from "../db/connect.js";
import type { Share, ShareInput } from "../api/types.js";
import type { ShareTable } from "../db/schema.js";
import { REDIRECT_SAFE } from "./links.js";
import type { Issuance } from "./issuance.js";
import type { RevokeService } from "./revoke.js";

const toShare = (row: ShareTable): Share => ({
  id: row.id,
  bucket: row.bucket,
  prefix: row.folder,
  methods: JSON.parse(row.methods) as Method[],
  mode: row.mode,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export class ShareService {
  constructor(
    private readonly db: Db,
    private readonly issuance: Issuance,
    private readonly revoke: RevokeService,
  ) {}

  /** `ip` is the client's address, recorded with the issuance. */
  async create(
    principal: Principal,
    input: ShareInput,
    ip?: string,
  ): Promise<Share & { url: string }> {
    const checked = this.issuance.plan(
      principal,
      {
        bucket: input.bucket,
        prefix: input.prefix,
        methods: input.methods,
        expiresIn: input.expiresIn,
        ip: input.ip,
      },
      { action: "share.create", ip, extraActions: ["share"] },
    );
    const unbound = checked.bucket.backend
      .unbound(checked.direct)
      .filter((name) => !REDIRECT_SAFE.has(name));
    if (input.mode === "redirect" && unbound.length > 0)
      throw await checked.refused(
        new SignetError(
          "constraint_not_enforceable",
          `a redirect cannot carry ${unbound.join(", ")} on this bucket's backend: use mode proxy`,
          "mode",
        ),
      );
    const mode = input.mode ?? (unbound.length > 0 ? "proxy" : "redirect");
    const { url } = await checked.link(mode === "redirect" ? "r" : "p");
    const row: ShareTable = {
      id: checked.direct.tokenId,
      principal: principal.id,
      bucket: checked.bucket.name,
      folder: checked.direct.folder!,
      methods: JSON.stringify(checked.request.methods),
      mode,
      expires_at: checked.direct.expiresAt.toISOString(),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    await this.db.insertInto("shares").values(row).execute();
    return { ...toShare(row), url };
  }

  /** A caller's own shares; an admin's list holds everyone's. Newest first. */
  async list(
    principal: Principal,
    options: { cursor?: string; limit: number },
  ): Promise<{ items: Share[]; nextCursor: string | null }> {
    let query = this.db
      .selectFrom("shares")
      .selectAll()
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(options.limit + 1);
    if (!isAdmin(principal)) query = query.where("principal", "=", principal.id);
    if (options.cursor !== undefined) {
      // "TIME ID": after the last share seen, shares made in the same millisecond included.
      const [at, id] = options.cursor.split(" ") as [string, string | undefined];
      query = query.where((eb) =>
        id === undefined
          ? eb("created_at", "<", at)
          : eb.or([
              eb("created_at", "<", at),
              eb.and([eb("created_at", "=", at), eb("id", ">", id)]),
            ]),
      );
    }
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toShare),
      nextCursor: rows.length > options.limit ? `${last!.created_at} ${last!.id}` : null,
    };
  }

  /**
   * Revokes a share at once (`DELETE /v1/shares/{id}`): its link is refused from the next
   * request on. It stays listed, with the time it was first revoked. The revocation is the one
   * `POST /v1/revocations` makes (service/revoke.ts), audited as such.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const row = await this.db
      .selectFrom("shares")
      .select(["id", "principal"])
      .where("id", "=", id)
      .executeTakeFirst();
    // Someone else's share looks like no share at all.
    if (row === undefined || (!isAdmin(principal) && row.principal !== principal.id))
      throw new SignetError("not_found", "share not found");
    await this.revoke.revoke(principal, { tokenId: id });
  }
}
