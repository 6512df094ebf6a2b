/** POST /v1/presign, /v1/presign/batch and /v1/presign/parts. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { METHODS } from "../../core/methods.js";
import { parser } from "../../core/schema.js";
import type { PartPlanInput, PresignInput } from "../../service/presign.js";
import type { Signet } from "../../service/signet.js";
import { sendJsonBytes } from "../json-bytes.js";
import { principalOf } from "../plugins/auth.js";

export const MAX_BATCH = 1000;

export const MethodSchema = Type.Union(METHODS.map((m) => Type.Literal(m)));
export const IpSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 64 }),
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
]);

/** Everything a single scope can say; contradictions are checked by core/scope-request.ts. */
const scopeFields = {
  bucket: Type.String({ minLength: 1, maxLength: 63 }),
  key: Type.Optional(Type.String()),
  expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
  notBefore: Type.Optional(Type.String({ maxLength: 64 })),
  contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  contentLength: Type.Optional(Type.Integer({ minimum: 0 })),
  contentLengthRange: Type.Optional(
    Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]),
  ),
  checksumSha256: Type.Optional(Type.String({ maxLength: 64 })),
  headers: Type.Optional(
    Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 1024 }), {
      maxProperties: 32,
    }),
  ),
  responseContentDisposition: Type.Optional(Type.String({ maxLength: 1024 })),
  responseContentType: Type.Optional(Type.String({ maxLength: 255 })),
  ip: Type.Optional(IpSchema),
  referrers: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 32 }),
  ),
  delivery: Type.Optional(
    Type.Union([Type.Literal("direct"), Type.Literal("link"), Type.Literal("auto")]),
  ),
  revocable: Type.Optional(Type.Boolean()),
  upsert: Type.Optional(Type.Boolean()),
  /** answer a short `/u/{id}` URL standing for the signed one */
  short: Type.Optional(Type.Boolean()),
};

export const PresignBody = Type.Object(
  {
    ...scopeFields,
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    method: Type.Optional(MethodSchema),
    methods: Type.Optional(Type.Array(MethodSchema, { maxItems: 6 })),
    range: Type.Optional(Type.String({ maxLength: 64 })),
    successActionStatus: Type.Optional(
      Type.Union([Type.Literal(200), Type.Literal(201), Type.Literal(204)]),
    ),
    successActionRedirect: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);

const PartsBody = Type.Object(
  {
    ...scopeFields,
    key: Type.String(),
    partSize: Type.Optional(Type.Integer({ minimum: 1 })),
    parts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false, oneOf: [{ required: ["partSize"] }, { required: ["parts"] }] },
);

const BatchBody = Type.Object(
  { requests: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false },
);

const parsePresign = parser(PresignBody) as (raw: unknown) => PresignInput;

export async function presignRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/presign", { schema: { body: PresignBody } }, async (request) =>
    signet.presign.presign(principalOf(request), request.body as PresignInput, { ip: request.ip }),
  );

  // The two answers that can hold thousands of signed requests go out as bytes (json-bytes.ts).
  app.post("/v1/presign/batch", { schema: { body: BatchBody } }, async (request, reply) => {
    const { requests } = request.body as { requests: unknown[] };
    const results = await signet.presign.presignBatch(
      principalOf(request),
      requests,
      parsePresign,
      { ip: request.ip },
    );
    return sendJsonBytes(reply, { results });
  });

  app.post("/v1/presign/parts", { schema: { body: PartsBody } }, async (request, reply) => {
    const input = request.body as PartPlanInput;
    const plan = await signet.presign.parts(principalOf(request), input, { ip: request.ip });
    return sendJsonBytes(reply, plan);
  });
}
