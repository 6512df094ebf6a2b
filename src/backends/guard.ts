/**
 * Every backend the registry opens is guarded: an error thrown by one of its provider calls, or
 * raised later inside the body stream `get` answered (a reset or a timeout mid-download),
 * reaches the service layer only as a SignetError from the one table in provider-errors.ts.
 * Signing (presign, unbound) is pure and passes through untouched.
 */
import { PassThrough, type Readable } from "node:stream";
import { providerError } from "./provider-errors.js";
import type { Backend } from "./types.js";

/** The Backend members that call the provider (their errors are mapped). */
const CALLS = new Set<string | symbol>([
  "head",
  "get",
  "put",
  "delete",
  "promote",
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

/**
 * The provider's body stream with its errors mapped: the bytes pass through (with backpressure)
 * and the provider's stream is destroyed when the reader goes away.
 */
export function mappedBody(provider: string, body: Readable): Readable {
  const out = new PassThrough();
  // `on`, not `once`: a provider stream may error again while it is torn down
  body.on("error", (err) => out.destroy(providerError(provider, err)));
  out.once("close", () => body.destroy());
  return body.pipe(out);
}

/** `get` answers a body stream (or undefined), whose later errors are mapped too. */
type Got = { body: Readable } | undefined;

const mapped =
  (provider: string, target: object, fn: (...args: unknown[]) => unknown, streams: boolean) =>
  async (...args: unknown[]) => {
    let value: unknown;
    try {
      value = await fn.apply(target, args);
    } catch (err) {
      throw providerError(provider, err);
    }
    const got = value as Got;
    return streams && got !== undefined ? { ...got, body: mappedBody(provider, got.body) } : value;
  };

/** A view of `object` whose calls named in `calls` map their errors; `this` stays the target. */
function guardCalls<T extends object>(
  provider: string,
  object: T,
  calls: Set<string | symbol>,
  nested: Record<string, Set<string | symbol>> = {},
): T {
  // What each member was last read as, and its view: issuance reads several members per URL
  // (presign, unbound, revocation…), which would otherwise bind or wrap them afresh each time.
  const views = new Map<string | symbol, { value: unknown; view: unknown }>();
  const viewOf = (target: T, prop: string | symbol, value: unknown): unknown => {
    if (typeof value === "function")
      return calls.has(prop)
        ? mapped(provider, target, value as (...args: unknown[]) => unknown, prop === "get")
        : (value as (...args: unknown[]) => unknown).bind(target);
    const inner = typeof prop === "string" ? nested[prop] : undefined;
    if (inner !== undefined && value !== null && typeof value === "object")
      return guardCalls(provider, value, inner);
    return value;
  };
  return new Proxy(object, {
    get(target, prop) {
      // read with the target as receiver: backends keep state in #private fields
      const value: unknown = Reflect.get(target, prop, target);
      if (value === null || (typeof value !== "function" && typeof value !== "object"))
        return value;
      const seen = views.get(prop);
      if (seen !== undefined && seen.value === value) return seen.view;
      const view = viewOf(target, prop, value);
      views.set(prop, { value, view });
      return view;
    },
  });
}

/** The backend with every provider call's errors mapped to the API's (see provider-errors.ts). */
export function guarded(backend: Backend): Backend {
  return guardCalls(backend.kind, backend, CALLS, NESTED_CALLS);
}
