/** How `signet get` cuts an object into parts (src/client/download.ts). */
import { describe, expect, it } from "vitest";
import { defaultPartSize, planRanges } from "../../src/client/download.js";

const MIB = 1024 * 1024;

describe("download part size", () => {
  it("is a 32nd of the object in whole MiB, from 1 to 64 MiB", () => {
    expect(defaultPartSize(0)).toBe(MIB);
    expect(defaultPartSize(300 * 1024)).toBe(MIB);
    expect(defaultPartSize(256 * MIB)).toBe(8 * MIB);
    expect(defaultPartSize(256 * MIB + 1)).toBe(9 * MIB);
    expect(defaultPartSize(64 * 1024 * MIB)).toBe(64 * MIB);
  });

  it("grows past 64 MiB only to stay within 10,000 parts", () => {
    const size = 1024 * 1024 * 1024 * MIB; // 1 PiB
    const partSize = defaultPartSize(size);
    expect(partSize).toBeGreaterThan(64 * MIB);
    expect(planRanges(size, partSize).length).toBeLessThanOrEqual(10_000);
  });

  it("plans contiguous inclusive ranges, the last one shorter", () => {
    expect(planRanges(10, 4)).toEqual([
      { partNumber: 1, start: 0, end: 3 },
      { partNumber: 2, start: 4, end: 7 },
      { partNumber: 3, start: 8, end: 9 },
    ]);
  });
});
