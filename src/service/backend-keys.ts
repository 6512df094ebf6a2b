/**
 * Keys Signet generates for a bucket's backend: today Swift temp URL keys. rotate() sets a new
 * random key on the account or container (SwiftBackend.rotateKey) and signs with it; the key it
 * replaced stays in Swift's second slot, so earlier URLs keep working until retire() removes it.
 *
 * Both keys are kept in the metadata database, sealed with the master key (core/keyring.ts), the
 * context naming the bucket and the slot; never logged or returned. At start-up apply() makes each
 * Swift bucket sign with its stored keys, which then override the config's tempUrlKey(2): they
 * are what Signet last set in Swift. Rotation needs the bucket's admin credentials (authUrl, user,
 * key); with keyLevel "account", every bucket of that account signing with the old key is moved
 * off it only by its own rotation, so give such buckets container keys.
 */
import { randomBytes } from "node:crypto";
import type { KeyRotation as BackendKeyRotation } from "../backends/types.js";
import { SignetError } from "../core/errors.js";
import { seal, unseal } from "../core/keyring.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { Db } from "../db/connect.js";
import type { BackendKeyTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";

export interface KeyRotation {
  bucket: string;
  rotatedAt: string;
}

export interface KeyRetirement {
  bucket: string;
  retiredAt: string;
}

type Slot = BackendKeyTable["slot"];

const context = (bucket: string, slot: Slot) => `backend-key:${bucket}:${slot}`;

export class BackendKeys {
  /** One rotation or retirement at a time per bucket: Swift and the rows must agree. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** tells other instances to apply() the new keys (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  constructor(
    private readonly db: Db,
    private readonly master: Buffer,
    private readonly buckets: Buckets,
    private readonly audit: AuditLog,
  ) {}

  /** Each Swift bucket signs with the keys stored for it (nothing is sent to Swift). */
  async apply(): Promise<void> {
    const rows = await this.db.selectFrom("backend_keys").selectAll().execute();
    const opened = new Map<string, Partial<Record<Slot, string>>>();
    for (const row of rows) {
      const slots = opened.get(row.bucket) ?? {};
      slots[row.slot] = unseal(
        this.master,
        row.secret_sealed,
        context(row.bucket, row.slot),
      ).toString("utf8");
      opened.set(row.bucket, slots);
    }
    for (const [name, slots] of opened) {
      const backend = this.buckets.get(name)?.backend;
      const rotation = backend?.keyRotation;
      if (rotation === undefined || slots.current === undefined) continue;
      rotation.useKeys(
        slots.previous === undefined
          ? { current: slots.current }
          : { current: slots.current, previous: slots.previous },
      );
    }
  }

  /** A new random key signs from now on; the one it replaces keeps earlier URLs valid. */
  async rotate(bucket: string, principal: string): Promise<KeyRotation> {
    const backend = this.rotatable(bucket);
    return this.serially(bucket, async () => {
      const keys = await backend.rotateKey(randomBytes(32).toString("base64url"));
      const rotatedAt = new Date().toISOString();
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom("backend_keys").where("bucket", "=", bucket).execute();
        await tx
          .insertInto("backend_keys")
          .values([
            this.row(bucket, "current", keys.current, rotatedAt),
            this.row(bucket, "previous", keys.previous, rotatedAt),
          ])
          .execute();
      });
      await this.changes.publish("backend-keys");
      await this.audit.record({ event: "bucket.rotate-key", principal, bucket });
      return { bucket, rotatedAt };
    });
  }

  /** Removes the previous key from the backend: URLs signed with it fail from then on. */
  async retire(bucket: string, principal: string): Promise<KeyRetirement> {
    const backend = this.rotatable(bucket);
    return this.serially(bucket, async () => {
      await backend.retireKey();
      await this.db
        .deleteFrom("backend_keys")
        .where("bucket", "=", bucket)
        .where("slot", "=", "previous")
        .execute();
      await this.changes.publish("backend-keys");
      await this.audit.record({ event: "bucket.retire-key", principal, bucket });
      return { bucket, retiredAt: new Date().toISOString() };
    });
  }

  /** The bucket's backend, if Signet can rotate its keys: not_found, or conflict naming why. */
  private rotatable(name: string): BackendKeyRotation {
    const bucket = this.buckets.require(name);
    const { backend, config } = bucket;
    const rotation = backend.keyRotation;
    if (rotation === undefined)
      throw new SignetError(
        "conflict",
        `bucket ${name} is a ${config.backend} bucket: Signet rotates only swift temp URL keys`,
      );
    const why = rotation.unavailable();
    if (why !== undefined) throw new SignetError("conflict", `bucket ${name} ${why}`);
    return rotation;
  }

  private row(bucket: string, slot: Slot, key: string, createdAt: string): BackendKeyTable {
    return {
      bucket,
      slot,
      secret_sealed: seal(this.master, Buffer.from(key, "utf8"), context(bucket, slot)),
      created_at: createdAt,
    };
  }

  private serially<T>(bucket: string, work: () => Promise<T>): Promise<T> {
    const result = (this.queues.get(bucket) ?? Promise.resolve()).then(work);
    this.queues.set(
      bucket,
      result.catch(() => undefined),
    );
    return result;
  }
}
