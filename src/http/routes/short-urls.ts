/**
 * `/u/{id}`: a short URL (issued with `short: true`) redirects to the signed request it stands
 * for: 302 for GET and HEAD, 307 otherwise (the method and body are kept). Expired, revoked and
 * unknown ids are refused like tokens. Every use, allowed or refused, is audited.
 */
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";
import { asSignetError } from "../plugins/errors.js";
import { dataPlaneBasics } from "./objects.js";
import { extend } from "../../core/extend.js";

export async function shortUrlRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  dataPlaneBasics(app, signet);
  app.route({
    method: ["GET", "HEAD", "PUT", "POST", "DELETE"],
    url: "/u/:id",
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const use = { event: "short.use", method: request.method, ip: request.ip };
      let tokenId: string | null = null;
      try {
        const row = await signet.shortUrls.find((request.params as { id: string }).id);
        tokenId = row.token_id;
        const url = signet.shortUrls.target(row);
        const code = request.method === "GET" || request.method === "HEAD" ? 302 : 307;
        await signet.audit.record(extend(use, { tokenId, status: code }));
        return reply.code(code).header("location", url).header("cache-control", "no-store").send();
      } catch (err) {
        const refusal = asSignetError(err);
        await signet.audit.record({
          ...use,
          tokenId,
          status: refusal.status,
          reason: refusal.code,
        });
        throw refusal;
      }
    },
  });
}
