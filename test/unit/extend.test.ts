import { describe, expect, it } from "vitest";
import { extend } from "../../src/core/extend.js";

describe("extend (a spread for the hot paths)", () => {
  it("copies, then lets the extra keys win, in the spread's key order", () => {
    const base = { a: 1, b: 2 };
    const out = extend(base, { b: 3, c: 4 });
    expect(out).toEqual({ a: 1, b: 3, c: 4 });
    expect(Object.keys(out)).toEqual(["a", "b", "c"]);
    expect(base).toEqual({ a: 1, b: 2 });
    expect(extend(undefined, { c: 1 })).toEqual({ c: 1 });
  });
});
