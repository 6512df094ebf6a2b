/**
 * The data plane's hot path: a signed GET or HEAD on /o/{bucket}/{key} for an object whose row
 * and bytes the embedded store already holds in memory (store/cache.ts) is answered straight
 * from node:http's `request` event, without Fastify's per-request objects, hooks and child
 * logger, in one write of headers and body.
 *
 * It answers only a plain 200: every check here is one the Fastify route makes too, none has
 * a side effect, and anything else (a refusal, Range, a conditional request, CORS, a body,
 * forwarded addresses, an object not in memory) falls through to the route unanswered, which
 * judges it from the start. What an answer here still does as the route does: verify the
 * token (MAC, expiry, revocation, link or direct), check the scope (method, key, IP, referrer
 * and required headers), the bucket and its generation, a pinned version; the safety headers;
 * one audit row, one log line and the HTTP metrics per answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { ObjectInfo } from "../backends/types.js";
import { safeMediaType } from "../core/media-type.js";
import { defaultDisposition, SAFETY_HEADERS } from "../core/safety.js";
import type { ScopedRequest } from "../core/scope.js";
import type { Claims } from "../core/token.js";
import type { Signet } from "../service/signet.js";
import { parseObjectPath, single } from "./object-path.js";
import type { CountAnswer } from "./plugins/metrics.js";
import { assertTarget } from "./routes/objects.js";

/** Answers the request and returns true, or returns false having written nothing. */
export type InMemoryAnswer = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Request headers that make an answer other than a plain 200 possible: left to the route. */
const ROUTE_ONLY_HEADERS = [
  "range",
  "if-none-match",
  "if-modified-since",
  "origin",
  "content-length",
  "transfer-encoding",
];

const SAFETY = Object.entries(SAFETY_HEADERS).flat();

/** Whether the route must see this request whatever its token says (no side effect). */
function routeOnly(req: IncomingMessage, trustsProxies: boolean): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return true;
  if (!req.url!.startsWith("/o/")) return true;
  const headers = req.headers;
  // errors.ts answers these 400.
  if (headers.host === undefined && req.httpVersion === "1.1") return true;
  // The client's address is then Fastify's to work out (trustProxy).
  if (trustsProxies && headers["x-forwarded-for"] !== undefined) return true;
  for (const name of ROUTE_ONLY_HEADERS) if (headers[name] !== undefined) return true;
  return false;
}

/** The answer's headers, as send-object.ts writes them for a whole object, flat for writeHead. */
function buildHeaders(info: ObjectInfo, claims: Claims): (string | number)[] {
  const contentType = safeMediaType(claims.rct ?? info.contentType);
  return [
    "etag",
    info.etag,
    "last-modified",
    info.lastModified.toUTCString(),
    "accept-ranges",
    "bytes",
    "content-type",
    contentType,
    "content-disposition",
    claims.rcd ?? defaultDisposition(contentType, info.key),
    "content-length",
    info.size,
    ...SAFETY,
  ];
}

interface KeptHeaders {
  info: Pick<ObjectInfo, "key" | "etag" | "contentType" | "size"> & { modified: number };
  headers: (string | number)[];
}

/**
 * The headers of answers without response overrides, kept beside the blob's bytes (the same
 * Buffer while the byte cache holds it) and used while the row still says the same: the date
 * and disposition are then formatted once, not per answer.
 */
const keptHeaders = new WeakMap<Buffer, KeptHeaders>();

function headersFor(info: ObjectInfo, bytes: Buffer, claims: Claims): (string | number)[] {
  if (claims.rct !== undefined || claims.rcd !== undefined) return buildHeaders(info, claims);
  const kept = keptHeaders.get(bytes);
  if (
    kept !== undefined &&
    kept.info.key === info.key &&
    kept.info.etag === info.etag &&
    kept.info.contentType === info.contentType &&
    kept.info.size === info.size &&
    kept.info.modified === info.lastModified.getTime()
  )
    return kept.headers;
  const headers = buildHeaders(info, claims);
  const { key, etag, contentType, size } = info;
  keptHeaders.set(bytes, {
    info: { key, etag, contentType, size, modified: info.lastModified.getTime() },
    headers,
  });
  return headers;
}

/**
 * The hot-path handler (see the module's comment). `countAnswer` is the HTTP metrics' counter
 * (plugins/metrics.ts); `log` gets the one line per request request-log.ts writes on the route.
 */
export function inMemoryAnswer(
  signet: Signet,
  log: FastifyBaseLogger,
  countAnswer: CountAnswer,
): InMemoryAnswer {
  const trustsProxies = (signet.config.trustedProxies?.length ?? 0) > 0;
  return (req, res) => {
    if (routeOnly(req, trustsProxies)) return false;
    const started = performance.now();
    const method = req.method as "GET" | "HEAD";
    let claims: Claims;
    let request: ScopedRequest;
    let found: { info: ObjectInfo; bytes: Buffer } | undefined;
    try {
      const target = parseObjectPath(req.url!, "/o/");
      // A folder path is a listing: the route's.
      if (target.key === "" || target.key.endsWith("/")) return false;
      const ip = req.socket.remoteAddress ?? "";
      request = { method, bucket: target.bucket, key: target.key, ip, headers: req.headers };
      assertTarget(target.key, method);
      claims = signet.objects.verify(single(target.query, "t"), "direct");
      const bucket = signet.objects.authorize(claims, request, "direct");
      // A range-bound URL answers 206; the key guard checks writes only.
      if (claims.r !== undefined) return false;
      found = bucket.backend.inMemory?.(target.key);
    } catch {
      return false;
    }
    if (found === undefined) return false;
    if (claims.ver !== undefined && found.info.version !== claims.ver) return false;
    res.writeHead(200, headersFor(found.info, found.bytes, claims));
    if (method === "HEAD") res.end();
    else res.end(found.bytes);
    const ms = performance.now() - started;
    signet.objects
      .recordUse("object.use", request, 200, claims)
      .catch((err: unknown) => log.error({ err }, "audit write failed"));
    countAnswer(req.url!, method, 200, ms / 1000);
    // The line request-log.ts writes for the route's answers.
    log.info(
      {
        req: { method, url: req.url, ip: request.ip },
        status: 200,
        ms: Math.round(ms * 100) / 100,
        tokenId: claims.i,
        principal: claims.p,
      },
      "request",
    );
    return true;
  };
}

/**
 * Puts the hot path in front of Fastify's own request handler on the app's server; every
 * request it does not answer goes to Fastify unchanged. Once the app is closing, all go to
 * Fastify (which answers new requests 503 then).
 */
export function answerInMemoryFirst(
  app: FastifyInstance,
  signet: Signet,
  countAnswer: CountAnswer,
): void {
  const answer = inMemoryAnswer(signet, app.log, countAnswer);
  const routing = app.routing.bind(app);
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.server.removeAllListeners("request");
  app.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (closing || !answer(req, res)) routing(req, res);
  });
}
