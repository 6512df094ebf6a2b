/**
 * The constraints a scope can carry beyond method, object and time, the names `enforcedBy`
 * reports them under, and the headers they make a client send.
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
  /**
   * origins (`https://app.example`) a request's Referer must come from; no provider binds it,
   * so only Signet enforces it (embedded store, links)
   */
  referrers?: string[];
}

export type Constraint = keyof ScopeConstraints;

export const constraintsOf = (c: ScopeConstraints): Constraint[] =>
  (Object.keys(c) as Constraint[]).filter((name) => c[name] !== undefined);

/** The headers a client must send for these constraints, exactly as signed. */
export function requiredHeaders(c: ScopeConstraints): Record<string, string> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.contentType !== undefined) headers["content-type"] = c.contentType;
  if (c.contentLength !== undefined) headers["content-length"] = String(c.contentLength);
  if (c.range !== undefined) headers.range = `bytes=${c.range.start}-${c.range.end}`;
  return headers;
}

/** The most parts a part plan or a multipart upload has (S3's and GCS's limit). */
export const MAX_PARTS = 10_000;
