/** Bearer authentication for the control plane. */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SignetError } from "../../core/errors.js";
import { isAdmin, type Principal } from "../../core/principal.js";
import type { Signet } from "../../service/signet.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The caller's principal, or 401 (429 when throttled): the path that may read or refuse. */
async function verify(signet: Signet, request: FastifyRequest, presented: string | undefined) {
  if (presented === undefined)
    throw new SignetError("unauthorized", "an Authorization: Bearer credential is required");
  return signet.auth.authenticate(presented, request.ip);
}

/**
 * An onRequest hook that sets request.principal or answers 401 (429 when throttled). A callback
 * hook: a kept, good API key is accepted with no promise at all (Authenticator.cached). Either
 * way the request goes on a microtask later, as from an async hook: inside the HTTP parser's
 * callback the body has not been parsed yet, so an answer there would come before the parser's
 * own verdict on the bytes that follow the headers (a malformed chunked body is its 400, not a
 * 401), and the control plane's body deadline (limits.ts) would arm a timer for a body that is
 * already in hand.
 */
export const authenticate =
  (signet: Signet) =>
  (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const presented = bearerOf(request);
    const known = presented === undefined ? undefined : signet.auth.cached(presented);
    if (known !== undefined) {
      request.principal = known;
      queueMicrotask(done);
      return;
    }
    verify(signet, request, presented).then((principal) => {
      request.principal = principal;
      done();
    }, done);
  };

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new SignetError("unauthorized", "not authenticated");
  return request.principal;
}

/** Admin-only routes: others get 403 naming the rule. */
export async function requireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!isAdmin(principalOf(request)))
    throw new SignetError("forbidden", "this route needs the admin role");
}
