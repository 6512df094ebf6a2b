/**
 * Links: URLs Signet verifies itself, which give every backend folder scope, IP limits,
 * revocation and per-use audit. `/l/{token}` is one object, `/s/{token}/{rest}` a folder
 * (`rest` relative to it). In redirect mode Signet answers with a direct URL of at most 60
 * seconds that carries every request-level constraint; in proxy mode it streams the bytes
 * both ways and enforces everything itself.
 */
import type { Readable } from "node:stream";
import type { Backend, DirectRequest, DirectScope, ObjectInfo } from "../backends/types.js";
import { scopeClaims } from "../core/direct-scope.js";
import { requiredHeaders } from "../core/constraints.js";
import type { Method } from "../core/methods.js";
import { signToken } from "../core/token.js";
import { trimSlash } from "../core/urls.js";
import type { BlobFiles, WriteLimits } from "../store/blobs.js";
import {
  type CommitGuard,
  conditionHolds,
  preconditionFailed,
  type WriteCondition,
} from "../store/embedded.js";
import type { KeyringService } from "./keyring.js";
import { extend } from "../core/extend.js";

/** The longest life of a redirect link's 302/307 target (a direct URL), in seconds. */
export const REDIRECT_MAX_SECONDS = 60;

/**
 * What a provider may leave unbound in a link's scope while the link can still redirect:
 * Signet checks these itself before answering, and each redirect target is built for one
 * object and one method and checked again (Issuance.redirect proxies when it cannot be direct).
 * Anything a request itself carries (range, length, type, checksum, IP, headers, response
 * overrides) makes the link a proxy.
 */
export const REDIRECT_SAFE: ReadonlySet<string> = new Set([
  "folder",
  "notBefore",
  "revocable",
  "methods",
  "expiresAt",
]);

export const linkMode = (unbound: string[]): "r" | "p" =>
  unbound.every((name) => REDIRECT_SAFE.has(name)) ? "r" : "p";

export class LinkService {
  constructor(
    private readonly keyring: KeyringService,
    private readonly publicUrl: () => string,
    private readonly spool: BlobFiles,
  ) {}

  /** A link for a checked scope; `mode` is fixed into the token. */
  sign(scope: DirectScope, mode: "r" | "p"): DirectRequest {
    const { token } = signToken(this.keyring.current, extend(scopeClaims(scope), { l: mode }));
    const base = trimSlash(this.publicUrl());
    const [method, ...more] = scope.methods as [Method, ...Method[]];
    const headers = requiredHeaders(scope.constraints);
    const request: DirectRequest =
      scope.key !== undefined
        ? { url: `${base}/l/${token}`, method, headers }
        : {
            url: `${base}/s/${token}/`,
            method,
            headers,
            objectUrlTemplate: `${base}/s/${token}/{key}`,
          };
    if (more.length > 0) request.methods = scope.methods;
    return request;
  }

  /**
   * A proxied upload: the body is spooled to a temp file while its length, type and checksum
   * are checked, and only a body that passed goes to the backend.
   */
  async proxyPut(
    backend: Backend,
    key: string,
    body: Readable,
    contentType: string,
    limits: WriteLimits,
    checks: { condition?: WriteCondition; guard: CommitGuard },
  ): Promise<ObjectInfo> {
    const spooled = await this.spool.write(body, limits);
    let bytes: Readable | undefined;
    try {
      // The body is in: what held when the request began (preconditions, no file at the key,
      // the token not revoked) must hold now, atomically with the write where the backend can.
      const atomic = backend.capabilities.conditionalWrites;
      if (!atomic) {
        await checks.guard();
        if (!conditionHolds(checks.condition, await backend.head(key))) throw preconditionFailed();
      }
      bytes = await this.spool.read(spooled.blobId, { start: 0, end: spooled.size - 1 });
      return await backend.put(key, bytes, {
        contentType,
        contentLength: spooled.size,
        ...(atomic ? checks : {}),
      });
    } finally {
      // A backend that refused before reading it all: the spooled file is closed here.
      bytes?.destroy();
      await this.spool.remove(spooled.blobId);
    }
  }
}
