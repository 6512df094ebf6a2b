/** Grants over HTTP (admin): create, list, delete. Config-file grants are listed, never deleted. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { type GrantInput, GrantSpecSchema } from "../../service/config.js";
import type { Signet } from "../../service/signet.js";
import { auditAdmin } from "../admin-audit.js";
import { requireAdmin } from "../plugins/auth.js";

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export async function grantRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post(
    "/v1/grants",
    { preHandler: requireAdmin, schema: { body: GrantSpecSchema } },
    async (request, reply) => {
      const input = request.body as GrantInput;
      // A grant names buckets that exist ("*": all), as every route that takes a bucket.
      for (const name of input.buckets) if (name !== "*") signet.buckets.require(name);
      const grant = await signet.grants.create(input);
      await auditAdmin(signet, request, "grant.create", { grant });
      return reply.code(201).send(grant);
    },
  );

  app.get("/v1/grants", { preHandler: requireAdmin }, async () => ({
    items: signet.grants.list(),
    nextCursor: null,
  }));

  app.delete(
    "/v1/grants/:id",
    { preHandler: requireAdmin, schema: { params: IdParams } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await signet.grants.delete(id);
      await auditAdmin(signet, request, "grant.delete", { id });
      return reply.code(204).send();
    },
  );
}
