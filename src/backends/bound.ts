import { SignetError } from "../core/errors.js";

/**
 * A provider's presign refuses what its signature cannot bind (the service turns such scopes
 * into links first), so a constraint can never be dropped silently on the way to a URL.
 */
export function assertAllBound(unbound: string[], what: string): void {
  if (unbound.length > 0)
    throw new SignetError(
      "constraint_not_enforceable",
      `${what} cannot bind ${unbound.join(", ")}`,
      unbound[0],
    );
}

/**
 * Whether a scope's required headers make a write conditional (`If-Match`, `If-None-Match`):
 * a provider that does not enforce them itself (most do not on a presigned request, or not on
 * every method) reports `headers` unbound, and the scope becomes a link that Signet checks.
 */
export function conditionalWrite(c: { headers?: Record<string, string> }): boolean {
  return c.headers !== undefined && ("if-match" in c.headers || "if-none-match" in c.headers);
}

/**
 * What a scope asks of a form upload that a provider's POST policy cannot bind: the names (as in
 * `enforcedBy`) of its client addresses, referrers, required headers and start time.
 */
export function postUnbound(scope: {
  notBefore?: Date;
  ip?: string[];
  referrers?: string[];
  headers?: Record<string, string>;
}): string[] {
  const names: string[] = [];
  if (scope.ip !== undefined) names.push("ip");
  if (scope.referrers !== undefined) names.push("referrers");
  if (scope.headers !== undefined) names.push("headers");
  if (scope.notBefore !== undefined) names.push("notBefore");
  return names;
}
