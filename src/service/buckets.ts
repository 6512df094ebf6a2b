/**
 * Signet's buckets: names bound to a backend and its limits, from the config file (fixed)
 * or created by an admin through /v1/buckets (kept in the database). Buckets created over
 * HTTP can carry no secret, so they are local only: a cloud bucket's credentials come only
 * from the config file.
 */
import type { Backend } from "../backends/types.js";
import { notFound, SignetError } from "../core/errors.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { Db } from "../db/connect.js";
import { type BucketConfig, type BucketShape, parseBucketConfig, SEVEN_DAYS } from "./config.js";

export interface Bucket {
  name: string;
  config: BucketConfig;
  backend: Backend;
  maxExpiresIn: number;
  source: "config" | "api";
  /**
   * A bucket made over HTTP: when it was made. Signet's tokens carry it (claim `bg`), so a URL
   * stops working when its bucket is deleted, even if one of the same name is made again.
   */
  generation?: string;
}

export interface BucketInfo {
  name: string;
  source: Bucket["source"];
  config: BucketConfig;
}

export class Buckets {
  private readonly byName = new Map<string, Bucket>();
  /** tells other instances to reload (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  private constructor(
    private readonly db: Db,
    private readonly backendFor: (name: string, config: BucketConfig) => Promise<Backend>,
  ) {}

  /** The config file's buckets, their backends built (cloud ones connect here). */
  static async open(
    db: Db,
    configs: Record<string, BucketConfig>,
    backendFor: (name: string, config: BucketConfig) => Promise<Backend>,
  ): Promise<Buckets> {
    const buckets = new Buckets(db, backendFor);
    for (const [name, config] of Object.entries(configs)) await buckets.add(name, config, "config");
    return buckets;
  }

  private async add(
    name: string,
    config: BucketConfig,
    source: Bucket["source"],
    generation?: string,
  ): Promise<Bucket> {
    const bucket: Bucket = {
      name,
      config,
      backend: await this.backendFor(name, config),
      maxExpiresIn: config.maxExpiresIn ?? SEVEN_DAYS,
      source,
    };
    if (generation !== undefined) bucket.generation = generation;
    this.byName.set(name, bucket);
    return bucket;
  }

  /** Mirrors the buckets created over HTTP, kept in the database (added and deleted ones). */
  async load(): Promise<void> {
    const rows = await this.db.selectFrom("buckets").selectAll().execute();
    for (const row of rows) {
      const known = this.byName.get(row.name);
      // A bucket deleted and made again elsewhere under the same name is another bucket.
      if (known === undefined || (known.source === "api" && known.generation !== row.created_at))
        await this.add(row.name, JSON.parse(row.config) as BucketConfig, "api", row.created_at);
    }
    const stored = new Set(rows.map((r) => r.name));
    for (const [name, bucket] of this.byName)
      if (bucket.source === "api" && !stored.has(name)) this.byName.delete(name);
  }

  get(name: string): Bucket | undefined {
    return this.byName.get(name);
  }

  /** The bucket named `name`; 404 `not_found` when there is none (the one answer for it). */
  require(name: string): Bucket {
    const bucket = this.byName.get(name);
    if (bucket === undefined) throw notFound("bucket");
    return bucket;
  }

  list(): BucketInfo[] {
    return [...this.byName.values()].map(({ name, source, config }) => ({ name, source, config }));
  }

  /** A bucket made over HTTP: local only, since nothing over HTTP may carry a secret. */
  async create(name: string, raw: BucketShape): Promise<BucketInfo> {
    if (raw.backend !== "local")
      throw new SignetError(
        "invalid_request",
        `a bucket created over HTTP is local only: a ${raw.backend} bucket needs credentials, ` +
          "which come only from the config file",
        "config.backend",
      );
    const config = parseBucketConfig(raw, "config");
    if (this.byName.has(name)) throw new SignetError("conflict", `bucket ${name} exists`);
    const createdAt = new Date().toISOString();
    await this.db
      .insertInto("buckets")
      .values({ name, config: JSON.stringify(config), created_at: createdAt })
      .execute();
    const { source } = await this.add(name, config, "api", createdAt);
    await this.changes.publish("buckets");
    return { name, source, config };
  }

  async delete(name: string): Promise<void> {
    const bucket = this.require(name);
    if (bucket.source === "config")
      throw new SignetError("conflict", "this bucket is defined in the config file");
    const object = await this.db
      .selectFrom("objects")
      .select("key")
      .where("bucket", "=", name)
      .limit(1)
      .executeTakeFirst();
    if (object !== undefined) throw new SignetError("conflict", "the bucket still holds objects");
    await this.db.deleteFrom("buckets").where("name", "=", name).execute();
    this.byName.delete(name);
    await this.changes.publish("buckets");
  }
}
