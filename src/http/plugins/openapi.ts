/**
 * OpenAPI for the control plane, generated from the routes' own schemas (so docs and
 * validation cannot drift): the document at /docs/json, a browsable page at /docs.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { documentAll } from "../openapi-catalog.js";

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Signet",
        description: "Short-lived, tightly scoped signed URLs for blob storage",
        version: "0.1.0",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    // The data plane (/o, /l, /s) is addressed by signed URLs, not by this API.
    hideUntagged: false,
    // Summaries, replies, errors and security come from one catalog (see openapi-catalog.ts).
    transformObject: (documents) =>
      "openapiObject" in documents ? documentAll(documents.openapiObject) : documents.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
