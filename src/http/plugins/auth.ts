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

/** A preHandler that sets request.principal or answers 401. */
export const authenticate = (signet: Signet) => async (request: FastifyRequest) => {
  const presented = bearerOf(request);
  if (presented === undefined)
    throw new SignetError("unauthorized", "an Authorization: Bearer credential is required");
  request.principal = await signet.auth.authenticate(presented, request.ip);
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
