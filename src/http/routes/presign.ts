/** POST /v1/presign and /v1/presign/batch. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { MEDIA_TYPE } from "../../core/constraints.js";
import { OBJECT_METHODS } from "../../core/methods.js";
import { parser } from "../../core/schema.js";
import type { PresignInput } from "../../service/presign.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

export const MAX_BATCH = 1000;

export const PresignBody = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 63 }),
    key: Type.String(),
    method: Type.Union(OBJECT_METHODS.map((m) => Type.Literal(m))),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
    contentType: Type.Optional(Type.String({ maxLength: 255, pattern: MEDIA_TYPE.source })),
    contentLength: Type.Optional(Type.Integer({ minimum: 0 })),
    ip: Type.Optional(
      Type.Union([
        Type.String({ minLength: 1, maxLength: 64 }),
        Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
      ]),
    ),
  },
  { additionalProperties: false },
);

const BatchBody = Type.Object(
  { requests: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false },
);

const parsePresign = parser(PresignBody) as (raw: unknown) => PresignInput;

export async function presignRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/presign", { schema: { body: PresignBody } }, async (request, reply) => {
    const signed = await signet.presign.presign(principalOf(request), request.body as PresignInput);
    return reply.code(200).send(signed);
  });

  app.post("/v1/presign/batch", { schema: { body: BatchBody } }, async (request) => {
    const { requests } = request.body as { requests: unknown[] };
    return {
      results: await signet.presign.presignBatch(principalOf(request), requests, parsePresign),
    };
  });
}
