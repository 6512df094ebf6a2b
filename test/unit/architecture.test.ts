/**
 * The import graph of src/: no circle anywhere, imports point downward (DESIGN.md's layout), and
 * nothing above backends/ reaches into one provider's folder (the registry is the one door).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** file (relative to src/) -> the src/ files it imports, type-only imports included */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) =>
      relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts"))),
    );
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** Every strongly connected component with more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const PROVIDER = /^backends\/(local|s3|gcs|azure|swift)\//;
// DESIGN.md's layout, lowest first: a layer imports only its own and lower layers.
const LAYERS = ["core", "store", "db", "backends", "service", "http", "client", "cli"];
const layerOf = (file: string) => LAYERS.indexOf(file.split("/")[0]!);

describe("import graph of src/", () => {
  const graph = importGraph();

  it("has no import circle", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("finds a circle when there is one (the check can fail)", () => {
    const bad = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["a.ts"]],
      ["c.ts", []],
    ]);
    expect(circles(bad)).toEqual([["a.ts", "b.ts"]]);
  });

  it("reaches a provider's folder only from backends/ (the registry)", () => {
    const leaks = [...graph].flatMap(([file, targets]) =>
      file.startsWith("backends/")
        ? []
        : targets.filter((t) => PROVIDER.test(t)).map((t) => `${file} -> ${t}`),
    );
    expect(leaks).toEqual([]);
  });

  it("keeps providers apart: no provider folder imports another", () => {
    const leaks = [...graph].flatMap(([file, targets]) => {
      const own = PROVIDER.exec(file)?.[1];
      if (own === undefined) return [];
      return targets
        .filter((t) => (PROVIDER.exec(t)?.[1] ?? own) !== own)
        .map((t) => `${file} -> ${t}`);
    });
    expect(leaks).toEqual([]);
  });

  it("imports point downward: core, store and backends import no service, http, client or cli", () => {
    const upward = [...graph].flatMap(([file, targets]) => {
      const layer = layerOf(file);
      if (layer < 0 || layer > LAYERS.indexOf("backends")) return [];
      return targets
        .filter((t) => layerOf(t) > LAYERS.indexOf("backends"))
        .map((t) => `${file} -> ${t}`);
    });
    expect(upward).toEqual([]);
  });
});
