/** GET /v1/audit (admin): the audit trail, newest first. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { requireAdmin } from "../plugins/auth.js";

const AuditQuery = Type.Object(
  {
    cursor: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    tokenId: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export async function auditRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.get(
    "/v1/audit",
    { preHandler: requireAdmin, schema: { querystring: AuditQuery } },
    async (request) => {
      const query = request.query as { cursor?: number; limit?: number; tokenId?: string };
      return signet.audit.list({
        cursor: query.cursor,
        limit: query.limit ?? 100,
        tokenId: query.tokenId,
      });
    },
  );
}
