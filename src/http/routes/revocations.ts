/** POST /v1/revocations: revoke one signed request or share by its id (its issuer or an admin). */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { isAdmin } from "../../core/principal.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const Body = Type.Object(
  { tokenId: Type.String({ pattern: "^[A-Za-z0-9_-]{16}$" }) },
  { additionalProperties: false },
);

export async function revocationRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/revocations", { schema: { body: Body } }, async (request, reply) => {
    const principal = principalOf(request);
    const { tokenId } = request.body as { tokenId: string };
    const issuer = await signet.audit.issuerOf(tokenId);
    // A token the caller did not issue looks like no token at all.
    if (issuer === undefined || (!isAdmin(principal) && issuer !== principal.id))
      throw new SignetError("not_found", "signed request not found");
    await signet.revocations.revoke("token", tokenId);
    await signet.audit.record({ event: "revoke", principal: principal.id, tokenId });
    return reply.code(201).send({ tokenId, revokedAt: new Date().toISOString() });
  });
}
