/**
 * The keyring kept in the metadata database, secrets sealed with the master key.
 * Rotation makes a new key active at once; the previous one keeps verifying until retired.
 */
import { SignetError } from "../core/errors.js";
import { Keyring, newKid, newSecret, seal, type SigningKey, unseal } from "../core/keyring.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { Db } from "../db/connect.js";

export interface KeyInfo {
  kid: string;
  status: SigningKey["status"];
  createdAt: string;
  retiredAt: string | null;
}

const context = (kid: string) => `signing-key:${kid}`;

export class KeyringService {
  private ring = new Keyring([]);
  /** tells other instances to reload (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  constructor(
    private readonly db: Db,
    private readonly master: Buffer,
  ) {}

  get current(): Keyring {
    return this.ring;
  }

  /** Loads the ring; the very first start creates the first active key. */
  async open(): Promise<void> {
    await this.reload();
    if (!this.ring.list().some((k) => k.status === "active")) await this.rotate();
  }

  async reload(): Promise<void> {
    const rows = await this.db.selectFrom("signing_keys").selectAll().execute();
    this.ring = new Keyring(
      rows.map((row) => ({
        kid: row.kid,
        secret: unseal(this.master, row.secret_sealed, context(row.kid)),
        status: row.status,
        createdAt: new Date(row.created_at),
        retiredAt: row.retired_at === null ? null : new Date(row.retired_at),
      })),
    );
  }

  list(): KeyInfo[] {
    return this.ring
      .list()
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map(info);
  }

  async rotate(): Promise<KeyInfo> {
    const kid = newKid();
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable("signing_keys")
        .set({ status: "verifying" })
        .where("status", "=", "active")
        .execute();
      await tx
        .insertInto("signing_keys")
        .values({
          kid,
          secret_sealed: seal(this.master, newSecret(), context(kid)),
          status: "active",
          created_at: now,
          retired_at: null,
        })
        .execute();
    });
    await this.reload();
    await this.changes.publish("keyring");
    return this.get(kid);
  }

  async retire(kid: string): Promise<KeyInfo> {
    const key = this.ring.list().find((k) => k.kid === kid);
    if (key === undefined) throw new SignetError("not_found", `signing key ${kid} not found`);
    if (key.status === "active")
      throw new SignetError("conflict", "the active key cannot be retired; rotate first");
    if (key.status !== "retired") {
      await this.db
        .updateTable("signing_keys")
        .set({ status: "retired", retired_at: new Date().toISOString() })
        .where("kid", "=", kid)
        .execute();
      await this.reload();
      await this.changes.publish("keyring");
    }
    return this.get(kid);
  }

  private get(kid: string): KeyInfo {
    const key = this.ring.list().find((k) => k.kid === kid);
    if (key === undefined) throw new SignetError("not_found", `signing key ${kid} not found`);
    return info(key);
  }
}

function info(key: SigningKey): KeyInfo {
  return {
    kid: key.kid,
    status: key.status,
    createdAt: key.createdAt.toISOString(),
    retiredAt: key.retiredAt?.toISOString() ?? null,
  };
}
