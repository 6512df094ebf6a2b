/** Buckets over HTTP (admin). Only local buckets can be created here: they need no secret. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { BUCKET_NAME, type BucketShape, BucketShapeSchema } from "../../service/config.js";
import type { Signet } from "../../service/signet.js";
import { auditAdmin } from "../admin-audit.js";
import { requireAdmin } from "../plugins/auth.js";

const CreateBody = Type.Object(
  // the config is checked in full by Buckets.create, against its backend's own schema
  { name: Type.String({ pattern: BUCKET_NAME }), config: BucketShapeSchema },
  { additionalProperties: false },
);
const NameParams = Type.Object({ name: Type.String({ pattern: BUCKET_NAME }) });

export async function bucketRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post(
    "/v1/buckets",
    { preHandler: requireAdmin, schema: { body: CreateBody } },
    async (request, reply) => {
      const { name, config } = request.body as { name: string; config: BucketShape };
      const bucket = await signet.buckets.create(name, config);
      await auditAdmin(signet, request, "bucket.create", { config }, name);
      return reply.code(201).send(bucket);
    },
  );

  app.get("/v1/buckets", { preHandler: requireAdmin }, async () => ({
    items: signet.buckets.list(),
    nextCursor: null,
  }));

  app.delete(
    "/v1/buckets/:name",
    { preHandler: requireAdmin, schema: { params: NameParams } },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      await signet.buckets.delete(name);
      await auditAdmin(signet, request, "bucket.delete", {}, name);
      return reply.code(204).send();
    },
  );
}
