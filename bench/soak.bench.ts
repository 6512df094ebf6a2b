/**
 * Issue 17: the server's RSS during a bounded mixed load (signed 4 KiB GETs, 4 KiB PUTs over
 * 100 keys, POST /v1/presign, link GETs in proxy mode), `wrk -t1 -c32` cycling through them.
 * RSS is sampled every second from /proc after a warm-up of the same load; the figure is the
 * largest drift from the warm-up RSS, with the trend (last tenth beside first tenth) that a
 * leak would show. BENCH_SOAK_SECONDS (default 60; the issue's figure is 300) sets the length.
 *
 * The warm-up lasts until the server is in its steady state: at least BENCH_WARMUP_SECONDS
 * (default 60), and until the main thread's V8 heap has had its first full (major) collection
 * under the load, read from the server's /metrics (`nodejs_gc_duration_seconds`), and
 * WARMUP_AFTER_GC_SECONDS more have passed. Its last full collection before the load (at
 * start-up, some 30 MB live) leaves the old generation room to grow about threefold: under
 * this load no full collection came for the first 100 s while garbage filled that room (RSS
 * rising linearly to about 225 MiB), and only then did one (V8's memory reducer) size the heap
 * by what is live under load (RSS about 165 MiB from then on). A baseline taken before it
 * compares the run with a heap still filling. The baseline is the median RSS after that
 * collection. BENCH_WARMUP_MAX_SECONDS (default 300) bounds the warm-up; one that reaches it
 * without a full collection says so, and its baseline is the median of its last third.
 */
import { randomBytes } from "node:crypto";
import { publish, rate } from "./lib.js";
import { ADMIN_KEY, presign, putObject, rssOf, startSignet, wrk } from "./servers.js";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const soakSeconds = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 60);
const warmupMaxSeconds = Math.max(
  warmupSeconds,
  Number(process.env.BENCH_WARMUP_MAX_SECONDS ?? 300),
);
/** Samples after the first full collection that the baseline needs. */
const WARMUP_AFTER_GC_SECONDS = 20;
/** The warm-up's load runs in rounds of this length, checking for the collection between. */
const WARMUP_ROUND_SECONDS = 10;
const signet = await startSignet();

/** Full (mark-compact) collections of the server's main thread so far, from its /metrics. */
async function fullCollections(): Promise<number> {
  const text = await (await fetch(`${signet.url}/metrics`)).text();
  const count = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(text)?.[1];
  return Number(count ?? 0);
}
try {
  const bytes = randomBytes(4096);
  const get = new URL(await putObject(signet, "bench/soak/read.bin", bytes));
  const link = new URL(
    (
      await presign(signet, {
        bucket: "default",
        key: "bench/soak/read.bin",
        method: "GET",
        delivery: "link",
        ip: "127.0.0.0/8",
        expiresIn: 3600,
      })
    ).url,
  );
  // A folder token: the PUTs go to 100 keys under it.
  const folder = await presign(signet, {
    bucket: "default",
    prefix: "bench/soak/put",
    method: "PUT",
    expiresIn: 3600,
  });
  const putQuery = new URL(folder.url).search;
  const body = JSON.stringify({ bucket: "default", key: "bench/soak/x", method: "GET" });
  const lua = `
local reqs = {}
local payload = string.rep("x", 4096)
-- Built in init: wrk adds the Host header only once the thread is set up.
init = function(args)
reqs[1] = wrk.format("GET", ${JSON.stringify(get.pathname + get.search)})
reqs[2] = wrk.format("POST", "/v1/presign", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer ${ADMIN_KEY}" }, ${JSON.stringify(body)})
reqs[3] = wrk.format("GET", ${JSON.stringify(link.pathname + link.search)})
end
local n = 0
request = function()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("PUT", "/o/default/bench/soak/put/" .. (n % 100) .. ${JSON.stringify(putQuery)}, { ["Content-Type"] = "application/octet-stream" }, payload)
  end
  return reqs[(n % 4)]
end
`;
  // RSS is sampled every second through the warm-up too: the baseline is the median since the
  // first full collection, not one sample that may fall anywhere in a collector's cycle.
  let samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssOf(signet.pid)), 1000);
  const collectionsBefore = await fullCollections();
  let sinceCollection: number | undefined;
  let warmed = 0;
  while (warmed < warmupMaxSeconds) {
    await wrk(signet.url, { seconds: WARMUP_ROUND_SECONDS, lua });
    warmed += WARMUP_ROUND_SECONDS;
    // Counted from the end of the round that saw it: when in the round it came is unknown.
    if (sinceCollection === undefined && (await fullCollections()) > collectionsBefore)
      sinceCollection = samples.length;
    const afterCollection = sinceCollection === undefined ? 0 : samples.length - sinceCollection;
    if (warmed >= warmupSeconds && afterCollection >= WARMUP_AFTER_GC_SECONDS) break;
  }
  const baseline = median(
    samples.slice(sinceCollection ?? -Math.max(1, Math.floor(samples.length / 3))),
  );
  const warmupNote =
    sinceCollection === undefined
      ? `no full collection within the ${warmed} s warm-up: the baseline is its last third's median`
      : `first full collection under load within its first ${sinceCollection} s`;
  samples = [];
  const load = await wrk(signet.url, { seconds: soakSeconds, lua });
  clearInterval(sampler);
  samples.push(rssOf(signet.pid));
  const low = Math.min(...samples);
  const high = Math.max(...samples);
  const drift = Math.max(high / baseline - 1, 1 - low / baseline);
  // Growth, as a leak would show it: the last tenth's median beside the first tenth's.
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const trend = median(samples.slice(-tenth)) / median(samples.slice(0, tenth)) - 1;
  // The shape over time: one sample for each tenth of the run.
  const shape = Array.from(
    { length: 10 },
    (_, i) => samples[Math.floor((i * samples.length) / 10)]!,
  )
    .concat(samples.at(-1)!)
    .map((n) => (n / 2 ** 20).toFixed(0))
    .join(", ");
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  publish({
    id: "soak",
    title: `Server RSS during ${soakSeconds} s of mixed load (issue 17)`,
    command: `BENCH_SOAK_SECONDS=${soakSeconds} npm run bench -- soak`,
    rows: [
      {
        case: `RSS during the load (${samples.length} samples), ${rate(load.requestsPerSecond)} req/s`,
        figure: `${mb(low)} to ${mb(high)}`,
        reference: `its own RSS after ${warmed} s of warm-up (median since its first full GC): ${mb(baseline)}`,
        ratio: high / baseline,
        how: "wrk -t1 -c32 -s <script cycling GET, presign, link GET, PUT>",
      },
    ],
    target: `flat within ±10% (largest drift here: ${(drift * 100).toFixed(1)}%)`,
    failures: load.failures,
    notes: [
      `Warm-up: ${warmed} s; ${warmupNote}.`,
      `RSS in MiB at each tenth of the run: ${shape}.`,
      `Trend (median of the last tenth beside the first tenth): ${(trend * 100).toFixed(1)}%.`,
    ],
  });
} finally {
  await signet.stop();
}
