/**
 * The constraints a scope can carry beyond method, object and time, the names `enforcedBy`
 * reports them under, and which of them a request itself must satisfy (the ones a redirect
 * target has to carry on its own).
 */
import type { ByteRange } from "./range.js";

export interface ScopeConstraints {
  /** exact Content-Type of an upload; for a form upload also a pattern like "image/*" */
  contentType?: string;
  /** exact length of an upload, in bytes */
  contentLength?: number;
  /** inclusive bounds on an upload's length */
  contentLengthRange?: [number, number];
  /** base64 SHA-256 an upload's bytes must have */
  checksumSha256?: string;
  /** the one byte range a download serves */
  range?: ByteRange;
  /** request headers that must be sent with exactly these values (lower-case names) */
  headers?: Record<string, string>;
  responseContentDisposition?: string;
  responseContentType?: string;
  /** client address ranges (normalised CIDR strings) */
  ip?: string[];
}

export type Constraint = keyof ScopeConstraints;

export const constraintsOf = (c: ScopeConstraints): Constraint[] =>
  (Object.keys(c) as Constraint[]).filter((name) => c[name] !== undefined);

/** What a request itself must satisfy: a 302 target may not drop any of these. */
export const REQUEST_LEVEL: ReadonlySet<Constraint> = new Set<Constraint>([
  "range",
  "contentLength",
  "contentLengthRange",
  "contentType",
  "checksumSha256",
  "ip",
  "headers",
]);

/** The media type syntax of RFC 9110 §8.3.1, parameters allowed. */
export const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;\s*[\x21-\x7e]+)*$/;

/** A media type pattern a form upload may name: "image/*" or an exact type. */
export const MEDIA_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/(\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)$/;

export function mediaTypeMatches(pattern: string, contentType: string): boolean {
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  const wanted = pattern.toLowerCase();
  return wanted.endsWith("/*") ? essence.startsWith(wanted.slice(0, -1)) : essence === wanted;
}
