/**
 * Issuance quotas: how many URLs a principal, a bucket, or a principal under one grant may be
 * issued per minute and per day. Over any of them is 429 `rate_limited` with `Retry-After`
 * (the seconds until that window frees a URL). Counters live where service/limiters.ts puts
 * them: Redis when configured (shared by every instance), else memory.
 *
 * Sources: the config's `quotas.principal` (each principal), `quotas.buckets` (by bucket name,
 * "*" for the others), and a grant's own `quota` (each principal it admits, under that grant).
 * Each issued URL costs one point in every quota that applies; a refused one still costs
 * its points in the quotas that admitted it (counters are not rolled back), which only errs
 * towards refusing sooner.
 *
 * The same pass feeds the generation-rate anomaly detector (quotas.anomaly): see Anomalies.
 */
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { SignetError } from "../core/errors.js";
import type { Grant } from "../core/grants.js";
import type { Principal } from "../core/principal.js";
import type { AuditLog } from "./audit.js";
import type { QuotaLimits, ResolvedConfig } from "./config.js";
import { isSpent, type LimiterFactory } from "./limiters.js";
import { rateLimited } from "./throttle.js";
import type { Metrics } from "./metrics.js";

const WINDOWS = [
  { name: "minute", field: "perMinute", seconds: 60 },
  { name: "day", field: "perDay", seconds: 86_400 },
] as const;

interface Counted {
  limiter: RateLimiterAbstract;
  key: string;
  scope: string;
  window: string;
}

export type QuotasConfig = NonNullable<ResolvedConfig["quotas"]>;

export class Quotas {
  /** limiters by scope, window and limit, made on first use */
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly anomalies: Anomalies | undefined;

  constructor(
    private readonly factory: LimiterFactory,
    private readonly config: QuotasConfig,
    private readonly metrics: Metrics,
    audit: AuditLog,
    /** the grant with this id (config or database), for its own quota */
    private readonly grantById: (id: string) => Grant | undefined,
  ) {
    if (config.anomaly !== undefined)
      this.anomalies = new Anomalies(config.anomaly, metrics, audit);
  }

  /**
   * Counts one issuance to `principal` on `bucket` (under the grant `grantId`, when one admitted
   * it); throws 429 `rate_limited` (throttle.ts) when a quota is spent, or 503 when the counters cannot be
   * reached.
   */
  async admit(principal: Principal, bucket: string, grantId: string | undefined): Promise<void> {
    const grant = grantId === undefined ? undefined : this.grantById(grantId);
    const counted: Counted[] = [];
    this.count(counted, "principal", this.config.principal, principal.id);
    const buckets = this.config.buckets;
    if (buckets !== undefined) {
      // Own keys only: `in` and `[]` also see Object.prototype (a bucket named "constructor").
      const named = Object.hasOwn(buckets, bucket);
      this.count(
        counted,
        "bucket",
        named ? buckets[bucket] : Object.hasOwn(buckets, "*") ? buckets["*"] : undefined,
        bucket,
        named ? bucket : "*",
      );
    }
    if (grant !== undefined)
      this.count(counted, "grant", grant.quota, `${grant.id}:${principal.id}`, grant.id);
    if (counted.length === 0) {
      // No quota applies (the usual case): nothing to count or wait for.
      this.anomalies?.count(principal.id);
      return;
    }
    const results = await Promise.allSettled(counted.map((c) => c.limiter.consume(c.key)));
    let retryMs = -1;
    let spent: Counted | undefined;
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") continue;
      const reason = result.reason as { msBeforeNext: number };
      if (!(await isSpent(reason)))
        throw new SignetError("backend_unavailable", "the quota counters cannot be reached");
      if (reason.msBeforeNext > retryMs) {
        retryMs = reason.msBeforeNext;
        spent = counted[i];
      }
    }
    if (spent !== undefined) {
      this.metrics.quotaRejections.inc({ scope: spent.scope, window: spent.window });
      throw rateLimited(`the ${spent.scope} quota per ${spent.window} is spent`, retryMs);
    }
    this.anomalies?.count(principal.id);
  }

  /** Adds to `out` the counters `limits` names (none when undefined). */
  private count(
    out: Counted[],
    scope: string,
    limits: QuotaLimits | undefined,
    key: string,
    limiterName = "",
  ): void {
    if (limits === undefined) return;
    for (const w of WINDOWS) {
      const points = limits[w.field];
      if (points === undefined) continue;
      const id = `${scope}:${limiterName}:${w.name}:${points}`;
      let limiter = this.limiters.get(id);
      if (limiter === undefined) {
        limiter = this.factory.create({
          keyPrefix: `quota:${scope}:${w.name}:${points}`,
          points,
          duration: w.seconds,
        });
        this.limiters.set(id, limiter);
      }
      out.push({ limiter, key, scope, window: w.name });
    }
  }
}

type AnomalyConfig = NonNullable<QuotasConfig["anomaly"]>;

/** Most principals tracked at once; the least recently seen are dropped beyond it. */
const MAX_TRACKED = 10_000;

/**
 * A principal whose issuance in the current minute is above `factor` times its own average
 * per minute over the previous `windowMinutes` (and at least `minPerMinute`) is reported once
 * for that minute: an `issuance.anomaly` audit event and signet_issuance_anomalies_total.
 * Counted per instance (each instance sees its own share of the traffic).
 */
export class Anomalies {
  private readonly history = new Map<string, { minute: number; counts: number[] }>();
  private readonly window: number;
  private readonly floor: number;

  constructor(
    private readonly config: AnomalyConfig,
    private readonly metrics: Metrics,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {
    this.window = config.windowMinutes ?? 60;
    this.floor = config.minPerMinute ?? 10;
  }

  /** Counts one issuance; reports when this one crosses the threshold. */
  count(principal: string): void {
    const minute = Math.floor(this.now() / 60_000);
    let entry = this.history.get(principal);
    if (entry === undefined) {
      entry = { minute, counts: [0] };
      if (this.history.size >= MAX_TRACKED)
        this.history.delete(this.history.keys().next().value as string);
    } else {
      this.history.delete(principal);
      // counts[0] is the current minute, counts[i] the minute i ago.
      const gap = minute - entry.minute;
      if (gap > 0)
        entry.counts = [
          ...new Array<number>(Math.min(gap, this.window + 1)).fill(0),
          ...entry.counts,
        ];
      entry.counts.length = Math.min(entry.counts.length, this.window + 1);
      entry.minute = minute;
    }
    this.history.set(principal, entry);
    const current = ++entry.counts[0]!;
    const past = entry.counts.slice(1);
    // Too little history is no baseline: a new principal is not an anomaly.
    if (past.length < Math.min(this.window, 2)) return;
    // Over the minutes seen so far (at most the window), so a short history is not diluted.
    const average = past.reduce((a, b) => a + b, 0) / past.length;
    const threshold = Math.max(this.floor, Math.ceil(average * this.config.factor));
    if (current !== threshold + 1) return;
    this.metrics.anomalies.inc();
    void this.audit
      .record({
        event: "issuance.anomaly",
        principal,
        detail: { perMinute: current, averagePerMinute: average, factor: this.config.factor },
      })
      .catch(() => undefined);
  }
}
