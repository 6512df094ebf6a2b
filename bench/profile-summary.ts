/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by area (idle, GC, SQL,
 * logging, file I/O, HTTP, token checks, …) and the top functions. Usage:
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Signet's own code, run from src/ (tsx) or from dist/ (the built server the benches start). */
const OURS = String.raw`^(?!.*node_modules).*/(src|dist)/`;

/** The area a frame belongs to, by its script's URL (first match wins). */
const AREAS: [string, RegExp][] = [
  ["SQL (kysely, better-sqlite3)", new RegExp(String.raw`kysely|better-sqlite3|${OURS}db/`)],
  ["logging (pino)", new RegExp(String.raw`pino|sonic-boom|thread-stream|${OURS}http/log`)],
  ["metrics (prom-client)", /prom-client|plugins\/metrics/],
  ["audit", new RegExp(String.raw`${OURS}service/audit`)],
  ["token, scope, keys", new RegExp(String.raw`${OURS}core/(token|scope|keys|keyring|cidr|range)`)],
  [
    "store, file I/O",
    new RegExp(String.raw`${OURS}store/|node:fs|node:internal/fs|internal/streams`),
  ],
  ["fastify", /fastify|find-my-way|light-my-request|avvio/],
  [
    "node http, net",
    /node:(_http|http|net|internal\/http|internal\/net|internal\/stream_base)|_http_/,
  ],
  ["signet routes, services", new RegExp(OURS)],
  ["node internals (events, streams, promises)", /^node:/],
];

function areaOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)") return "program (native, unattributed)";
  for (const [name, pattern] of AREAS) if (pattern.test(url)) return name;
  return url === "" ? `native: ${functionName || "(anonymous)"}` : "other JS";
}

const [file, topArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let total = 0;
for (const [i, id] of profile.samples.entries()) {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
}
const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, time] of self) {
  const node = byId.get(id)!;
  const area = areaOf(node);
  areas.set(area, (areas.get(area) ?? 0) + time);
  const where = node.callFrame.url.replace(/^.*\/(node_modules|src|dist)\//, "$1/");
  if (area === "idle") continue;
  const name = `${node.callFrame.functionName || "(anonymous)"} ${where}:${node.callFrame.lineNumber + 1}`;
  functions.set(name, (functions.get(name) ?? 0) + time);
}
// Shares of busy time: idle time (waiting for the load, or after it) would only dilute them.
const busy = total - (areas.get("idle") ?? 0);
areas.delete("idle");
const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
console.log(
  `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; shares of busy time:`,
);
for (const [area, time] of [...areas].sort((a, b) => b[1] - a[1]))
  console.log(`${pct(time)}  ${area}`);
console.log("\ntop functions (self time):");
for (const [name, time] of [...functions]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(topArg ?? 25)))
  console.log(`${pct(time)}  ${name}`);
