/**
 * docs/config.md names every field of every backend's bucket schema, no field the schemas lack,
 * and marks as required exactly the fields the schemas require.
 */
import { readFile } from "node:fs/promises";
import type { TObject, TSchema } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { BACKEND_KINDS, BUCKET_SCHEMAS } from "../../src/backends/registry.js";
import { COMMON_BUCKET_FIELDS } from "../../src/core/config-schema.js";

const doc = await readFile(new URL("../../docs/config.md", import.meta.url), "utf8");

/** `field` → required column, from the table under the heading that starts with `heading`. */
function table(heading: string): Map<string, string> {
  const start = doc.indexOf(`\n## ${heading}`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const rows = [...section.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*([^|]+?)\s*\|/gm)];
  return new Map(rows.map((m) => [m[1]!, m[2]!.trim()]));
}

/** The schema's fields, one level of nested objects as `outer.inner`, with whether required. */
function fields(schema: TObject, prefix = ""): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const required = new Set(schema.required ?? []);
  for (const [name, sub] of Object.entries(schema.properties) as [string, TSchema][]) {
    if (sub.type === "object" && sub.properties !== undefined && prefix === "")
      for (const [inner, req] of fields(sub as TObject, `${name}.`)) out.set(inner, req);
    else out.set(`${prefix}${name}`, required.has(name));
  }
  return out;
}

const common = new Set(
  fields({ type: "object", properties: COMMON_BUCKET_FIELDS } as never).keys(),
);

describe("docs/config.md", () => {
  it("documents the fields every bucket has", () => {
    const documented = table("Every bucket");
    expect([...documented.keys()].sort()).toEqual(["backend", ...common].sort());
    expect(documented.get("cors.origins")).toBe("with `cors`");
  });

  it.each(BACKEND_KINDS)("documents every %s field, and only those", (kind) => {
    const schema = fields(BUCKET_SCHEMAS[kind] as TObject);
    const own = [...schema.keys()].filter((f) => f !== "backend" && !common.has(f));
    const documented = kind === "local" ? new Map<string, string>() : table(`\`${kind}\``);
    expect([...documented.keys()].sort()).toEqual(own.sort());
    for (const [field, required] of documented) {
      // A nested field the schema requires is required "with `outer`"; others are free text.
      const outer = field.includes(".") ? field.split(".")[0] : undefined;
      const expected = outer === undefined ? "yes" : `with \`${outer}\``;
      expect(required === expected, `${kind}.${field} required: ${required}`).toBe(
        schema.get(field) === true,
      );
    }
  });
});
