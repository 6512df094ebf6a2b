/**
 * Readiness (/readyz): whether this instance can serve, dependency by dependency: the metadata
 * database (a round trip), Redis when quotas count there (PING), the JWKS endpoint when JWTs
 * are verified against one (a GET answering a JSON key set; while it fails, the keys Signet
 * holds keep verifying for a while, jwks.ts, and the check is `degraded: …`, still ready: an
 * identity provider's outage must not take every instance out of service), and each bucket's
 * backend (one
 * listing of at most one key: a missing S3/GCS bucket or Azure/Swift container, refused
 * credentials or an unreachable endpoint fail it, through the provider-error table). Each check
 * has a 2 s budget; JWKS and bucket answers are remembered for 10 s so that probes do not
 * hammer the providers. A bucket Signet holds no credentials for (a sign-only Swift bucket) is
 * `skipped: …`: nothing can check it, and it does not make the instance unready.
 */
import { sql } from "kysely";
import type { Db } from "../db/connect.js";
import type { Bucket, Buckets } from "./buckets.js";
import type { LimiterFactory } from "./limiters.js";

export type CheckResult = "ok" | string;

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

const BUDGET_MS = 2000;
const MEMORY_MS = 10_000;
const SKIPPED = "skipped: ";
const DEGRADED = "degraded: ";

function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within 2 s`)), BUDGET_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class ReadinessChecks {
  private jwksMemory: { at: number; result: CheckResult } | undefined;
  /** by bucket name; a bucket made again (another backend) is checked anew */
  private bucketMemory = new Map<string, { at: number; bucket: Bucket; result: CheckResult }>();

  constructor(
    private readonly db: Db,
    private readonly limiters: LimiterFactory,
    private readonly jwksUrl: string | undefined,
    private readonly buckets: Buckets,
    /** whether JWTs can still be verified with keys fetched before */
    private readonly jwksHeld: () => boolean,
  ) {}

  async check(): Promise<Readiness> {
    const checks: Record<string, CheckResult> = {};
    const run = async (name: string, work: () => Promise<unknown>) => {
      try {
        await within(work(), name);
        checks[name] = "ok";
      } catch (err) {
        // The message names the failure, never a URL (it may carry credentials).
        checks[name] = `unavailable: ${(err as Error).message.slice(0, 200)}`;
      }
    };
    const buckets = this.buckets.list().flatMap(({ name }) => {
      const bucket = this.buckets.get(name);
      return bucket === undefined ? [] : [bucket];
    });
    const names = new Set(buckets.map((b) => b.name));
    for (const name of this.bucketMemory.keys())
      if (!names.has(name)) this.bucketMemory.delete(name);
    await Promise.all([
      run("database", () => sql`select 1`.execute(this.db)),
      this.limiters.kind === "redis" ? run("redis", () => this.limiters.ping()) : undefined,
      this.jwksUrl === undefined ? undefined : this.jwks().then((r) => (checks.jwks = r)),
      ...buckets.map((b) => this.bucket(b).then((r) => (checks[`bucket:${b.name}`] = r))),
    ]);
    const ready = Object.values(checks).every(
      (c) => c === "ok" || c.startsWith(SKIPPED) || c.startsWith(DEGRADED),
    );
    return { ready, checks };
  }

  /** One listing of at most one key, within the budget, remembered for 10 s. */
  private async bucket(bucket: Bucket): Promise<CheckResult> {
    if (!bucket.backend.capabilities.proxy)
      return `${SKIPPED}Signet holds no credentials to check this bucket with`;
    const now = Date.now();
    const memory = this.bucketMemory.get(bucket.name);
    if (memory !== undefined && memory.bucket === bucket && now - memory.at < MEMORY_MS)
      return memory.result;
    let result: CheckResult = "ok";
    try {
      await within(bucket.backend.list("", { limit: 1 }), `bucket ${bucket.name}`);
    } catch (err) {
      // Backend errors come through the provider-error table: no URL, no credential.
      result = `unavailable: ${(err as Error).message.slice(0, 200)}`;
    }
    this.bucketMemory.set(bucket.name, { at: now, bucket, result });
    return result;
  }

  private async jwks(): Promise<CheckResult> {
    const now = Date.now();
    if (this.jwksMemory !== undefined && now - this.jwksMemory.at < MEMORY_MS)
      return this.jwksMemory.result;
    let result: CheckResult = "ok";
    try {
      const res = await fetch(this.jwksUrl!, { signal: AbortSignal.timeout(BUDGET_MS) });
      const body = res.ok ? ((await res.json()) as { keys?: unknown }) : undefined;
      if (!res.ok) result = `unavailable: HTTP ${res.status}`;
      else if (!Array.isArray(body?.keys)) result = "unavailable: not a JSON key set";
    } catch (err) {
      result = `unavailable: ${(err as Error).name === "TimeoutError" ? "no answer within 2 s" : "unreachable"}`;
    }
    if (result !== "ok" && this.jwksHeld())
      result = `${DEGRADED}${result.slice("unavailable: ".length)}; verifying with the keys fetched before`;
    this.jwksMemory = { at: now, result };
    return result;
  }
}
