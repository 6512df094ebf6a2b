/**
 * Every backend the registry opens is guarded: an error thrown by one of its provider calls
 * reaches the service layer only as a SignetError from the one table in provider-errors.ts.
 * Signing (presign, unbound) is pure and passes through untouched.
 */
import { providerError } from "./provider-errors.js";
import type { Backend } from "./types.js";

/** The Backend members that call the provider (their errors are mapped). */
const CALLS = new Set<string | symbol>([
  "head",
  "get",
  "put",
  "delete",
  "list",
  "createMultipart",
  "listParts",
  "completeMultipart",
  "abortMultipart",
]);
const NESTED_CALLS: Record<string, Set<string | symbol>> = {
  revocation: new Set(["prepare", "revoke"]),
  keyRotation: new Set(["rotateKey", "retireKey"]),
};

const mapped =
  (provider: string, target: object, fn: (...args: unknown[]) => unknown) =>
  async (...args: unknown[]) => {
    try {
      return await fn.apply(target, args);
    } catch (err) {
      throw providerError(provider, err);
    }
  };

/** A view of `object` whose calls named in `calls` map their errors; `this` stays the target. */
function guardCalls<T extends object>(
  provider: string,
  object: T,
  calls: Set<string | symbol>,
  nested: Record<string, Set<string | symbol>> = {},
): T {
  return new Proxy(object, {
    get(target, prop) {
      // read with the target as receiver: backends keep state in #private fields
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value === "function")
        return calls.has(prop)
          ? mapped(provider, target, value as (...args: unknown[]) => unknown)
          : (value as (...args: unknown[]) => unknown).bind(target);
      const inner = typeof prop === "string" ? nested[prop] : undefined;
      if (inner !== undefined && value !== null && typeof value === "object")
        return guardCalls(provider, value, inner);
      return value;
    },
  });
}

/** The backend with every provider call's errors mapped to the API's (see provider-errors.ts). */
export function guarded(backend: Backend): Backend {
  return guardCalls(backend.kind, backend, CALLS, NESTED_CALLS);
}
