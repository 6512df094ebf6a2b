/**
 * Prometheus metrics at /metrics: process defaults, and every answer counted by surface, method
 * and status (never by path: paths carry keys and tokens).
 */
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Histogram } from "prom-client";
import { type Metrics, TalliedCounter } from "../../service/metrics.js";
import { refusalOf } from "./errors.js";

/** The first path segments that are surfaces of their own; any other is counted as "other". */
const SURFACES = new Set([
  "v1",
  "o",
  "l",
  "s",
  "r",
  "u",
  "presign",
  "data",
  "ga4gh",
  "healthz",
  "readyz",
  "docs",
  "metrics",
  "console",
]);

/** The URL's first path segment when it names a surface (run for every answer: no splits). */
function surfaceOf(url: string): string {
  const end = url.slice(1).search(/[/?]/);
  const first = end === -1 ? url.slice(1) : url.slice(1, end + 1);
  return SURFACES.has(first) ? first : "other";
}

/**
 * Counts one answer: by surface (from the URL's first segment), method and status, and its
 * time to answer (seconds) in the latency histogram. For answers sent outside Fastify's hooks
 * (fast-get.ts); refusals are counted by the hook, which sees the reply's error code.
 */
export type CountAnswer = (url: string, method: string, status: number, seconds: number) => void;

/** Adds the HTTP metrics and the process defaults to Signet's registry and serves it. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): CountAnswer {
  const registry = metrics.registry;
  collectDefaultMetrics({ register: registry });
  const answers = new TalliedCounter({
    name: "signet_http_responses_total",
    help: "HTTP answers by surface, method and status",
    labelNames: ["surface", "method", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "signet_http_duration_seconds",
    help: "Time to answer, by surface",
    labelNames: ["surface"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const countAnswer: CountAnswer = (url, method, status, seconds) => {
    const surface = surfaceOf(url);
    answers.inc({ surface, method, status: String(status) });
    latency.observe({ surface }, seconds);
  };
  app.addHook("onResponse", (request, reply, done) => {
    countAnswer(request.url, request.method, reply.statusCode, reply.elapsedTime / 1000);
    const reason = refusalOf.get(reply);
    if (reason !== undefined) metrics.refusals.inc({ reason });
    done();
  });
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  return countAnswer;
}
