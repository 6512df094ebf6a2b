/**
 * One log line per answered request, at `info`, instead of Fastify's two ("incoming request"
 * and "request completed"): method and path (log.ts strips the query and a link's token), the
 * status, the error code when the answer is an error, the time to answer in milliseconds, and
 * who acted: the data-plane token's id and principal, or the control plane caller's id. Never
 * the token, a signature or a header. The level is SIGNET_LOG_LEVEL's, as before.
 */
import type { FastifyInstance } from "fastify";
import type { ErrorCode } from "../../core/errors.js";

declare module "fastify" {
  interface FastifyReply {
    /** the error code this answer carries, set by errors.ts's sendError */
    errorCode: ErrorCode | null;
  }
}

/** Needs Fastify's own request logging off (`disableRequestLogging: true`). */
export function registerRequestLog(app: FastifyInstance): void {
  app.decorateReply("errorCode", null);
  app.addHook("onResponse", (request, reply, done) => {
    const claims = request.dataUse?.claims;
    request.log.info(
      {
        req: request,
        status: reply.statusCode,
        code: reply.errorCode ?? undefined,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        tokenId: claims?.i,
        principal: claims?.p ?? request.principal?.id,
      },
      "request",
    );
    done();
  });
}
