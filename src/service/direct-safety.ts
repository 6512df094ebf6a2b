/**
 * What a direct URL must not do beyond its scope, whichever path signs it (presign, a link's
 * redirect target):
 * - serve active content (HTML, SVG, XML, JS) inline from the storage origin. Where the provider
 *   binds response overrides, a download is signed `attachment` unless the caller asked for a
 *   disposition with a safe `responseContentType`; an active `responseContentType`, or an inline
 *   disposition without a safe type, cannot be direct (DESIGN.md's safety rule). Where it binds
 *   none, no download can be direct (`attachment` unbound): whoever holds the URL chooses the
 *   disposition (Swift's tempurl serves `Content-Disposition: inline` for an unsigned `&inline`,
 *   over any stored disposition; tempurl.py, "With GET TempURLs"), so a link proxies it;
 * - let through methods the caller was not granted (Swift's tempurl passes HEAD with any PUT
 *   signature): those extra methods are listed, for presign to check and name in the reply.
 */
import type { Backend, DirectScope } from "../backends/types.js";
import { isActiveType, contentDisposition } from "../core/safety.js";
import { extend } from "../core/extend.js";
import type { Method } from "../core/methods.js";

export interface SafeDirect {
  /** the scope to sign: the caller's, with a forced attachment where needed */
  scope: DirectScope;
  /** constraints that make the scope unfit for a direct URL (named as in `enforcedBy`) */
  unbound: string[];
}

/** The scope a backend may sign as a direct URL, or what stops it (see the module's rules). */
export function safeDirect(backend: Backend, scope: DirectScope): SafeDirect {
  const reads = scope.methods.includes("GET");
  if (backend.capabilities.signetVerified || !reads) return { scope, unbound: [] };
  const c = scope.constraints;
  const unbound: string[] = [];
  if (c.responseContentType !== undefined && isActiveType(c.responseContentType))
    unbound.push("responseContentType");
  const safeType = c.responseContentType !== undefined && !isActiveType(c.responseContentType);
  const disposition = c.responseContentDisposition;
  if (disposition !== undefined && !/^attachment\b/i.test(disposition) && !safeType)
    unbound.push("responseContentDisposition");
  // Without bound overrides nothing can be forced, and the URL's holder may ask for inline.
  if (backend.capabilities.binds["response overrides"] === false) unbound.push("attachment");
  else if (disposition === undefined && scope.key !== undefined) {
    const forced = contentDisposition("attachment", scope.key);
    return {
      scope: { ...scope, constraints: extend(c, { responseContentDisposition: forced }) },
      unbound,
    };
  }
  return { scope, unbound };
}

/**
 * How a refusal words what a direct URL cannot bind: the names, and why for `attachment`, which
 * the caller did not ask for.
 */
export function cannotBind(unbound: readonly string[]): string {
  const why = unbound.includes("attachment")
    ? " (attachment: whoever holds its download URL can have the bytes served inline, so " +
      "downloads go through a link that Signet proxies)"
    : "";
  return `cannot bind ${unbound.join(", ")} in a direct URL${why}`;
}

/** The request field a refusal names: `delivery` when only the forced attachment is unbound. */
export const unboundField = (unbound: readonly string[]): string =>
  unbound[0] === "attachment" ? "delivery" : unbound[0]!;

/**
 * Methods a direct URL for `methods` lets through as well, beyond those asked for and those a
 * GET implies (HEAD): Swift's HEAD with a PUT signature.
 */
export function alsoAllowed(backend: Backend, methods: readonly Method[]): Method[] {
  const extra: Method[] = [];
  for (const method of methods)
    for (const also of backend.capabilities.alsoAllows[method] ?? [])
      if (
        !methods.includes(also) &&
        !(also === "HEAD" && methods.includes("GET")) &&
        !extra.includes(also)
      )
        extra.push(also);
  return extra;
}

/**
 * Why a link for `scope` could only fail at use on this backend, or undefined when it can work:
 * without credentials to proxy (a Swift bucket with only a temp URL key), every request through
 * the link must be redirectable to a direct URL for one object, which lets through nothing the
 * caller was not granted.
 */
export function linkUnservable(
  backend: Backend,
  scope: DirectScope,
  mode: "r" | "p",
  /** whether the caller's grants cover what a redirect target lets through as well */
  alsoGranted = true,
): string | undefined {
  if (backend.capabilities.proxy) return undefined;
  const why = "this bucket has no credentials for Signet to serve a link";
  if (mode === "p") return `${why} that it must proxy`;
  for (const method of scope.methods) {
    if (method === "LIST") return `${why} listing`;
    const one: DirectScope = {
      ...scope,
      methods: [method],
      key: scope.key ?? `${scope.folder ?? ""}object`,
    };
    delete one.folder;
    const { scope: signable, unbound } = safeDirect(backend, one);
    const left = [...unbound, ...backend.unbound(signable)];
    if (left.length > 0) return `${why} for ${method} (${left.join(", ")})`;
    const also = alsoAllowed(backend, [method]);
    if (also.length > 0 && !alsoGranted)
      return `${why} for ${method}: its URL would also allow ${also.join(", ")}, which the grants do not`;
  }
  return undefined;
}
