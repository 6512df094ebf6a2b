/** The keyring over HTTP (admin): list, rotate (POST creates the new active key), retire. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { auditAdmin } from "../admin-audit.js";
import { requireAdmin } from "../plugins/auth.js";

const KidParams = Type.Object({ kid: Type.String({ pattern: "^k[0-9a-f]{12}$" }) });

export async function keyRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.get("/v1/keys", { preHandler: requireAdmin }, async () => ({
    items: signet.keyring.list(),
    nextCursor: null,
  }));

  app.post("/v1/keys", { preHandler: requireAdmin }, async (request, reply) => {
    const key = await signet.keyring.rotate();
    await auditAdmin(signet, request, "key.rotate", { kid: key.kid });
    return reply.code(201).send(key);
  });

  app.post(
    "/v1/keys/:kid/retire",
    { preHandler: requireAdmin, schema: { params: KidParams } },
    async (request) => {
      const { kid } = request.params as { kid: string };
      const retired = await signet.keyring.retire(kid);
      await auditAdmin(signet, request, "key.retire", { kid });
      return retired;
    },
  );
}
