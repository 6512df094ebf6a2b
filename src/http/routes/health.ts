import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { ReadinessChecks } from "../../service/readiness.js";

export async function healthRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const readiness = new ReadinessChecks(
    signet.db,
    signet.limiters,
    signet.config.auth?.jwt?.jwksUrl,
    signet.buckets,
    () => signet.auth.jwtKeysHeld(),
  );
  app.get("/healthz", async () => ({ status: "ok" }));
  // 200 { status: "ready", checks } or 503 { status: "unavailable", checks }, check by check.
  app.get("/readyz", async (_request, reply) => {
    const { ready, checks } = await readiness.check();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks });
  });
}
