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

/**
 * An onRequest hook that sets request.principal or answers 401 (429 when throttled). A callback
 * hook: a kept API key is checked with no promise at all (Authenticator.cached).
 */
export const authenticate =
  (signet: Signet) =>
  (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const presented = bearerOf(request);
    if (presented === undefined) {
      done(new SignetError("unauthorized", "an Authorization: Bearer credential is required"));
      return;
    }
    const known = signet.auth.cached(presented);
    if (known !== undefined) {
      request.principal = known;
      done();
      return;
    }
    signet.auth.authenticate(presented, request.ip).then((principal) => {
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
