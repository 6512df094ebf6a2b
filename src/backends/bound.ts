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
