/**
 * The constraints a scope can carry beyond method, object and time, and the names `enforcedBy`
 * reports them under. A backend says which of them its own signature binds.
 */
export interface ScopeConstraints {
  /** exact Content-Type of an upload */
  contentType?: string;
  /** exact length of an upload, in bytes */
  contentLength?: number;
  /** client address ranges (normalised CIDR strings) */
  ip?: string[];
}

export type Constraint = keyof ScopeConstraints;

export const constraintsOf = (c: ScopeConstraints): Constraint[] =>
  (Object.keys(c) as Constraint[]).filter((name) => c[name] !== undefined);

/** The media type syntax of RFC 9110 §8.3.1, parameters allowed. */
export const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;\s*[\x21-\x7e]+)*$/;
