import { describe, expect, it } from "vitest";
import { resolveRange } from "../../src/core/range.js";

describe("resolveRange", () => {
  const size = 100;
  it.each([
    [undefined, { kind: "whole" }],
    ["bytes=0-9", { kind: "partial", range: { start: 0, end: 9 } }],
    ["bytes=90-", { kind: "partial", range: { start: 90, end: 99 } }],
    ["bytes=90-500", { kind: "partial", range: { start: 90, end: 99 } }],
    ["bytes=-10", { kind: "partial", range: { start: 90, end: 99 } }],
    ["bytes=-500", { kind: "partial", range: { start: 0, end: 99 } }],
    ["bytes=100-", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=0-1,5-6", { kind: "whole" }],
    ["items=0-1", { kind: "whole" }],
    ["bytes=5-3", { kind: "whole" }],
    ["bytes=-", { kind: "whole" }],
    ["garbage", { kind: "whole" }],
  ])("%s", (header, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });

  it("nothing is satisfiable in an empty object", () => {
    expect(resolveRange("bytes=0-0", 0)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=-1", 0)).toEqual({ kind: "unsatisfiable" });
  });
});
