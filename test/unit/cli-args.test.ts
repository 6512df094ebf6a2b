/**
 * The CLI's argument parsers and how it words API refusals in its own flags
 * (src/cli/args.ts, src/cli/errors.ts).
 */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { batchInputs, batchOf } from "../../src/cli/commands.js";
import {
  byteSize,
  fileNameOfUrl,
  integer,
  isoTime,
  partList,
  secondsOrNever,
} from "../../src/cli/args.js";
import { inFlags } from "../../src/cli/errors.js";

describe("the CLI's argument parsers", () => {
  // A malformed escape crashed `signet get URL` with a raw URIError.
  it("names a URL's download as curl -O does, whatever its escapes", () => {
    expect(fileNameOfUrl("https://h/a/report%20q3.pdf?t=1")).toBe("report q3.pdf");
    expect(fileNameOfUrl("https://h/a/100%zz.bin")).toBe("100%zz.bin");
    expect(fileNameOfUrl("https://h/a/x%2F..%2Fy.txt")).toBe("y.txt");
    for (const url of ["https://h/", "https://h/a/", "https://h/a/%2E%2E", "https://h/a/%2e"])
      expect(fileNameOfUrl(url), url).toBe("download");
  });

  it("takes --stall-timeout as a duration, or 0 in any unit for never", () => {
    for (const [text, seconds] of [
      ["0", 0],
      ["00", 0],
      ["0s", 0],
      ["0m", 0],
      ["90", 90],
      ["2m", 120],
      ["30d", 2592000],
    ] as const)
      expect(secondsOrNever(text), text).toBe(seconds);
    for (const text of ["-1", "1.5", "soon", "", "1ms"])
      expect(() => secondsOrNever(text), text).toThrow(/not a (positive )?duration/);
  });

  it("takes a time as ISO 8601 or as a duration before now (audit --since 15m)", () => {
    expect(isoTime("2026-05-01T12:00:00Z")).toBe("2026-05-01T12:00:00Z");
    expect(isoTime("2026-05-01")).toBe("2026-05-01T00:00:00.000Z");
    for (const [text, seconds] of [
      ["15m", 900],
      ["2h", 7200],
      ["90", 90],
    ] as const) {
      const ago = (Date.now() - Date.parse(isoTime(text))) / 1000;
      expect(ago, text).toBeGreaterThanOrEqual(seconds - 1);
      expect(ago, text).toBeLessThan(seconds + 5);
    }
    for (const bad of ["yesterday", "-5m", "15 minutes", "0m"])
      expect(() => isoTime(bad), bad).toThrow(/ISO 8601|duration/);
  });

  it("integer takes decimal digits only, a safe integer at least min", () => {
    expect(integer("42")).toBe(42);
    expect(integer(" 7 ", 1)).toBe(7);
    for (const text of ["1e3", "0x2", "1.5", "-1", "", "abc", "9007199254740993"])
      expect(() => integer(text), text).toThrow(/expected an integer/);
    expect(() => integer("0", 1)).toThrow("expected an integer ≥ 1");
  });

  it("byteSize reads units and refuses sizes no file can have", () => {
    expect(byteSize("8MiB")).toBe(8 * 1024 * 1024);
    expect(byteSize("5MB")).toBe(5_000_000);
    expect(byteSize("64k")).toBe(65_536);
    expect(() => byteSize("99999999999999999999")).toThrow("expected at most 8 PiB");
    expect(() => byteSize("8 furlongs")).toThrow(/expected a size/);
  });

  it("partList takes a non-empty array of {partNumber ≥ 1, etag} and keeps only those fields", () => {
    expect(partList('[{"partNumber":2,"etag":"\\"e2\\"","size":5}]')).toEqual([
      { partNumber: 2, etag: '"e2"' },
    ]);
    for (const text of [
      "[]",
      "[1,2]",
      '[{"partNumber":0,"etag":"x"}]',
      '[{"partNumber":1.5,"etag":"x"}]',
      '[{"partNumber":1}]',
      "{",
      "null",
    ])
      expect(() => partList(text), text).toThrow(/expected a JSON array/);
  });

  it("batchInputs reads JSON lines or one JSON array, naming the line at fault", () => {
    const line = '{"bucket":"b","key":"k","method":"GET"}';
    expect(batchInputs(`${line}\n\n  ${line}  \n`)).toHaveLength(2);
    expect(batchInputs(`[${line}, ${line}]`)).toHaveLength(2);
    expect(() => batchInputs(`${line}\nnope`)).toThrow("line 2: not JSON");
    expect(() => batchInputs(`${line}\n[1]`)).toThrow("line 2: expected one request object");
    expect(() => batchInputs("[1, 2]")).toThrow("line 1: expected one request object");
    expect(batchInputs("\n \n")).toEqual([]);
  });
});

describe("batch calls", () => {
  it("hold at most 1,000 requests and 256 KiB of JSON, and always at least one", () => {
    const small = Array.from({ length: 2500 }, (_, i) => ({ bucket: "b", key: `k${i}` }));
    expect(batchOf(small, 0)).toHaveLength(1000);
    expect(batchOf(small, 2000)).toHaveLength(500);
    const long = Array.from({ length: 1000 }, (_, i) => ({
      bucket: "b",
      key: `${i}`.padEnd(1024, "x"),
    }));
    const first = batchOf(long, 0);
    expect(first.length).toBeGreaterThan(200);
    expect(first.length).toBeLessThan(256);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThanOrEqual(256 * 1024);
    const huge = [{ bucket: "b", key: "x".repeat(300 * 1024) }];
    expect(batchOf(huge, 0)).toHaveLength(1);
  });
});

describe("refusals in the CLI's words", () => {
  const command = new Command("grants")
    .option("--content-type <types>")
    .option("--max-size <bytes>")
    .option("--success-action-status <s>");

  it("names the flag for a field's whole path, indices included", () => {
    expect(
      inFlags("grant.require.contentTypes.0 has an invalid media type pattern", undefined, command),
    ).toBe("--content-type has an invalid media type pattern");
    expect(inFlags("successActionStatus applies only to POST", undefined, command)).toBe(
      "--success-action-status applies only to POST",
    );
    expect(inFlags("too big", "contentLengthMax", command)).toBe("too big (--max-size)");
  });
});
