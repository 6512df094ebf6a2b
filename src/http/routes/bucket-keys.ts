/**
 * A bucket's backend keys over HTTP (admin): rotate-key sets a new generated key on the backend
 * and signs with it, retire-key removes the previous one. Replies never hold a key.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BUCKET_NAME } from "../../service/config.js";
import type { Signet } from "../../service/signet.js";
import { principalOf, requireAdmin } from "../plugins/auth.js";

const NameParams = Type.Object({ name: Type.String({ pattern: BUCKET_NAME }) });
const options = { preHandler: requireAdmin, schema: { params: NameParams } };
const nameOf = (request: FastifyRequest) => (request.params as { name: string }).name;

export async function bucketKeyRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/buckets/:name/rotate-key", options, async (request) =>
    signet.backendKeys.rotate(nameOf(request), principalOf(request).id),
  );

  app.post("/v1/buckets/:name/retire-key", options, async (request) =>
    signet.backendKeys.retire(nameOf(request), principalOf(request).id),
  );
}
