/** The Fastify app: control plane under /v1 (authenticated), data plane under /o, health. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { routeValidator } from "../core/schema.js";
import type { TSchema } from "@sinclair/typebox";
import type { Signet } from "../service/signet.js";
import { authenticate } from "./plugins/auth.js";
import {
  clientErrorHandler,
  frameworkErrorHandler,
  registerErrorHandling,
} from "./plugins/errors.js";
import { answerInMemoryFirst } from "./fast-get.js";
import { registerMetrics } from "./plugins/metrics.js";
import { registerOpenApi } from "./plugins/openapi.js";
import { applyLimits, controlBodyDeadline, resolveLimits, serverOptions } from "./limits.js";
import { registerRequestLog } from "./plugins/request-log.js";
import { apiKeyRoutes } from "./routes/apikeys.js";
import { auditRoutes } from "./routes/audit.js";
import { bucketKeyRoutes } from "./routes/bucket-keys.js";
import { bucketRoutes } from "./routes/buckets.js";
import { grantRoutes } from "./routes/grants.js";
import { healthRoutes } from "./routes/health.js";
import { keyRoutes } from "./routes/keys.js";
import { linkRoutes } from "./routes/links.js";
import { objectRoutes } from "./routes/objects.js";
import { presignRoutes } from "./routes/presign.js";
import { revocationRoutes } from "./routes/revocations.js";
import { shortUrlRoutes } from "./routes/short-urls.js";
import { compatPresignRoutes } from "./routes/compat-presign.js";
import { consoleRoutes } from "./routes/console.js";
import { drsRoutes } from "./routes/drs.js";
import { fenceRoutes } from "./routes/fence.js";
import { sessionRoutes } from "./routes/session.js";
import { shareRoutes } from "./routes/shares.js";
import { uploadPartRoutes } from "./routes/upload-parts.js";
import { uploadRoutes } from "./routes/uploads.js";
import { uppyRoutes } from "./routes/uppy.js";

export interface AppOptions {
  logger?: FastifyBaseLogger;
}

/**
 * Graceful shutdown: requests under way finish, and each keep-alive connection closes as
 * soon as it goes idle (Node closes only those idle at the moment close begins).
 */
function closeConnectionsAsTheyIdle(app: FastifyInstance): void {
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook("preClose", async () => {
    sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
    sweeper.unref();
  });
  app.addHook("onClose", async () => clearInterval(sweeper));
}

export async function buildApp(signet: Signet, options: AppOptions = {}): Promise<FastifyInstance> {
  const limits = resolveLimits(signet.config.limits);
  const app = Fastify({
    loggerInstance: options.logger,
    // Tokens ride in the URL; the data plane parses the raw URL itself.
    routerOptions: { maxParamLength: 16384 },
    // Timeouts, connection cap and body limit (the data plane streams bodies with no limit).
    ...serverOptions(limits),
    frameworkErrors: frameworkErrorHandler,
    // What Node's parser refuses (bad framing, 431, 408) gets the API's error shape too.
    clientErrorHandler,
    // The client address comes from the socket, or from X-Forwarded-For only through these.
    trustProxy: signet.config.trustedProxies ?? false,
    // request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    routeValidator(schema as TSchema, httpPart !== "body"),
  );
  registerErrorHandling(app);
  applyLimits(app, limits);
  registerRequestLog(app);
  closeConnectionsAsTheyIdle(app);
  const countAnswer = registerMetrics(app, signet.metrics);
  await registerOpenApi(app);
  app.decorateRequest("principal", null);
  app.decorateRequest("dataUse", null);

  await app.register(async (scope) => healthRoutes(scope, signet));
  await app.register(async (scope) => objectRoutes(scope, signet));
  await app.register(async (scope) => linkRoutes(scope, signet));
  await app.register(async (scope) => shortUrlRoutes(scope, signet));
  await app.register(async (scope) => sessionRoutes(scope, signet));
  await app.register(async (scope) => drsRoutes(scope, signet));
  await app.register(async (scope) => consoleRoutes(scope, signet));
  await app.register(async (scope) => {
    // onRequest: credentials are checked before the body is, as DESIGN.md's precedence wants.
    scope.addHook("onRequest", authenticate(signet));
    controlBodyDeadline(scope, limits);
    await presignRoutes(scope, signet);
    await keyRoutes(scope, signet);
    await auditRoutes(scope, signet);
    await apiKeyRoutes(scope, signet);
    await grantRoutes(scope, signet);
    await bucketRoutes(scope, signet);
    await bucketKeyRoutes(scope, signet);
    await shareRoutes(scope, signet);
    await revocationRoutes(scope, signet);
    await uploadRoutes(scope, signet);
    await uploadPartRoutes(scope, signet);
    await compatPresignRoutes(scope, signet);
    await fenceRoutes(scope, signet);
    await uppyRoutes(scope, signet);
  });
  answerInMemoryFirst(app, signet, countAnswer);
  return app;
}
