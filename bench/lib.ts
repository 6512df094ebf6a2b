/**
 * A tiny benchmark harness: each case runs for a bounded time and count, after a warm-up,
 * and is printed beside the reference measured in the same run. Figures are rates per
 * second; nothing here asserts on them.
 */
import { cpus } from "node:os";

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

/** Prints each result with its ratio to the reference (the first row). */
export function report(title: string, results: Result[], target?: string): void {
  const reference = results[0]!;
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
