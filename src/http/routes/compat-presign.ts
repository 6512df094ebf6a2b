/**
 * The classic AWS SDK presign example service, for clients written against it:
 * `GET /presign/{key}?method=GET|PUT&contentLength=N` on the bucket named by
 * `compat.presignBucket` answers `{ "URL", "Method", "Header" }`, Header in Go's http.Header form
 * (`{ "Content-Length": ["1024"] }`). With contentLength on PUT the length is signed, so only that
 * many bytes can be uploaded. Authenticated and granted like every other route.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { decodeKeyPath } from "../object-path.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const Query = Type.Object(
  {
    method: Type.Optional(Type.Union([Type.Literal("GET"), Type.Literal("PUT")])),
    contentLength: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** `content-length` → `Content-Length`, as Go's http.Header canonicalises names. */
const goHeaderName = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

export async function compatPresignRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const bucket = signet.config.compat?.presignBucket;
  if (bucket === undefined) return;
  app.get("/presign/*", { schema: { querystring: Query } }, async (request) => {
    const raw = request.raw.url ?? "";
    const key = decodeKeyPath(
      raw.slice("/presign/".length, raw.includes("?") ? raw.indexOf("?") : undefined),
    );
    const { method = "GET", contentLength } = request.query as {
      method?: "GET" | "PUT";
      contentLength?: number;
    };
    if (contentLength !== undefined && method !== "PUT")
      throw new SignetError("invalid_request", "contentLength applies to PUT", "contentLength");
    const signed = await signet.issuance.issue(
      principalOf(request),
      { bucket, key, method, ...(contentLength !== undefined ? { contentLength } : {}) },
      { action: "compat.presign", ip: request.ip },
    );
    return {
      URL: signed.url,
      Method: signed.method,
      Header: Object.fromEntries(
        Object.entries(signed.headers).map(([name, value]) => [goHeaderName(name), [value]]),
      ),
    };
  });
}
