/**
 * Signet's buckets: names bound to a backend and its limits, from the config file (fixed)
 * or created by an admin through /v1/buckets (kept in the database). Buckets created over
 * HTTP can carry no secret: credentials come only from the config file.
 */
import type { Backend } from "../backends/types.js";
import { SignetError } from "../core/errors.js";
import type { Db } from "../db/connect.js";
import { type BucketConfig, SEVEN_DAYS } from "./config.js";

export interface Bucket {
  name: string;
  config: BucketConfig;
  backend: Backend;
  maxExpiresIn: number;
  source: "config" | "api";
}

export interface BucketInfo {
  name: string;
  source: Bucket["source"];
  config: BucketConfig;
}

export class Buckets {
  private readonly byName = new Map<string, Bucket>();

  constructor(
    private readonly db: Db,
    configs: Record<string, BucketConfig>,
    private readonly backendFor: (name: string, config: BucketConfig) => Backend,
  ) {
    for (const [name, config] of Object.entries(configs)) this.add(name, config, "config");
  }

  private add(name: string, config: BucketConfig, source: Bucket["source"]): Bucket {
    const bucket: Bucket = {
      name,
      config,
      backend: this.backendFor(name, config),
      maxExpiresIn: config.maxExpiresIn ?? SEVEN_DAYS,
      source,
    };
    this.byName.set(name, bucket);
    return bucket;
  }

  async load(): Promise<void> {
    for (const row of await this.db.selectFrom("buckets").selectAll().execute())
      if (!this.byName.has(row.name))
        this.add(row.name, JSON.parse(row.config) as BucketConfig, "api");
  }

  get(name: string): Bucket | undefined {
    return this.byName.get(name);
  }

  list(): BucketInfo[] {
    return [...this.byName.values()].map(({ name, source, config }) => ({ name, source, config }));
  }

  async create(name: string, config: BucketConfig): Promise<BucketInfo> {
    if (this.byName.has(name)) throw new SignetError("conflict", `bucket ${name} exists`);
    await this.db
      .insertInto("buckets")
      .values({ name, config: JSON.stringify(config), created_at: new Date().toISOString() })
      .execute();
    const { source } = this.add(name, config, "api");
    return { name, source, config };
  }

  async delete(name: string): Promise<void> {
    const bucket = this.byName.get(name);
    if (bucket === undefined) throw new SignetError("not_found", "bucket not found");
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
  }
}
