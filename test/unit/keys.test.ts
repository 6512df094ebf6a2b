import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { assertValidKey, inFolder, keyProblem, toFolder } from "../../src/core/keys.js";

describe("key rule", () => {
  it.each([
    ["a", undefined],
    ["reports/2026/q3.pdf", undefined],
    ["ünïcødé/名前 with spaces.txt", undefined],
    ["", "key is empty"],
    ["/abs", "key starts with /"],
    ["dir/", "key ends with /"],
    ["a//b", "key has an empty segment"],
    ["a/./b", "key has a '.' segment"],
    ["../etc/passwd", "key has a '..' segment"],
    ["a/..", "key has a '..' segment"],
    ["nul\u0000byte", "key contains a control character"],
    ["tab\there", "key contains a control character"],
    ["del\u007f", "key contains a control character"],
    ["c1\u0085", "key contains a control character"],
    ["lone\ud800surrogate", "key is not valid UTF-8 (lone surrogate)"],
  ])("%j → %s", (key, problem) => {
    expect(keyProblem(key)).toBe(problem);
  });

  it("measures length in UTF-8 bytes, up to 1,024", () => {
    expect(keyProblem("a".repeat(1024))).toBeUndefined();
    expect(keyProblem("a".repeat(1025))).toMatch(/longer than 1024 bytes/);
    expect(keyProblem("é".repeat(512))).toBeUndefined(); // 1,024 bytes
    expect(keyProblem("é".repeat(513))).toMatch(/longer/);
  });

  it("finds a bad segment or an overlong key wherever it is (beside the plain rule)", () => {
    // The rule as it reads, without keyProblem's shortcuts (one scan, no count for short keys).
    const plain = (key: string): string | undefined => {
      if (Buffer.byteLength(key, "utf8") > 1024) return "long";
      if (key.startsWith("/") || key.endsWith("/")) return "slash";
      return key.split("/").some((s) => s === "" || s === "." || s === "..")
        ? "segment"
        : undefined;
    };
    const kind = (problem: string | undefined) =>
      problem === undefined
        ? undefined
        : /longer/.test(problem)
          ? "long"
          : /starts|ends/.test(problem)
            ? "slash"
            : "segment";
    const piece = fc.constantFrom("/", ".", "..", "a", "é", "😀", "\u0800".repeat(100));
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 40 }), (pieces) => {
        const key = pieces.join("");
        expect(kind(keyProblem(key))).toBe(plain(key));
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps keys exactly as given: no Unicode normalisation", () => {
    const nfc = "caf\u00e9";
    const nfd = "cafe\u0301";
    expect(assertValidKey(nfc)).toBe(nfc);
    expect(assertValidKey(nfd)).toBe(nfd);
    expect(nfc).not.toBe(nfd);
  });

  it("throws invalid_key naming the field", () => {
    expect(() => assertValidKey("a//b", "key")).toThrowError(
      expect.objectContaining({ code: "invalid_key", field: "key" }),
    );
  });
});

describe("folder rule", () => {
  it("turns p into p/ and keeps the empty prefix empty", () => {
    expect(toFolder("p")).toBe("p/");
    expect(toFolder("p/")).toBe("p/");
    expect(toFolder("a/b")).toBe("a/b/");
    expect(toFolder("")).toBe("");
  });

  it("refuses prefixes that are not keys", () => {
    for (const bad of ["/p", "p//", "..", "a/../b", "x\u0000"])
      expect(() => toFolder(bad)).toThrowError(
        expect.objectContaining({ code: "invalid_key", field: "prefix" }),
      );
  });

  it("p matches p/o1 and p/p2/o3, never o4 or p3/o5 or p itself", () => {
    const folder = toFolder("p");
    expect(inFolder(folder, "p/o1")).toBe(true);
    expect(inFolder(folder, "p/p2/o3")).toBe(true);
    expect(inFolder(folder, "o4")).toBe(false);
    expect(inFolder(folder, "p3/o5")).toBe(false);
    expect(inFolder(folder, "p")).toBe(false);
    expect(inFolder(folder, "pp/o")).toBe(false);
  });

  it("a key is in a folder exactly when the folder plus a relative key spells it", () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,4}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        (p, k) => {
          const folder = toFolder(p.join("/"));
          const key = k.join("/");
          expect(inFolder(folder, key)).toBe(key.startsWith(`${p.join("/")}/`));
          expect(inFolder(folder, `${folder}${key}`)).toBe(true);
        },
      ),
    );
  });
});
