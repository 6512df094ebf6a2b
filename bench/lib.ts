/**
 * A tiny benchmark harness: each case runs for a bounded time and count, after a warm-up,
 * and is printed beside the reference measured in the same run. Figures are rates per
 * second; nothing here asserts on them.
 */
import { appendFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename } from "node:path";
import { LocalBackend } from "../src/backends/local/local.js";
import type { GrantSet } from "../src/core/grants.js";
import { Keyring, newSecret } from "../src/core/keyring.js";
import { signToken } from "../src/core/token.js";
import type { Db } from "../src/db/connect.js";
import type { AuditLog } from "../src/service/audit.js";
import { Buckets } from "../src/service/buckets.js";
import { Issuance } from "../src/service/issuance.js";
import type { KeyGuard } from "../src/service/key-guard.js";
import type { LinkService } from "../src/service/links.js";
import type { ShortUrls } from "../src/service/short-urls.js";
import type { EmbeddedStore } from "../src/store/embedded.js";
import type { EmbeddedMultipart } from "../src/store/multipart.js";

export interface Case {
  name: string;
  /** one operation; the returned value is kept alive so the work is not optimised away */
  run: () => unknown;
}

export interface Result {
  name: string;
  opsPerSecond: number;
  iterations: number;
}

let sink: unknown;

export function measure(c: Case, { seconds = 1, maxIterations = 5_000_000 } = {}): Result {
  for (let i = 0; i < 1000; i++) sink = c.run();
  const deadline = performance.now() + seconds * 1000;
  let iterations = 0;
  const start = performance.now();
  while (iterations < maxIterations) {
    for (let i = 0; i < 100; i++) sink = c.run();
    iterations += 100;
    if (performance.now() >= deadline) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name: c.name, opsPerSecond: iterations / elapsed, iterations };
}

export interface AsyncCase {
  name: string;
  /** one operation, awaited before the next one starts */
  run: () => Promise<unknown>;
}

/** `measure` for asynchronous operations: the same bounds, a smaller warm-up. */
export async function measureAsync(
  c: AsyncCase,
  { seconds = 1, maxIterations = 1_000_000 } = {},
): Promise<Result> {
  for (let i = 0; i < 100; i++) sink = await c.run();
  const deadline = performance.now() + seconds * 1000;
  let iterations = 0;
  const start = performance.now();
  while (iterations < maxIterations) {
    for (let i = 0; i < 10; i++) sink = await c.run();
    iterations += 10;
    if (performance.now() >= deadline) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name: c.name, opsPerSecond: iterations / elapsed, iterations };
}

/**
 * Measures several cases in alternating rounds and keeps each one's best round, so that a
 * burst of load on a shared machine cannot land on one case only.
 */
export async function interleaved(
  cases: AsyncCase[],
  { rounds = 5, seconds = 0.3 } = {},
): Promise<Result[]> {
  const best = new Map<string, Result>();
  for (let round = 0; round < rounds; round++)
    for (const c of cases) {
      const result = await measureAsync(c, { seconds });
      if ((best.get(c.name)?.opsPerSecond ?? 0) < result.opsPerSecond) best.set(c.name, result);
    }
  return cases.map((c) => best.get(c.name)!);
}

let reports = 0;

/** Prints each result with its ratio to the reference (the first row), and publishes them. */
export function report(title: string, results: Result[], target?: string): void {
  const reference = results[0]!;
  const family = basename(process.argv[1] ?? "bench").replace(/\.bench\.ts$/, "");
  // A bench that reports several tables gets one block for each: grants, grants-2, …
  reports++;
  record({
    id: reports === 1 ? family : `${family}-${reports}`,
    title,
    command: `npm run bench -- ${family}`,
    rows: results.slice(1).map((r) => ({
      case: r.name,
      figure: `${rate(r.opsPerSecond)} /s`,
      reference: `${reference.name}: ${rate(reference.opsPerSecond)} /s`,
      ratio: r.opsPerSecond / reference.opsPerSecond,
      how: "in-process loop, bounded in time and count",
    })),
    target,
  });
  console.log(`\n## ${title}`);
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${new Date().toISOString()}`,
  );
  for (const r of results) {
    const ratio = r.opsPerSecond / reference.opsPerSecond;
    console.log(
      `${r.name.padEnd(48)} ${Math.round(r.opsPerSecond).toLocaleString("en-US").padStart(12)} /s  ${(ratio * 100).toFixed(1).padStart(6)}% of reference`,
    );
  }
  if (target !== undefined) console.log(`target: ${target}`);
  void sink;
}

/** One line of a published table: our figure beside its reference from the same run. */
export interface Row {
  case: string;
  figure: string;
  reference: string;
  /** ours / reference (for a latency, reference / ours: above 1 is always better) */
  ratio: number;
  /** how the figure was taken (the load command, without tokens) */
  how: string;
}

/** One benchmark's results, as `npm run bench` writes them into BENCHMARKS.md. */
export interface Family {
  /** the bench file's name without `.bench.ts`: the block in BENCHMARKS.md it rewrites */
  id: string;
  title: string;
  command: string;
  rows: Row[];
  target?: string | undefined;
  /** requests that failed during the load: a figure with failures is marked invalid */
  failures?: number;
  notes?: string[];
  machine?: string;
  date?: string;
}

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${process.platform}`;
}

