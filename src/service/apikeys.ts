/**
 * API keys: `sg_<id>_<secret>`. The id (16 hex) is public and finds the row in O(1); only
 * SHA-256 of the secret is stored (the secret is 256 random bits, so a slow hash adds
 * nothing) and compared in constant time. The secret is shown once, at creation.
 * Rows are kept in memory for at most a second (DESIGN.md's bound on stale shared state) so
 * that each authenticated request does not query the database; a revocation here takes effect
 * at once, one on another instance within that second.
 */
import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { SignetError } from "../core/errors.js";
import { ADMIN_ROLE, type Principal } from "../core/principal.js";
import { LRUCache } from "lru-cache";
import type { Db } from "../db/connect.js";
import type { ApiKeyTable } from "../db/schema.js";
import type { Revocations } from "./revocations.js";

const KEY_SHAPE = /^sg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

// The one-shot digest: no Hash object per request.
const sha256 = (text: string) => hash("sha256", text, "buffer");

/** The id of a string shaped like an API key (for throttling per key), else undefined. */
export const apiKeyIdOf = (presented: string): string | undefined => KEY_SHAPE.exec(presented)?.[1];

/** The shortest env admin key accepted, in characters (a 3-letter key falls in a second). */
export const MIN_ADMIN_KEY_LENGTH = 32;
/** The fewest distinct characters an env admin key may have ("aaaa…" is not a secret). */
const MIN_ADMIN_KEY_DISTINCT = 8;

/**
 * Refuses a weak `SIGNET_ADMIN_KEY` at start-up, saying why (never echoing the key). Keys that
 * Signet makes itself are 256 random bits, and only keys of exactly that shape are looked up.
 */
export function checkAdminKeyStrength(key: string): void {
  if (key.length < MIN_ADMIN_KEY_LENGTH)
    throw new Error(
      `SIGNET_ADMIN_KEY is too short: ${key.length} characters, at least ${MIN_ADMIN_KEY_LENGTH} are needed (try: openssl rand -base64 32)`,
    );
  if (new Set(key).size < MIN_ADMIN_KEY_DISTINCT)
    throw new Error(
      `SIGNET_ADMIN_KEY is too weak: fewer than ${MIN_ADMIN_KEY_DISTINCT} distinct characters (try: openssl rand -base64 32)`,
    );
}

export const unauthorized = () =>
  new SignetError("unauthorized", "missing, malformed, unknown, expired or revoked credentials");

const throwUnauthorized = (): never => {
  throw unauthorized();
};

/** An api_keys row as kept in memory: its secret's hash decoded, its expiry in ms (or Infinity). */
interface KeptRow {
  row: ApiKeyTable;
  hash: Buffer;
  expiresAt: number;
}

export class ApiKeys {
  private readonly envAdminHash: Buffer | undefined;
  /** whether SIGNET_ADMIN_KEY is itself shaped like a stored key (then both are tried) */
  private readonly envAdminKeyShaped: boolean;
  /** api_keys rows by id, decoded, trusted for one second; found rows only */
  private readonly rows = new LRUCache<string, KeptRow>({
    max: 10_000,
    ttl: 1_000,
  });

  constructor(
    private readonly db: Db,
    private readonly revocations: Revocations,
    envAdminKey: string | undefined,
  ) {
    this.envAdminHash = envAdminKey ? sha256(envAdminKey) : undefined;
    this.envAdminKeyShaped = envAdminKey !== undefined && KEY_SHAPE.test(envAdminKey);
  }

  async create(input: {
    name: string;
    role: string;
    expiresIn?: number;
  }): Promise<{ key: string; info: ApiKeyInfo }> {
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const now = new Date();
    const row = {
      id,
      name: input.name,
      role: input.role,
      secret_hash: sha256(secret).toString("hex"),
      created_at: now.toISOString(),
      expires_at:
        input.expiresIn === undefined
          ? null
          : new Date(now.getTime() + input.expiresIn * 1000).toISOString(),
      revoked_at: null,
    };
    await this.db.insertInto("api_keys").values(row).execute();
    return { key: `sg_${id}_${secret}`, info: toInfo(row) };
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The key's principal; undefined when `presented` is not shaped like an API key at all. */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const match = KEY_SHAPE.exec(presented);
    const admin = this.envAdmin(presented, match);
    if (admin !== undefined) return admin;
    if (match === null) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    let found = this.rows.get(id);
    if (found === undefined) {
      const row = await this.db
        .selectFrom("api_keys")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      if (row !== undefined) {
        found = {
          row,
          hash: Buffer.from(row.secret_hash, "hex"),
          expiresAt: row.expires_at === null ? Infinity : new Date(row.expires_at).getTime(),
        };
        this.rows.set(id, found);
      }
    }
    if (found === undefined) throw unauthorized();
    return this.verified(found, id, secret) ?? throwUnauthorized();
  }

  /**
   * The principal when it can be decided from memory alone and the credential is good (the env
   * admin key, or a stored key whose row is kept); undefined otherwise, for `authenticate` to
   * decide (it reads the row, and refuses with 401). Never throws.
   */
  cached(presented: string): Principal | undefined {
    const match = KEY_SHAPE.exec(presented);
    const admin = this.envAdmin(presented, match);
    if (admin !== undefined) return admin;
    if (match === null) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const found = this.rows.get(id);
    return found === undefined ? undefined : this.verified(found, id, secret);
  }

  /** The env admin's principal when `presented` (`match`: its KEY_SHAPE match) is SIGNET_ADMIN_KEY. */
  private envAdmin(presented: string, match: RegExpExecArray | null): Principal | undefined {
    // A stored key's shape is never the env admin key's (unless that key has the shape too):
    // one hash per request, not two.
    if (
      this.envAdminHash !== undefined &&
      (match === null || this.envAdminKeyShaped) &&
      timingSafeEqual(sha256(presented), this.envAdminHash)
    )
      return { id: "env:admin", subject: "env:admin", roles: [ADMIN_ROLE] };
    return undefined;
  }

  /** The principal of a stored key whose row is `found`, or undefined when it must be refused. */
  private verified(
    { row, hash: stored, expiresAt }: KeptRow,
    id: string,
    secret: string,
  ): Principal | undefined {
    // A row read just before a revocation here may have been kept: the in-memory revocations
    // (written by revoke() below) are the check that cannot lag.
    if (this.revocations.isRevoked("", `key:${id}`)) return undefined;
    if (!timingSafeEqual(sha256(secret), stored)) return undefined;
    if (row.revoked_at !== null) return undefined;
    if (expiresAt <= Date.now()) return undefined;
    const principal: Principal = { id: `key:${id}`, subject: id, roles: [row.role] };
    if (expiresAt !== Infinity) principal.expiresAt = expiresAt;
    return principal;
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom("api_keys").selectAll().orderBy("created_at").execute();
    return rows.map(toInfo);
  }

  /** Revokes the key and, with it, every URL it issued (tokens carry their principal). */
  async revoke(id: string): Promise<void> {
    const result = await this.db
      .updateTable("api_keys")
      .set({ revoked_at: new Date().toISOString() })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    this.rows.delete(id);
    if (Number(result.numUpdatedRows) === 0) {
      const exists = await this.db
        .selectFrom("api_keys")
        .select("id")
        .where("id", "=", id)
        .executeTakeFirst();
      if (exists === undefined) throw new SignetError("not_found", "API key not found");
    }
    await this.revocations.revokePrincipal(`key:${id}`);
  }
}

function toInfo(row: {
  id: string;
  name: string;
  role: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
