import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Signet } from "../../service/signet.js";

export async function healthRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async () => {
    await sql`select 1`.execute(signet.db);
    return { status: "ready" };
  });
}
