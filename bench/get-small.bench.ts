/**
 * Issue 17: signed 4 KiB GETs on the embedded store over loopback, `wrk -t1 -c32`, beside a bare
 * node:http server that reads the file on every request (target: >= 1.0x) and nginx
 * `secure_link` on the same bytes (the project's aim: 0.7x). Set BENCH_SECONDS (default 5) for
 * the length of each run; BENCH_PROFILE=DIR runs Signet alone under `node --cpu-prof`.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { best, publish, rate, seconds } from "./lib.js";
import {
  putObject,
  scratch,
  startFixture,
  startNginx,
  startSignet,
  wrk,
  wrkCommand,
} from "./servers.js";

const bytes = randomBytes(4096);
const www = await scratch();
writeFileSync(join(www.dir, "4k.bin"), bytes);
const profile = process.env.BENCH_PROFILE;
const signet = await startSignet({
  nodeArgs: profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [],
});
const stops = [signet.stop, www.cleanup];
try {
  const url = await putObject(signet, "bench/4k.bin", bytes);
  const check = Buffer.from(await (await fetch(url)).arrayBuffer());
  if (!check.equals(bytes)) throw new Error("the signed GET does not answer the stored bytes");
  const options = { seconds: seconds(5) };
  if (profile !== undefined) {
    const run = await wrk(url, options);
    console.log(`profiled run: ${rate(run.requestsPerSecond)} req/s, profile in ${profile}`);
  } else {
    const bare = await startFixture("bare-node.ts", join(www.dir, "4k.bin"));
    stops.push(bare.stop);
    const nginx = await startNginx(www.dir);
    stops.push(nginx.stop);
    const nginxUrl = nginx.signed("4k.bin", Math.floor(Date.now() / 1000) + 3600);
    const [ours, node, ng] = await best(
      [
        () => wrk(url, options),
        () => wrk(`${bare.url}/4k.bin`, options),
        () => wrk(nginxUrl, options),
      ],
      2,
    );
    publish({
      id: "get-small",
      title: "Signed GET, 4 KiB, embedded store (issue 17)",
      command: "npm run bench -- get-small",
      rows: [
        {
          case: "Signet signed GET /o/default/bench/4k.bin?t=…",
          figure: `${rate(ours.requestsPerSecond)} req/s (p99 ${ours.p99Ms} ms)`,
          reference: `bare node:http, file read per request: ${rate(node.requestsPerSecond)} req/s`,
          ratio: ours.requestsPerSecond / node.requestsPerSecond,
          how: wrkCommand(options, "<url>"),
        },
        {
          case: "the same, beside nginx secure_link",
          figure: `${rate(ours.requestsPerSecond)} req/s`,
          reference: `nginx secure_link (2 workers, sendfile): ${rate(ng.requestsPerSecond)} req/s`,
          ratio: ours.requestsPerSecond / ng.requestsPerSecond,
          how: wrkCommand(options, "<url>"),
        },
      ],
      target: ">= 1.0x the bare node:http server; the project's aim is 0.7x nginx",
      failures: ours.failures + node.failures + ng.failures,
    });
  }
} finally {
  for (const stop of stops.reverse()) await stop();
}
