/**
 * Server CPU per `POST /v1/presign` (API key, grant check, audit on) beside the bare Fastify
 * route, measured as the servers' own CPU time (user + system, all threads, /proc) across a
 * bounded load (`wrk -t1 -c50` for SECONDS): a figure the machine's other load moves far less
 * than req/s. Usage: `npx tsx bench/presign-cpu.ts [SECONDS] [ROUNDS]` (defaults 5 and 3).
 */
import { readFileSync } from "node:fs";
import {
  ADMIN_KEY,
  cpuSecondsOf,
  luaPost,
  type Running,
  startFixture,
  startSignet,
  wrk,
} from "./servers.js";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);

/** CPU seconds of the process's main (event-loop) thread, user + system (Linux /proc). */
function mainThreadSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Microseconds of server CPU per request (all threads, and the event loop's alone), over a
 * `seconds` run after a 2 s warm-up.
 */
async function cpuPerRequest(server: Running, lua: string): Promise<[number, number]> {
  await wrk(server.url, { seconds: 2, connections: 50, lua });
  const before = [cpuSecondsOf(server.pid), mainThreadSeconds(server.pid)];
  const run = await wrk(server.url, { seconds, connections: 50, lua });
  const after = [cpuSecondsOf(server.pid), mainThreadSeconds(server.pid)];
  if (run.failures > 0) throw new Error(`${run.failures} failed requests`);
  return [0, 1].map((i) => ((after[i]! - before[i]!) * 1e6) / run.requests) as [number, number];
}

const signet = await startSignet({ config: { buckets: { default: { backend: "local" } } } });
const bare = await startFixture("bare-fastify.ts");
try {
  const admin = async (path: string, body: unknown) => {
    const res = await fetch(`${signet.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await admin("/v1/grants", {
    principal: "role:app",
    buckets: ["default"],
    prefix: "reports/",
    actions: ["read", "write"],
  });
  const key = (await admin("/v1/apikeys", { name: "bench", role: "app" })).key as string;
  const lua = luaPost(
    "/v1/presign",
    { bucket: "default", key: "reports/2026/q3/summary.pdf", method: "GET" },
    key,
  );
  for (let round = 0; round < rounds; round++) {
    const [ours, oursMain] = await cpuPerRequest(signet, lua);
    const [theirs, theirsMain] = await cpuPerRequest(bare, lua);
    console.log(
      `round ${round + 1}: signet ${ours.toFixed(0)} µs/req (event loop ${oursMain.toFixed(0)}), ` +
        `bare ${theirs.toFixed(0)} µs/req (event loop ${theirsMain.toFixed(0)}), ratio ${(ours / theirs).toFixed(2)}`,
    );
  }
} finally {
  await signet.stop();
  await bare.stop();
}
