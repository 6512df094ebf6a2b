import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  matchesPattern,
  mediaTypeMatches,
  parseMediaType,
  parsePattern,
  patternWithin,
  safeMediaType,
} from "../../src/core/media-type.js";
import { normalizeScope } from "../../src/core/scope-request.js";

describe("media types (RFC 9110 §8.3.1)", () => {
  it.each([
    ["image/png", "image/png", []],
    ["IMAGE/PNG", "image/png", []],
    ["text/plain; charset=utf-8", "text/plain", [["charset", "utf-8"]]],
    ['text/plain;CHARSET="utf-8"', "text/plain", [["charset", "utf-8"]]],
    ['a/b; x="q\\"uoted"', "a/b", [["x", 'q"uoted']]],
    [
      "a/b ; x=1 ; y=2",
      "a/b",
      [
        ["x", "1"],
        ["y", "2"],
      ],
    ],
    ["a/b;", "a/b", []],
    ["application/vnd.api+json", "application/vnd.api+json", []],
  ])("parses %j", (text, essence, parameters) => {
    expect(parseMediaType(text)).toMatchObject({ essence, parameters });
  });

  it.each([
    "image/png;x=,text/html",
    "image/png\r\nx-evil: 1",
    "image/png\n",
    "image/png\u0000",
    "image/png x",
    "image/png;a=b c",
    "image/png;a",
    "image/png;=b",
    'image/png;a="unterminated',
    "image/png;a=1;a=2",
    " image/png",
    "image/ png",
    "image",
    "/png",
    "image/",
    "image/png/x",
    "image/*",
    "*/*",
    "imagé/png",
    "",
    `a/${"b".repeat(300)}`,
  ])("refuses %j", (text) => {
    expect(parseMediaType(text)).toBeUndefined();
  });

  it("matches patterns on the parsed type and refuses parameters the pattern does not allow", () => {
    expect(mediaTypeMatches("image/*", "image/png")).toBe(true);
    expect(mediaTypeMatches("image/*", "IMAGE/PNG")).toBe(true);
    expect(mediaTypeMatches("image/*", "image/png; x=1")).toBe(false);
    expect(mediaTypeMatches("image/*", "image/png;x=,text/html")).toBe(false);
    expect(mediaTypeMatches("image/*", "text/html")).toBe(false);
    expect(mediaTypeMatches("*/*", "text/html")).toBe(true);
    expect(mediaTypeMatches("text/plain; charset=utf-8", "text/plain; charset=UTF-8")).toBe(true);
    expect(mediaTypeMatches("text/plain; charset=utf-8", "text/plain; charset=latin1")).toBe(false);
    expect(mediaTypeMatches("text/plain; charset=*", "text/plain; charset=latin1")).toBe(true);
    expect(mediaTypeMatches("image/png", "image/pngx")).toBe(false);
    expect(parsePattern("*/png")).toBeUndefined();
  });

  it("a pattern lies within a wider one only", () => {
    const within = (a: string, b: string) => patternWithin(parsePattern(a)!, parsePattern(b)!);
    expect(within("image/*", "image/*")).toBe(true);
    expect(within("image/png", "image/*")).toBe(true);
    expect(within("image/*", "*/*")).toBe(true);
    expect(within("*/*", "image/*")).toBe(false);
    expect(within("image/*", "image/png")).toBe(false);
    expect(within("text/plain; charset=*", "text/plain; charset=utf-8")).toBe(false);
  });

  it("safeMediaType never lets a header-breaking value through", () => {
    expect(safeMediaType("text/plain\r\nset-cookie: x")).toBe("application/octet-stream");
    expect(safeMediaType("text/plain")).toBe("text/plain");
  });

  it("property: whatever parses has no control character and matches its own essence", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const parsed = parseMediaType(text);
        if (parsed === undefined) return;
        // eslint-disable-next-line no-control-regex
        expect(text).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\uffff,]/);
        expect(
          matchesPattern(parsePattern(`${parsed.type}/*`)!, { ...parsed, parameters: [] }),
        ).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("presign refuses a smuggled second type and CR/LF in contentType and responseContentType", () => {
    const now = new Date();
    const base = { bucket: "b", key: "k" };
    for (const contentType of ["image/png;x=,text/html", "text/plain\r\nx: y"]) {
      expect(() => normalizeScope({ ...base, method: "PUT", contentType }, now)).toThrow(
        /contentType/,
      );
      expect(() =>
        normalizeScope({ ...base, method: "GET", responseContentType: contentType }, now),
      ).toThrow(/responseContentType/);
    }
    expect(() =>
      normalizeScope({ ...base, method: "POST", contentType: "image/*;x=,text/html" }, now),
    ).toThrow(/contentType/);
    expect(normalizeScope({ ...base, method: "POST", contentType: "image/*" }, now)).toBeTruthy();
  });
});