/** Records a family: it is printed, and appended to $BENCH_RESULTS (JSON lines) for run.ts. */
export function record(family: Family): void {
  const full = { machine: machine(), date: new Date().toISOString(), ...family };
  console.log(`\n## ${full.title}\n${full.machine}, ${full.date}`);
  for (const row of full.rows)
    console.log(`${row.case}\n  ${row.figure} | ${row.reference} | ratio ${row.ratio.toFixed(2)}`);
  if (full.failures) console.log(`INVALID: ${full.failures} failed requests`);
  if (full.target !== undefined) console.log(`target: ${full.target}`);
  for (const note of full.notes ?? []) console.log(`note: ${note}`);
  if (process.env.BENCH_RESULTS)
    appendFileSync(process.env.BENCH_RESULTS, JSON.stringify(full) + "\n");
}
export const publish = record;

/** A rate for people: 12,345 (or 12.3 below 100). */
export function rate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

/** BENCH_SECONDS, else the given default: the length of each timed load run. */
export function seconds(fallback: number): number {
  const given = Number(process.env.BENCH_SECONDS);
  return Number.isFinite(given) && given > 0 ? given : fallback;
}

/**
 * Runs each load in turn, `rounds` times, and keeps each one's best run (by rate): a burst of
 * load from elsewhere on a shared machine then does not land on one side only.
 */
export async function best<F extends (() => Promise<{ requestsPerSecond: number }>)[]>(
  runs: [...F],
  rounds = 2,
): Promise<{ [K in keyof F]: Awaited<ReturnType<F[K]>> }> {
  const kept: ({ requestsPerSecond: number } | undefined)[] = runs.map(() => undefined);
  for (let round = 0; round < rounds; round++)
    for (const [i, run] of runs.entries()) {
      const result = await run();
      if ((kept[i]?.requestsPerSecond ?? -1) < result.requestsPerSecond) kept[i] = result;
    }
  return kept as { [K in keyof F]: Awaited<ReturnType<F[K]>> };
}

/**
 * The in-process issuance the grant and audit benches measure: one `default` bucket on the
 * embedded store with a fresh one-key keyring. A direct URL there touches neither the store,
 * links nor short URLs (only the signer), and the key guard's lookup per write is not what
 * these benches measure, so those are stubs. `db` is where the bucket map would be read from
 * (the config alone builds it; a stub is enough when nothing else needs a database).
 * Answers a maker of `Issuance` over a grant set and an audit log.
 */
export async function benchIssuance(
  db: Db = undefined as unknown as Db,
): Promise<(grants: GrantSet, audit: AuditLog) => Issuance> {
  const keyring = new Keyring([
    {
      kid: "k000000000001",
      secret: newSecret(),
      status: "active",
      createdAt: new Date(),
      retiredAt: null,
    },
  ]);
  const backend = new LocalBackend(
    "default",
    undefined as unknown as EmbeddedStore,
    () => "http://127.0.0.1:8080",
    (claims) => signToken(keyring, claims).token,
    undefined as unknown as EmbeddedMultipart,
  );
  const buckets = await Buckets.open(db, { default: { backend: "local" } }, async () => backend);
  return (grants, audit) =>
    new Issuance(
      buckets,
      () => grants,
      audit,
      undefined as unknown as LinkService,
      undefined as unknown as ShortUrls,
      { checkIssue: async () => undefined } as unknown as KeyGuard,
    );
}
