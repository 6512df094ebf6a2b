/**
 * Probes `/healthz` on fresh connections, in a process of its own so that the load generator's
 * busy event loop does not delay (and so inflate) the probes: `node healthz-prober.mjs BASE
 * COUNT EVERY_MS [UNTIL]` makes COUNT probes EVERY_MS apart (none started after the epoch time
 * UNTIL, ms) and prints their times as a JSON array (ms; -1 for a probe not answered 200
 * within 5 s).
 */
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";

const [base, count, everyMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const until = Number(process.argv[5] ?? Infinity);

function probe() {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(`${base}/healthz`, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? performance.now() - started : -1));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(-1));
    req.end();
  });
}

const times = [];
for (let i = 0; i < count && Date.now() < until; i++) {
  times.push(await probe());
  await sleep(everyMs);
}
process.stdout.write(JSON.stringify(times));
