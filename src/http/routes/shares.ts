/** Share links: POST /v1/shares, GET /v1/shares, DELETE /v1/shares/{id}. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { TOKEN_ID_PATTERN, TOKEN_ID_SHAPE } from "../../core/token.js";
import type { Signet } from "../../service/signet.js";
import type { ShareInput } from "../../api/types.js";
import { principalOf } from "../plugins/auth.js";
import { IpSchema, MethodSchema } from "./presign.js";

const ShareBody = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 63 }),
    prefix: Type.String({ maxLength: 1024 }),
    methods: Type.Array(MethodSchema, { minItems: 1, maxItems: 6 }),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
    ip: Type.Optional(IpSchema),
    mode: Type.Optional(Type.Union([Type.Literal("redirect"), Type.Literal("proxy")])),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({
  id: Type.String({ pattern: TOKEN_ID_PATTERN, description: TOKEN_ID_SHAPE }),
});

export async function shareRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/shares", { schema: { body: ShareBody } }, async (request, reply) =>
    reply
      .code(201)
      .send(
        await signet.shares.create(principalOf(request), request.body as ShareInput, request.ip),
      ),
  );
  app.get("/v1/shares", { schema: { querystring: ListQuery } }, async (request) => {
    const query = request.query as { cursor?: string; limit?: number };
    return signet.shares.list(principalOf(request), {
      cursor: query.cursor,
      limit: query.limit ?? 100,
    });
  });
  app.delete("/v1/shares/:id", { schema: { params: IdParams } }, async (request, reply) => {
    await signet.shares.delete(principalOf(request), (request.params as { id: string }).id);
    return reply.code(204).send();
  });
}
