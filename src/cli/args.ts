/** Parsers for the CLI's arguments (commander's `InvalidArgumentError` names what was expected). */
import { InvalidArgumentError } from "commander";
import { parseDuration } from "../core/duration.js";

/** "bucket/path/to/key" → ["bucket", "path/to/key"] */
export function target(text: string): [string, string] {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1)
    throw new InvalidArgumentError("expected BUCKET/KEY");
  return [text.slice(0, slash), text.slice(slash + 1)];
}

/** "bucket/folder/" → ["bucket", "folder/"]; "bucket/" or "bucket" → the whole bucket. */
export function folderTarget(text: string): [string, string] {
  const slash = text.indexOf("/");
  if (slash === 0) throw new InvalidArgumentError("expected BUCKET/PREFIX/");
  if (slash < 0) return [text, ""];
  return [text.slice(0, slash), text.slice(slash + 1)];
}

export function seconds(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A duration as `seconds` takes it, or 0 (0s, 0m …) for never. */
export function secondsOrNever(text: string): number {
  return /^\s*0+[smhd]?\s*$/.test(text) ? 0 : seconds(text);
}

export function oneOf<T extends string>(allowed: readonly T[], text: string): T {
  const upper = text.trim().toUpperCase();
  if (!(allowed as readonly string[]).includes(upper))
    throw new InvalidArgumentError(`expected one of ${allowed.join(", ")}`);
  return upper as T;
}

export function lowerOneOf<T extends string>(allowed: readonly T[], text: string): T {
  const lower = text.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(lower))
    throw new InvalidArgumentError(`expected one of ${allowed.join(", ")}`);
  return lower as T;
}

/** Decimal digits only ("1e3" and "0x2" are refused), a safe integer of at least `min`. */
export function integer(text: string, min = 0): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min)
    throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
  return value;
}

/** "1048576", "8MiB", "5MB", "64k" → bytes. */
export function byteSize(text: string): number {
  const match = /^(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(text.trim());
  if (match === null) throw new InvalidArgumentError("expected a size like 8388608 or 8MiB");
  const unit = match[2]!.toLowerCase();
  const power = unit.startsWith("k") ? 1 : unit.startsWith("m") ? 2 : unit.startsWith("g") ? 3 : 0;
  const base = unit.endsWith("ib") || unit.length === 1 ? 1024 : 1000;
  const bytes = Number(match[1]) * base ** power;
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError("expected at most 8 PiB");
  return bytes;
}

export function port(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new InvalidArgumentError("expected a port number");
  return value;
}

/** "MIN..MAX" → [MIN, MAX] */
export function lengthRange(text: string): [number, number] {
  const match = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  if (match === null) throw new InvalidArgumentError("expected MIN..MAX");
  return [Number(match[1]), Number(match[2])];
}

/** "name: value" (repeatable) → { name: value } with a lower-case name. */
export function header(
  text: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError("expected NAME: VALUE");
  return { ...previous, [text.slice(0, colon).trim().toLowerCase()]: text.slice(colon + 1).trim() };
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Comma-separated, each one of `allowed`. */
export const listOf =
  <T extends string>(allowed: readonly T[]) =>
  (text: string) =>
    text.split(",").map((m) => oneOf(allowed, m));

/** Comma-separated, each one of `allowed` (lower-case words: read,write). */
export const lowerListOf =
  <T extends string>(allowed: readonly T[]) =>
  (text: string) =>
    text.split(",").map((m) => lowerOneOf(allowed, m));

/** A number of seconds above 0 (fractions allowed): "2", "0.5". */
export function positiveSeconds(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError("expected a number of seconds above 0");
  return value;
}

/**
 * An ISO 8601 time: a full one with its zone ("2026-05-01T12:00:00Z") as written, a date or a
 * time without a zone ("2026-05-01", "2026-05-01T12:00") as its instant in UTC's form.
 */
/**
 * A time as ISO 8601 text: given as one (`2026-05-01T12:00:00Z`, a date alone is its midnight
 * UTC), or as a duration before now (`15m`, `2h`, `7d`: what `--expires` takes).
 */
export function isoTime(text: string): string {
  const trimmed = text.trim();
  if (/^\d+[smhd]?$/.test(trimmed))
    return new Date(Date.now() - seconds(trimmed) * 1000).toISOString();
  const ms = /^\d{4}-\d{2}-\d{2}([T ]|$)/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(
      "expected an ISO 8601 time like 2026-05-01T12:00:00Z, or a duration before now like 15m",
    );
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(trimmed)
    ? trimmed
    : new Date(ms).toISOString();
}

/** `[{"partNumber":1,"etag":"…"},…]`: the parts of a multipart upload, as complete takes them. */
export function partList(text: string): { partNumber: number; etag: string }[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (p: { partNumber?: unknown; etag?: unknown } | null) =>
        typeof p === "object" &&
        p !== null &&
        Number.isSafeInteger(p.partNumber) &&
        (p.partNumber as number) >= 1 &&
        typeof p.etag === "string",
    );
  if (!valid)
    throw new InvalidArgumentError('expected a JSON array like [{"partNumber":1,"etag":"…"}]');
  return (value as { partNumber: number; etag: string }[]).map(({ partNumber, etag }) => ({
    partNumber,
    etag,
  }));
}

/**
 * The file name `signet get URL` writes to without `-o`, as `curl -O` picks it: the URL path's
 * last segment, percent-decoded (left as it is when its escapes are malformed); "download" when
 * the path ends in a slash or the segment is `.` or `..` (a decoded `%2E%2E`).
 */
export function fileNameOfUrl(url: string): string {
  const path = new URL(url).pathname;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a malformed escape (`%zz`): the name as written
  }
  const name = decoded.slice(decoded.lastIndexOf("/") + 1);
  return name === "" || name === "." || name === ".." ? "download" : name;
}
