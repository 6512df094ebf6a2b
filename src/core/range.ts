/** Byte ranges (RFC 9110 §14): one range per request; `end` is inclusive. */

export interface ByteRange {
  start: number;
  end: number;
}

export type RangeAnswer =
  { kind: "whole" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

/**
 * Resolves a Range header against an object's size. Anything that is not one well-formed
 * byte range (several ranges, other units, garbage) is ignored, as RFC 9110 allows, and the
 * whole object is served.
 */
export function resolveRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: "whole" };
  const match = SINGLE.exec(header.trim());
  if (match === null) return { kind: "whole" };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return { kind: "unsatisfiable" };
    if (size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "whole" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end } };
}
