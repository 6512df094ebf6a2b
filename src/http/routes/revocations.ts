/** POST /v1/revocations: revoke one signed request or share by its id (its issuer or an admin). */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const Body = Type.Object(
  { tokenId: Type.String({ pattern: "^[A-Za-z0-9_-]{16}$" }) },
  { additionalProperties: false },
);

export async function revocationRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/revocations", { schema: { body: Body } }, async (request, reply) =>
    reply
      .code(201)
      .send(
        await signet.revoke.revoke(
          principalOf(request),
          (request.body as { tokenId: string }).tokenId,
        ),
      ),
  );
}
