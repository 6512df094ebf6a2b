import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../src/http/json-bytes.js";

const item = fc.jsonValue({ maxDepth: 2 });

describe("jsonBytes (large JSON answers as bytes)", () => {
  it("is JSON.stringify's text in UTF-8, byte for byte, for arrays across slice boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 100 }),
        fc.dictionary(fc.string(), item, { maxKeys: 3 }),
        fc.string({ unit: "grapheme" }),
        (items, rest, name) => {
          const value = { ...rest, [name]: items, after: items.slice(0, 3) };
          const bytes = jsonBytes(value);
          expect(bytes.equals(Buffer.from(JSON.stringify(value)))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("covers the slice edges and multi-byte text exactly", () => {
    for (const length of [0, 1, 31, 32, 33, 64, 65, 1000]) {
      const results = Array.from({ length }, (_, i) => ({ ok: true, url: `https://x/é€😀/${i}` }));
      const value = { results };
      expect(jsonBytes(value).toString("utf8")).toBe(JSON.stringify(value));
    }
  });

  it("leaves out undefined fields as JSON.stringify does, and writes {} for an empty object", () => {
    expect(jsonBytes({ a: undefined, b: 1 }).toString()).toBe('{"b":1}');
    expect(jsonBytes({ a: undefined }).toString()).toBe("{}");
    expect(jsonBytes({}).toString()).toBe("{}");
  });
});
