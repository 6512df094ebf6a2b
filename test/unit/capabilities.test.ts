/**
 * Each backend's declared capabilities against the project's "what each binds" table
 * (docs/backends.md, copied from DESIGN.md): a cell starting with "no" must be declared false,
 * any other cell bound. And no code above backends/ tests a backend's class or kind.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { AZURE_CAPABILITIES } from "../../src/backends/azure/capabilities.js";
import { GCS_CAPABILITIES } from "../../src/backends/gcs/capabilities.js";
import { LOCAL_CAPABILITIES } from "../../src/backends/local/capabilities.js";
import { S3_CAPABILITIES } from "../../src/backends/s3/capabilities.js";
import { SWIFT_CAPABILITIES } from "../../src/backends/swift/capabilities.js";
import { BIND_ROWS, type BackendCapabilities } from "../../src/backends/types.js";

const ROOT = resolve(import.meta.dirname, "../..");
const COLUMNS: [string, BackendCapabilities][] = [
  ["embedded", LOCAL_CAPABILITIES],
  ["S3 SigV4", S3_CAPABILITIES],
  ["GCS V4", GCS_CAPABILITIES],
  ["Azure SAS", AZURE_CAPABILITIES],
  ["Swift tempurl", SWIFT_CAPABILITIES],
];

/** The table as row -> column -> cell. */
function bindsTable(markdown: string): Map<string, Map<string, string>> {
  const lines = markdown.split("\n").filter((l) => l.startsWith("|"));
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split("|")
      .map((c) => c.trim());
  const [head, , ...rows] = lines;
  const columns = cells(head!);
  return new Map(
    rows.map((row) => {
      const [name, ...values] = cells(row);
      return [name!, new Map(values.map((v, i) => [columns[i + 1]!, v]))];
    }),
  );
}

describe("capabilities against docs/backends.md", () => {
  const table = bindsTable(readFileSync(join(ROOT, "docs/backends.md"), "utf8"));

  it("the table has exactly the declared rows and the five backends", () => {
    expect([...table.keys()].sort()).toEqual([...BIND_ROWS].sort());
    for (const row of table.values())
      expect([...row.keys()].sort()).toEqual(COLUMNS.map(([c]) => c).sort());
  });

  for (const [column, capabilities] of COLUMNS)
    for (const row of BIND_ROWS)
      it(`${column}: "${row}" is declared as the table says`, () => {
        const cell = table.get(row)!.get(column)!;
        const declared = capabilities.binds[row];
        expect(declared === false, `table: ${cell}; declared: ${declared}`).toBe(
          /^no\b/.test(cell),
        );
      });

  it("folder scope and the folder row agree", () => {
    for (const [column, c] of COLUMNS)
      expect(c.folderScope === "none", column).toBe(c.binds.folder === false);
  });
});

describe("no code above backends/ tests a backend's class or kind", () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? files(join(dir, e.name))
        : e.name.endsWith(".ts")
          ? [join(dir, e.name)]
          : [],
    );
  const above = files(join(ROOT, "src")).filter((f) => !f.includes("/src/backends/"));

  it("has no instanceof on a backend class, no backend.kind test and no cast to one", () => {
    const found = above.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) =>
          /instanceof (Local|S3|Gcs|Azure|Swift)Backend|backend\.kind\b|as (Local|S3|Gcs|Azure|Swift)Backend|(Azure|Swift|S3|Gcs)DirectScope/.test(
            line,
          ),
        )
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
