/**
 * Signet's Prometheus metrics beyond HTTP, on one registry that /metrics serves
 * (http/plugins/metrics.ts adds the HTTP ones and the process defaults to it).
 *
 * Counters count what this instance did; the gauges read from the shared database at scrape
 * time (intents, webhook outbox), so every instance reports the same, cluster-wide value.
 * No label ever holds a key, a token, or a principal (unbounded, and personal).
 */
import { Counter, type CounterConfiguration, Gauge, Registry } from "prom-client";
import type { Db } from "../db/connect.js";

/**
 * A counter for the hot paths (each signed URL, each HTTP answer): increments are tallied in a
 * plain map and handed to prom-client when /metrics is scraped. prom-client's own `inc` hashes
 * and checks its labels on every call, 1 to 3 µs, more than a 4 KiB GET's other bookkeeping.
 */
export class TalliedCounter<L extends string> {
  private readonly pending = new Map<string, { labels: Record<L, string>; n: number }>();
  private readonly labelNames: readonly L[];

  constructor(config: CounterConfiguration<L> & { labelNames: readonly L[] }) {
    this.labelNames = config.labelNames;
    const pending = this.pending;
    new Counter({
      ...config,
      collect() {
        for (const entry of pending.values()) {
          if (entry.n > 0) this.inc(entry.labels, entry.n);
          entry.n = 0;
        }
      },
    });
  }

  /** Counts one, under these label values (every label named). */
  inc(labels: Record<L, string>): void {
    let key = "";
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    const entry = this.pending.get(key);
    if (entry !== undefined) entry.n++;
    else this.pending.set(key, { labels, n: 1 });
  }
}

export class Metrics {
  readonly registry = new Registry();

  /** URLs issued (direct or link), by backend kind, method(s) and delivery */
  readonly issued = new TalliedCounter({
    name: "signet_urls_issued_total",
    help: "Signed URLs issued, by backend, method and delivery (direct or link)",
    labelNames: ["backend", "method", "delivery"],
    registers: [this.registry],
  });

  /** every error answer, by its error code (forbidden, token_expired, rate_limited…) */
  readonly refusals = new TalliedCounter({
    name: "signet_refusals_total",
    help: "Refused requests, by error code",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  readonly linkUses = new TalliedCounter({
    name: "signet_link_uses_total",
    help: "Link and share uses, by how they were served (redirect or proxy)",
    labelNames: ["mode"],
    registers: [this.registry],
  });

  readonly swept = new Counter({
    name: "signet_intents_swept_total",
    help: "Abandoned upload intents swept by this instance",
    registers: [this.registry],
  });

  readonly quotaRejections = new Counter({
    name: "signet_quota_rejections_total",
    help: "Issuances refused by a quota, by the quota's scope and window",
    labelNames: ["scope", "window"],
    registers: [this.registry],
  });

  readonly invalidations = new Counter({
    name: "signet_cache_invalidations_total",
    help: "In-memory caches reloaded because another instance changed them, by topic",
    labelNames: ["topic"],
    registers: [this.registry],
  });

  readonly anomalies = new Counter({
    name: "signet_issuance_anomalies_total",
    help: "Principals whose issuance rate jumped past the configured multiple of their own recent rate",
    registers: [this.registry],
  });

  /** Adds the gauges read from the database when scraped. */
  watch(db: Db): void {
    new Gauge({
      name: "signet_intents",
      help: "Upload intents (files) by status, cluster-wide",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        const rows = await db
          .selectFrom("files")
          .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
          .where("status", "in", ["pending", "committed"])
          .groupBy("status")
          .execute();
        this.reset();
        for (const status of ["pending", "committed"]) this.set({ status }, 0);
        for (const row of rows) this.set({ status: row.status }, Number(row.n));
      },
    });
    new Gauge({
      name: "signet_webhook_outbox",
      help: 'Undelivered webhook rows, cluster-wide: all (state="pending"), whose last attempt failed (state="failing")',
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        const row = await db
          .selectFrom("webhook_outbox")
          .select((eb) => [
            eb.fn.countAll<number>().as("pending"),
            eb.fn.count<number>("last_error").as("failing"),
          ])
          .where("delivered_at", "is", null)
          .executeTakeFirstOrThrow();
        this.set({ state: "pending" }, Number(row.pending));
        this.set({ state: "failing" }, Number(row.failing));
      },
    });
  }
}
