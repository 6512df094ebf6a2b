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
