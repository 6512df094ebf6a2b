/**
 * Issue 17, large objects on the embedded store over loopback (BENCH_LARGE_BYTES, default
 * 1 GiB; the file is written once, from random bytes, in the OS temp dir):
 * - signed PUT with curl, beside `dd conv=fsync` of the same file to the same disk (both end
 *   with the bytes fsynced). Target: >= 0.8x. Beside them, the same PUT to a bare node:http
 *   server that writes the body to a new file and fsyncs it (fixtures/bare-put.ts): the floor
 *   of any Node server, so that what is Signet's own cost and what is Node's can be told apart.
 * - signed GET with curl to /dev/null, beside nginx serving the same file. Target: >= 0.8x.
 * Each side runs twice, in turn, and keeps its best; curl and dd are killed past 10 minutes.
 * The notes add the CPU seconds the server spent per GiB (Signet's process, nginx's workers)
 * and the load average: on a busy machine the rates follow the CPU left over, the CPU does not.
 */
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { publish, rate } from "./lib.js";
import {
  cpuSecondsOf,
  loadAverage,
  presign,
  scratch,
  startFixture,
  startNginx,
  startSignet,
} from "./servers.js";

const size = Number(process.env.BENCH_LARGE_BYTES ?? 2 ** 30);
const mib = (bytesPerSecond: number) => `${rate(bytesPerSecond / 2 ** 20)} MiB/s`;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 600_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command}: ${err.message} ${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Seconds a command takes, wall clock, and the CPU seconds `server` spent meanwhile. */
async function timed(
  command: string,
  args: string[],
  server?: () => number,
): Promise<{ seconds: number; cpu: number }> {
  const cpu = server?.() ?? 0;
  const start = performance.now();
  await run(command, args);
  return { seconds: (performance.now() - start) / 1000, cpu: (server?.() ?? 0) - cpu };
}

/** The fastest run of each kind, and the least CPU any of them took. */
class Best {
  seconds = Infinity;
  cpu = Infinity;
  keep(run: { seconds: number; cpu: number }): void {
    this.seconds = Math.min(this.seconds, run.seconds);
    this.cpu = Math.min(this.cpu, run.cpu);
  }
}

const www = await scratch();
const file = join(www.dir, "large.bin");
{
  const out = createWriteStream(file);
  const chunk = randomBytes(1 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
    if (!out.write(piece)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
const signet = await startSignet();
const stops = [signet.stop, www.cleanup];
try {
  const key = "bench/large.bin";
  const put = await presign(signet, { bucket: "default", key, method: "PUT", expiresIn: 3600 });
  const get = await presign(signet, { bucket: "default", key, method: "GET", expiresIn: 3600 });
  const nginx = await startNginx(www.dir);
  stops.push(nginx.stop);
  const barePut = await startFixture("bare-put.ts", signet.dataDir);
  stops.push(barePut.stop);
  const nginxUrl = nginx.signed("large.bin", Math.floor(Date.now() / 1000) + 3600);
  const curlPut = [
    "-sf",
    "-o",
    "/dev/null",
    "-T",
    file,
    "-H",
    "content-type: application/octet-stream",
    put.url,
  ];
  const ddTarget = join(signet.dataDir, "dd.bin");
  const dd = [`if=${file}`, `of=${ddTarget}`, "bs=1M", "conv=fsync", "status=none"];
  const curlGet = (url: string) => ["-sf", "-o", "/dev/null", url];
  const signetCpu = () => cpuSecondsOf(signet.pid);
  const nginxCpu = () => cpuSecondsOf(nginx.pid, true);
  const bareCpu = () => cpuSecondsOf(barePut.pid);
  const bareArgs = ["-sf", "-o", "/dev/null", "-T", file, `${barePut.url}/put`];
  const [putBest, ddBest, getBest, nginxBest] = [new Best(), new Best(), new Best(), new Best()];
  const bareBest = new Best();
  const loads = [loadAverage()];
  for (let round = 0; round < 2; round++) {
    putBest.keep(await timed("curl", curlPut, signetCpu));
    ddBest.keep(await timed("dd", dd));
    bareBest.keep(await timed("curl", bareArgs, bareCpu));
    getBest.keep(await timed("curl", curlGet(get.url), signetCpu));
    nginxBest.keep(await timed("curl", curlGet(nginxUrl), nginxCpu));
    loads.push(loadAverage());
  }
  const perGiB = (cpu: number) => `${(cpu / (size / 2 ** 30)).toFixed(2)} s`;
  const sizeText = size === 2 ** 30 ? "1 GiB" : `${size} bytes`;
  publish({
    id: "large",
    title: `Large objects (${sizeText}) on the embedded store (issue 17)`,
    command: "npm run bench -- large",
    rows: [
      {
        case: `signed PUT, ${sizeText}`,
        figure: mib(size / putBest.seconds),
        reference: `dd conv=fsync, same size, same disk: ${mib(size / ddBest.seconds)}`,
        ratio: ddBest.seconds / putBest.seconds,
        how: "curl -T FILE URL (best of 2)",
      },
      {
        case: `the same PUT to a bare node:http server (no auth, no hash), ${sizeText}`,
        figure: mib(size / bareBest.seconds),
        reference: `dd conv=fsync: ${mib(size / ddBest.seconds)}`,
        ratio: ddBest.seconds / bareBest.seconds,
        how: "curl -T FILE URL (best of 2), bench/fixtures/bare-put.ts",
      },
      {
        case: `signed GET, ${sizeText}`,
        figure: mib(size / getBest.seconds),
        reference: `nginx serving the same file: ${mib(size / nginxBest.seconds)}`,
        ratio: nginxBest.seconds / getBest.seconds,
        how: "curl -o /dev/null URL (best of 2)",
      },
    ],
    target: ">= 0.8x for each",
    notes: [
      `Server CPU per GiB (least of the runs; user + system, all threads): Signet PUT ${perGiB(putBest.cpu)}, the bare node:http PUT ${perGiB(bareBest.cpu)}, Signet GET ${perGiB(getBest.cpu)}, nginx's workers ${perGiB(nginxBest.cpu)} (sendfile: the copy happens in curl). Load average (1 min) before and after each round: ${loads.join(", ")}.`,
    ],
  });
} finally {
  for (const stop of stops.reverse()) await stop();
}
