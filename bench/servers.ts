/**
 * Processes the HTTP benchmarks start and load, all on 127.0.0.1 and all stopped by the bench
 * that started them: Signet (the built `dist/`, as `signet serve`), nginx from Debian's package
 * (with `secure_link`), small reference servers (bench/fixtures/), and wrk as the load
 * generator. Every load run is bounded by wrk's own duration plus a kill timer.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ADMIN_KEY = "bench-admin-key-0123456789abcdef";

/** A fresh scratch directory under the OS temp dir, removed by `cleanup()`. */
export async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "signet-bench-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, with those of its
 * direct children (nginx's workers) when `children` is set (Linux /proc).
 */
export function cpuSecondsOf(pid: number, children = false): number {
  const own = (id: number) => {
    const fields = readFileSync(`/proc/${id}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second here).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  if (!children) return own(pid);
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
  return kids.filter(Boolean).reduce((sum, kid) => sum + own(Number(kid)), 0);
}

/** The 1-minute load average (Linux /proc), to print beside figures from a shared machine. */
export const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

export interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up within ${seconds} s`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
}

/** Starts a node script (a .ts fixture through tsx, or the built CLI) and waits for `probe`. */
async function startNode(
  args: string[],
  probePath: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
): Promise<Running> {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitUntilUp(url + probePath, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, stop };
}

/**
 * The Node flags the benches start `signet serve` with: those `npm start` runs it with
 * (package.json's start script: the README's start command), so that the benches measure the
 * server as it is started; or BENCH_NODE_FLAGS when set (space-separated; empty for V8's
 * defaults, to compare). Throws when the start script no longer has the shape
 * `node [--flag …] dist/cli/main.js serve`.
 */
export function serverNodeFlags(): string[] {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(" ").filter(Boolean);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const shape = /^node((?: --\S+)*) dist\/cli\/main\.js serve$/.exec(pkg.scripts.start);
  if (shape === null) throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  return shape[1]!.split(" ").filter(Boolean);
}

export interface SignetOptions {
  config?: unknown;
  env?: NodeJS.ProcessEnv;
  /** after the start script's flags, e.g. ["--cpu-prof", "--cpu-prof-dir=…"] */
  nodeArgs?: string[];
}

/**
 * `signet serve` from dist/ (or from BENCH_SIGNET_DIST, another build to compare with) on a
 * free port with a fresh data dir, with `serverNodeFlags()`; logs at info go to /dev/null.
 */
export async function startSignet(
  options: SignetOptions = {},
): Promise<Running & { dataDir: string }> {
  const { dir, cleanup } = await scratch();
  const port = await freePort();
  const dist = process.env.BENCH_SIGNET_DIST ?? join(root, "dist");
  const args = [join(dist, "cli/main.js"), "serve", "--host", "127.0.0.1"];
  args.push("--port", String(port), "--data", join(dir, "data"));
  if (options.config !== undefined) {
    writeFileSync(join(dir, "config.json"), JSON.stringify(options.config));
    args.push("--config", join(dir, "config.json"));
  }
  const running = await startNode(
    args,
    "/healthz",
    port,
    { SIGNET_ADMIN_KEY: ADMIN_KEY, SIGNET_LOG_LEVEL: "info", ...options.env },
    [...serverNodeFlags(), ...(options.nodeArgs ?? [])],
  );
  return {
    ...running,
    dataDir: join(dir, "data"),
    async stop() {
      await running.stop();
      await cleanup();
    },
  };
}

/** A reference server from bench/fixtures/ (through tsx), given its port as argv[2]. */
export async function startFixture(name: string, ...rest: string[]): Promise<Running> {
  const port = await freePort();
  return startNode(
    ["--import", "tsx", join(root, "bench/fixtures", name), String(port), ...rest],
    "/healthz",
    port,
    { NODE_ENV: "production" },
  );
}

/**
 * nginx as the reference: 2 workers (one per core of the project machine), sendfile,
 * no access log, `/plain/<file>` and `/signed/<file>?md5=&expires=` with secure_link.
 */
export async function startNginx(www: string): Promise<
  Running & {
    /** a secure_link URL for `/signed/<file>` */
    signed(file: string, expires: number): string;
  }
> {
  const { dir, cleanup } = await scratch();
  const port = await freePort();
  const secret = "bench-secret";
  // nginx's workers run as an unprivileged user: the served dir must be readable by others.
  chmodSync(www, 0o755);
  for (const sub of ["log", "tmp"]) mkdirSync(join(dir, sub));
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 2;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/log/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fcgi; uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /healthz { return 200 "OK"; }
    location /plain/ { alias ${www}/; }
    location /signed/ {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri ${secret}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      alias ${www}/;
    }
  }
}
`,
  );
  const child = spawn("nginx", ["-c", conf, "-e", `${dir}/log/error.log`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitUntilUp(`${url}/healthz`, child);
  } catch (err) {
    await stop();
    await cleanup();
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      await stop();
      await cleanup();
    },
    signed(file, expires) {
      const uri = `/signed/${file}`;
      const md5 = createHash("md5").update(`${expires}${uri} ${secret}`).digest("base64url");
      return `${url}${uri}?md5=${md5}&expires=${expires}`;
    },
  };
}

export interface WrkResult {
  requestsPerSecond: number;
  /** 99th percentile latency in milliseconds */
  p99Ms: number;
  requests: number;
  /** non-2xx/3xx answers plus socket errors: a run with any is not a valid figure */
  failures: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses wrk's report (run with --latency). */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const requests = /(\d+) requests in/.exec(out)?.[1];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  if (rps === undefined || requests === undefined)
    throw new Error(`unreadable wrk output:\n${out}`);
  return {
    requestsPerSecond: Number(rps),
    p99Ms: p99 === null ? NaN : Number(p99[1]) * UNIT_MS[p99[2]!]!,
    requests: Number(requests),
    failures: non2xx + socketErrors,
  };
}

export interface WrkOptions {
  seconds: number;
  connections?: number;
  threads?: number;
  /** a wrk Lua script's text (method, body, headers, or a request() cycling through URLs) */
  lua?: string;
}

/** One wrk run (`wrk -t1 -c32 --latency` by default), killed if it overruns its duration. */
export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [`-t${options.threads ?? 1}`, `-c${options.connections ?? 32}`];
  args.push(`-d${options.seconds}s`, "--latency", "--timeout", "10s");
  let cleanup = async () => {};
  if (options.lua !== undefined) {
    const s = await scratch();
    cleanup = s.cleanup;
    writeFileSync(join(s.dir, "script.lua"), options.lua);
    args.push("-s", join(s.dir, "script.lua"));
  }
  args.push(url);
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "wrk",
        args,
        { timeout: (options.seconds + 30) * 1000, maxBuffer: 1 << 20 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    if (process.env.BENCH_DEBUG) console.error(out);
    return parseWrk(out);
  } finally {
    await cleanup();
  }
}

/** The wrk command line a result came from, for BENCHMARKS.md (the URL's token elided). */
export function wrkCommand(options: WrkOptions, what: string): string {
  return `wrk -t${options.threads ?? 1} -c${options.connections ?? 32} -d${options.seconds}s --latency${options.lua !== undefined ? " -s <script>" : ""} ${what}`;
}

/** Lua for wrk: a POST of a JSON body with a bearer key. */
export function luaPost(path: string, body: unknown, key: string): string {
  return `wrk.method = "POST"
wrk.path = ${JSON.stringify(path)}
wrk.body = ${JSON.stringify(JSON.stringify(body))}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${key}"
`;
}

/** Creates an object through the API as admin and answers a signed GET URL for it. */
export async function putObject(
  signet: Running,
  key: string,
  body: Buffer | Uint8Array,
  expiresIn = 3600,
): Promise<string> {
  const put = await presign(signet, { bucket: "default", key, method: "PUT", expiresIn });
  const res = await fetch(put.url, {
    method: "PUT",
    body,
    headers: { "content-type": "application/octet-stream", ...put.headers },
  });
  if (!res.ok) throw new Error(`PUT ${key}: ${res.status} ${await res.text()}`);
  return (await presign(signet, { bucket: "default", key, method: "GET", expiresIn })).url;
}

export async function presign(
  signet: Running,
  body: Record<string, unknown>,
): Promise<{ url: string; headers: Record<string, string> }> {
  const res = await fetch(`${signet.url}/v1/presign`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`presign: ${res.status} ${await res.text()}`);
  return (await res.json()) as { url: string; headers: Record<string, string> };
}
