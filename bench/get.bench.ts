/**
 * `signet get` beside the tools people compare it with, in the same run on the same machine:
 *
 * 1. capped: a file served by nginx with a per-connection rate cap (../shared/peers/
 *    nginx-start.sh's `/capped/`, like a cloud store's per-connection limit): `curl` (one
 *    stream), `aria2c -x8 -s8 -k1M` and `signet get -c 8`, with signet's peak RSS;
 * 2. uncapped: the same file from Signet's embedded store: `curl` of a signed URL vs `signet get`,
 *    and beside them two floors, 8 connections, no hash, no fsync: a node:http client
 *    (fixtures/node-http-get.mjs) and signet get's own transport alone (fixtures/
 *    raw-get-floor.mjs, client/raw-get.ts), which say how much of the gap is the HTTP client;
 * 3. startup: `signet --help` beside `node -e 0`.
 *
 * nginx's `limit_rate` lets the first 2 MiB of each request through at once (sendfile_max_chunk,
 * then a delay): a client that asks for parts of 2 MiB or less is not held to the cap at all,
 * so the comparison is fair only with parts well above that (signet's default for 256 MiB: 8 MiB
 * parts, four per connection; aria2c: one request per connection plus a few to split the tail).
 *
 * Size: BENCH_GET_MIB (default 256). Needs `dist/` (npm run build), nginx and aria2c (Debian);
 * a tool that is missing is reported and skipped. Nothing here asserts on the figures.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serverNodeFlags } from "./servers.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist/cli/main.js");
const MIB = Number(process.env.BENCH_GET_MIB ?? 256);
// ../shared beside the main clone, or beside the folder of worktrees.
const NGINX_START =
  process.env.NGINX_START ??
  ["../shared/peers/nginx-start.sh", "../../shared/peers/nginx-start.sh"]
    .map((p) => resolve(ROOT, p))
    .find(existsSync) ??
  resolve(ROOT, "../shared/peers/nginx-start.sh");
// Not the peer script's default 18081: Swift's account server (scripts/peers) listens there.
const NGINX_PORT = process.env.NGINX_PORT ?? "18091";
// A run dir of its own: the peer script's default one may hold someone else's nginx (its pid
// file and config would be overwritten, and nginx-stop.sh would stop that one).
const NGINX_RUN = process.env.NGINX_RUN ?? join(tmpdir(), "signet-bench-get-nginx");

const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

/**
 * Runs a command under /usr/bin/time; wall seconds, CPU seconds (user + system), peak RSS in MiB.
 * The page cache's dirty pages are written back first (`sync`, untimed), so that no tool pays
 * for the writeback of the file the one before it wrote (a run after curl's 1 GiB download read
 * 0.38x curl; with a sync between runs, 0.55-0.64x).
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  spawnSync("sync");
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M %U %S", cmd, ...args], {
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr.slice(-500)}`);
  const [seconds, kib, user, system] = result.stderr
    .trim()
    .split("\n")
    .at(-1)!
    .split(" ")
    .map(Number);
  return { seconds: seconds!, rssMiB: kib! / 1024, cpu: user! + system! };
}

const rate = (seconds: number) => `${(MIB / seconds).toFixed(0)} MiB/s`;
const row = (name: string, run: { seconds: number; cpu: number }, extra = "") =>
  console.log(
    `  ${name.padEnd(28)} ${run.seconds.toFixed(2).padStart(7)} s  ${rate(run.seconds).padStart(10)}  ` +
      `cpu ${run.cpu.toFixed(2)} s  ${extra}`,
  );

async function capped(dir: string) {
  const script = NGINX_START;
  if (!existsSync(script) || !has("nginx"))
    return console.log("capped: skipped (no nginx or nginx-start.sh)");
  const info = execFileSync("bash", [script], {
    encoding: "utf8",
    env: { ...process.env, NGINX_PORT, NGINX_RUN },
  });
  const endpoint = /NGINX_ENDPOINT=(\S+)/.exec(info)![1]!;
  const www = /NGINX_WWW=(\S+)/.exec(info)![1]!;
  const name = `signet-bench-${MIB}m.bin`;
  execFileSync("sh", [
    "-c",
    `[ -f ${www}/${name} ] || head -c ${MIB}M /dev/urandom > ${www}/${name}`,
  ]);
  const url = `${endpoint}/capped/${name}`;
  try {
    await cappedRuns(dir, url);
  } finally {
    // nginx-stop.sh sits beside the start script.
    execFileSync("bash", [resolve(script, "../nginx-stop.sh")], {
      stdio: "ignore",
      env: { ...process.env, NGINX_RUN },
    });
  }
}

/** curl, aria2c and `signet get` on the same capped URL, in turn. */
async function cappedRuns(dir: string, url: string) {
  console.log(`capped (${MIB} MiB through nginx's per-connection cap):`);
  const curl = timed("curl", ["-fsS", "-o", join(dir, "curl.bin"), url]);
  row("curl (1 stream)", curl);
  let aria: number | undefined;
  if (has("aria2c")) {
    const run = timed("aria2c", [
      "-q",
      "-x8",
      "-s8",
      "-k1M",
      "-d",
      dir,
      "-o",
      "aria.bin",
      "--allow-overwrite=true",
      url,
    ]);
    aria = run.seconds;
    row("aria2c -x8 -s8 -k1M", run);
  } else console.log("  aria2c: skipped (apt-get install -y aria2)");
  const signet = timed(process.execPath, [
    CLI,
    "get",
    url,
    "-o",
    join(dir, "signet.bin"),
    "-c",
    "8",
    "-q",
  ]);
  row("signet get -c 8", signet, `peak RSS ${signet.rssMiB.toFixed(0)} MiB`);
  console.log(
    `  signet vs curl ${(curl.seconds / signet.seconds).toFixed(2)}x` +
      (aria === undefined ? "" : `, vs aria2c ${(aria / signet.seconds).toFixed(2)}x`),
  );
}

