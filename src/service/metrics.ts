/**
 * Signet's Prometheus metrics beyond HTTP, on one registry that /metrics serves
 * (http/plugins/metrics.ts adds the HTTP ones and the process defaults to it).
 *
 * Counters count what this instance did; the gauges read from the shared database at scrape
 * time (intents, webhook outbox), so every instance reports the same, cluster-wide value.
 * No label ever holds a key, a token, or a principal (unbounded, and personal).
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { Db } from "../db/connect.js";

export class Metrics {
  readonly registry = new Registry();

  /** URLs issued (direct or link), by backend kind, method(s) and delivery */
  readonly issued = new Counter({
    name: "signet_urls_issued_total",
    help: "Signed URLs issued, by backend, method and delivery (direct or link)",
    labelNames: ["backend", "method", "delivery"],
    registers: [this.registry],
  });

  /** every error answer, by its error code (forbidden, token_expired, rate_limited…) */
  readonly refusals = new Counter({
    name: "signet_refusals_total",
    help: "Refused requests, by error code",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  readonly linkUses = new Counter({
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
