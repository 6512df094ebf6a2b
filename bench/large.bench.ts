/**
 * Issue 17, large objects on the embedded store over loopback (BENCH_LARGE_BYTES, default
 * 1 GiB; the file is written once, from random bytes, in the OS temp dir):
 * - signed PUT with curl, beside `dd conv=fsync` of the same file to the same disk (both end
 *   with the bytes fsynced). Target: >= 0.8x.
 * - signed GET with curl to /dev/null, beside nginx serving the same file. Target: >= 0.8x.
 * Each side runs twice, in turn, and keeps its best; curl and dd are killed past 10 minutes.
 */
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { publish, rate } from "./lib.js";
import { presign, scratch, startNginx, startSignet } from "./servers.js";

const size = Number(process.env.BENCH_LARGE_BYTES ?? 2 ** 30);
const mib = (bytesPerSecond: number) => `${rate(bytesPerSecond / 2 ** 20)} MiB/s`;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 600_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command}: ${err.message} ${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Seconds a command takes, wall clock. */
async function timed(command: string, args: string[]): Promise<number> {
  const start = performance.now();
  await run(command, args);
  return (performance.now() - start) / 1000;
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
  let putBest = Infinity;
  let ddBest = Infinity;
  let getBest = Infinity;
  let nginxBest = Infinity;
  for (let round = 0; round < 2; round++) {
    putBest = Math.min(putBest, await timed("curl", curlPut));
    ddBest = Math.min(ddBest, await timed("dd", dd));
    getBest = Math.min(getBest, await timed("curl", curlGet(get.url)));
    nginxBest = Math.min(nginxBest, await timed("curl", curlGet(nginxUrl)));
  }
  const sizeText = size === 2 ** 30 ? "1 GiB" : `${size} bytes`;
  publish({
    id: "large",
    title: `Large objects (${sizeText}) on the embedded store (issue 17)`,
    command: "npm run bench -- large",
    rows: [
      {
        case: `signed PUT, ${sizeText}`,
        figure: mib(size / putBest),
        reference: `dd conv=fsync, same size, same disk: ${mib(size / ddBest)}`,
        ratio: ddBest / putBest,
        how: "curl -T FILE URL (best of 2)",
      },
      {
        case: `signed GET, ${sizeText}`,
        figure: mib(size / getBest),
        reference: `nginx serving the same file: ${mib(size / nginxBest)}`,
        ratio: nginxBest / getBest,
        how: "curl -o /dev/null URL (best of 2)",
      },
    ],
    target: ">= 0.8x for each",
  });
} finally {
  for (const stop of stops.reverse()) await stop();
}