async function uncapped(dir: string) {
  const key = "bench-admin-key-0123456789abcdef";
  const env = { ...process.env, SIGNET_ADMIN_KEY: key, SIGNET_LOG_LEVEL: "warn" };
  const server = spawn(
    process.execPath,
    [...serverNodeFlags(), CLI, "serve", "--port", "0", "--data", join(dir, "data")],
    {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("signet serve did not start")), 30_000);
      server.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const match = /listening on (\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      });
    });
    const clientEnv = { ...env, SIGNET_URL: url, SIGNET_KEY: key };
    const source = join(dir, "source.bin");
    execFileSync("sh", ["-c", `head -c ${MIB}M /dev/urandom > ${source}`]);
    execFileSync(process.execPath, [CLI, "put", source, "default/bench.bin", "-q"], {
      env: clientEnv,
    });
    const signed = execFileSync(
      process.execPath,
      [CLI, "presign", "default/bench.bin", "--url", "--expires", "1h"],
      {
        env: clientEnv,
        encoding: "utf8",
      },
    ).trim();
    console.log(`uncapped (${MIB} MiB from the embedded store on loopback):`);
    const curl = timed("curl", ["-fsS", "-o", join(dir, "curl2.bin"), signed]);
    row("curl (1 stream)", curl);
    const signet = timed(
      process.execPath,
      [CLI, "get", "default/bench.bin", "-o", join(dir, "signet2.bin"), "-q"],
      clientEnv,
    );
    row("signet get -c 8", signet, `peak RSS ${signet.rssMiB.toFixed(0)} MiB`);
    const floor = timed(process.execPath, [
      join(ROOT, "bench/fixtures/node-http-get.mjs"),
      signed,
      join(dir, "floor.bin"),
    ]);
    row("node:http floor, 8 streams", floor, "(no sha256, no fsync)");
    const raw = timed(process.execPath, [
      join(ROOT, "bench/fixtures/raw-get-floor.mjs"),
      join(ROOT, "dist"),
      signed,
      join(dir, "raw.bin"),
    ]);
    row("raw-get floor, 8 streams", raw, "(signet get's transport alone)");
    console.log(
      `  signet vs curl ${(curl.seconds / signet.seconds).toFixed(2)}x, ` +
        `node:http floor vs curl ${(curl.seconds / floor.seconds).toFixed(2)}x, ` +
        `raw-get floor vs curl ${(curl.seconds / raw.seconds).toFixed(2)}x`,
    );
  } finally {
    server.kill("SIGTERM");
  }
}

function startup() {
  const runs = 10;
  const median = (cmd: string, args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(timed(cmd, args).seconds);
    return times.sort((a, b) => a - b)[runs >> 1]!;
  };
  const node = median(process.execPath, ["-e", "0"]);
  const help = median(process.execPath, [CLI, "--help"]);
  console.log(
    `startup (median of ${runs}): node -e 0 ${node.toFixed(2)} s, signet --help ${help.toFixed(2)} s`,
  );
}

if (!existsSync(CLI)) throw new Error("build first: npm run build");
const dir = await mkdtemp(join(tmpdir(), "signet-bench-get-"));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(`load average at start: ${load()}`);
try {
  await capped(dir);
  await uncapped(dir);
  startup();
  console.log(`load average at end: ${load()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
