/** API keys over HTTP (admin): create (the secret is shown once), list, revoke. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { PrintableName } from "../../core/schema.js";
import type { Signet } from "../../service/signet.js";
import { auditAdmin } from "../admin-audit.js";
import { requireAdmin } from "../plugins/auth.js";

export const ROLE = "^[a-z][a-z0-9_-]{0,63}$";

const CreateBody = Type.Object(
  {
    name: PrintableName(200),
    role: Type.String({ pattern: ROLE }),
    expiresIn: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 365 * 86400 })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ pattern: "^[0-9a-f]{16}$" }) });

export async function apiKeyRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post(
    "/v1/apikeys",
    { preHandler: requireAdmin, schema: { body: CreateBody } },
    async (request, reply) => {
      const { key, info } = await signet.apiKeys.create(
        request.body as { name: string; role: string; expiresIn?: number },
      );
      await auditAdmin(signet, request, "apikey.create", { id: info.id, role: info.role });
      return reply.code(201).send({ ...info, key });
    },
  );

  app.get("/v1/apikeys", { preHandler: requireAdmin }, async () => ({
    items: await signet.apiKeys.list(),
    nextCursor: null,
  }));

  app.delete(
    "/v1/apikeys/:id",
    { preHandler: requireAdmin, schema: { params: IdParams } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await signet.apiKeys.revoke(id);
      // Signet refuses the key's tokens from now on; what only a provider or a listing holds
      // is ended too (Azure stored policies, shares' revokedAt).
      await signet.revoke.principalDeleted(`key:${id}`);
      await auditAdmin(signet, request, "apikey.delete", { id });
      return reply.code(204).send();
    },
  );
}
