/** The keyring over HTTP (admin): list, rotate (POST creates the new active key), retire. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { requireAdmin } from "../plugins/auth.js";

const KidParams = Type.Object({ kid: Type.String({ pattern: "^k[0-9a-f]{12}$" }) });

export async function keyRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.get("/v1/keys", { preHandler: requireAdmin }, async () => ({
    items: signet.keyring.list(),
    nextCursor: null,
  }));

  app.post("/v1/keys", { preHandler: requireAdmin }, async (_request, reply) =>
    reply.code(201).send(await signet.keyring.rotate()),
  );

  app.post(
    "/v1/keys/:kid/retire",
    { preHandler: requireAdmin, schema: { params: KidParams } },
    async (request) => signet.keyring.retire((request.params as { kid: string }).kid),
  );
}
