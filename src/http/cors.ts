/**
 * CORS for the data plane, per bucket (`cors` in its config). Preflights carry no token, so
 * Signet answers them itself: an allowed origin may send every header a signed request can
 * list (the token in the URL still decides what the request may do). Answers expose ETag so
 * that browsers can complete multipart uploads.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SignetError } from "../core/errors.js";
import type { Bucket } from "../service/buckets.js";

export interface CorsConfig {
  origins: string[];
  methods?: string[];
  headers?: string[];
  maxAgeSeconds?: number;
}

const DEFAULT_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"];
const EXPOSED =
  "ETag, Content-Length, Content-Range, Content-Type, Content-Disposition, Last-Modified";

function allowsOrigin(cors: CorsConfig, origin: string): boolean {
  return cors.origins.includes("*") || cors.origins.includes(origin);
}

/** Answers a preflight for `bucket`, or refuses it (403) when its CORS config does not allow it. */
export function answerPreflight(
  request: FastifyRequest,
  reply: FastifyReply,
  bucket: Bucket | undefined,
): FastifyReply {
  const origin = request.headers.origin;
  const method = request.headers["access-control-request-method"];
  const cors = bucket?.config.cors;
  const methods = cors?.methods ?? DEFAULT_METHODS;
  if (
    origin === undefined ||
    method === undefined ||
    cors === undefined ||
    !allowsOrigin(cors, origin) ||
    !methods.includes(method)
  )
    throw new SignetError(
      "forbidden",
      "CORS: this origin or method is not allowed for this bucket",
    );
  const asked = request.headers["access-control-request-headers"];
  const headers =
    cors.headers === undefined
      ? asked
      : [
          ...new Set([
            ...cors.headers,
            ...(asked ?? "")
              .split(",")
              .map((h) => h.trim())
              .filter(Boolean),
          ]),
        ].join(", ");
  reply.headers({
    "access-control-allow-origin": origin,
    "access-control-allow-methods": methods.join(", "),
    "access-control-max-age": String(cors.maxAgeSeconds ?? 600),
    vary: "Origin",
  });
  if (headers) reply.header("access-control-allow-headers", headers);
  return reply.code(204).send();
}

/** Adds the CORS answer headers to a data-plane response when its bucket allows the origin. */
export function addCorsHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  bucket: Bucket | undefined,
): void {
  const origin = request.headers.origin;
  const cors = bucket?.config.cors;
  if (origin === undefined || cors === undefined || !allowsOrigin(cors, origin)) return;
  reply.headers({
    "access-control-allow-origin": origin,
    "access-control-expose-headers": EXPOSED,
    vary: "Origin",
  });
}
