/**
 * The check both SDKs make of a resume state they read back (the browser's from wherever the
 * app kept it, the CLI's from `FILE.signet-put.json`): data from outside, trusted only when its
 * part plan is the one Signet makes. No `node:` import (the browser bundle carries it).
 */

/**
 * Whether `parts` are parts 1…n cutting `size` bytes in order, `partSize` bytes each (the last
 * shorter), with inclusive byte offsets `start` and `end`, and every number in `done` one of them.
 */
export function partsCutInOrder(
  size: number,
  partSize: unknown,
  parts: unknown,
  done: readonly unknown[],
): boolean {
  if (typeof partSize !== "number" || !Number.isSafeInteger(partSize) || partSize <= 0)
    return false;
  if (!Array.isArray(parts) || parts.length !== Math.ceil(size / partSize)) return false;
  const inOrder = (parts as { partNumber?: unknown; start?: unknown; end?: unknown }[]).every(
    (p, i) =>
      p.partNumber === i + 1 &&
      p.start === i * partSize &&
      p.end === Math.min(size, (i + 1) * partSize) - 1,
  );
  return (
    inOrder &&
    done.every((n) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= parts.length)
  );
}
