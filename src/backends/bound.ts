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
