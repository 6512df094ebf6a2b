import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../src/http/json-bytes.js";

// Strings of any UTF-16 code units (lone surrogates included), and arrays long enough to cross
// slice boundaries (32 items): fast-check's default size would keep arrays under about 10 items.
const item = fc.jsonValue({ maxDepth: 2, stringUnit: "binary" });
const sameAsStringify = (value: object) =>
  expect(jsonBytes(value).equals(Buffer.from(JSON.stringify(value)))).toBe(true);

describe("jsonBytes (large JSON answers as bytes)", () => {
  it("is JSON.stringify's text in UTF-8, byte for byte, for arrays across slice boundaries", () => {
    let sliced = 0;
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 100, size: "max" }),
        fc.dictionary(fc.string({ unit: "binary" }), item, { maxKeys: 3 }),
        fc.string({ unit: "binary" }),
        (items, rest, name) => {
          if (items.length > 32) sliced++;
          sameAsStringify({ ...rest, [name]: items, after: items.slice(0, 3) });
          // Nested, as an upload intent's upload.parts.
          sameAsStringify({ file: rest, upload: { [name]: items, none: undefined }, at: "t" });
        },
      ),
      { numRuns: 300 },
    );
    expect(sliced).toBeGreaterThan(50);
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

  it("matches JSON.stringify where a field or item has no JSON or its own toJSON", () => {
    const many = <T>(make: (i: number) => T) => Array.from({ length: 40 }, (_, i) => make(i));
    sameAsStringify({ a: () => 1, b: Symbol("s"), c: { toJSON: () => undefined }, d: 1 });
    sameAsStringify({ a: () => 1 });
    sameAsStringify({ results: many((i) => (i % 3 === 0 ? undefined : () => i)) });
    sameAsStringify({ results: many(() => new Date(0)), at: new Date(0) });
    sameAsStringify({
      results: Object.assign(
        many((i) => i),
        { toJSON: () => "whole" },
      ),
    });
    sameAsStringify({ results: many((i) => i), toJSON: () => ({ other: true }) });
    sameAsStringify(many((i) => ({ i })));
    sameAsStringify({ [Symbol("k")]: 1, results: many((i) => `\ud800${i}\udfff`) });
    sameAsStringify({ upload: { parts: many((i) => ({ i })), at: new Date(0), f: () => 1 } });
    sameAsStringify({ upload: { parts: many((i) => i), e: { toJSON: () => undefined } }, x: null });
  });
});
