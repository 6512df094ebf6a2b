/**
 * The embedded store's data plane: GET, HEAD, PUT, DELETE on /o/{bucket}/{key}?t=…
 * Bodies are streamed (no parser, no body limit but the bucket's); every answer carries
 * the safety headers; every use is audited once its status is known.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SignetError } from "../../core/errors.js";
import { assertValidKey } from "../../core/keys.js";
import type { Method } from "../../core/methods.js";
import { resolveRange } from "../../core/range.js";
import { defaultDisposition, SAFETY_HEADERS } from "../../core/safety.js";
import type { Claims } from "../../core/token.js";
import type { DataRequest } from "../../service/objects.js";
import type { Signet } from "../../service/signet.js";
import type { StoredObject } from "../../store/embedded.js";
import { parseObjectPath, single } from "../object-path.js";

declare module "fastify" {
  interface FastifyRequest {
    dataUse: { request: DataRequest; claims?: Claims } | null;
  }
}

const MAX_CONTENT_TYPE = 255;
// Printable ASCII only: a content type is echoed back as a response header.
const CONTENT_TYPE = /^[\x20-\x7e]+$/;

function contentTypeOf(request: FastifyRequest): string {
  const given = request.headers["content-type"];
  if (given === undefined || given === "") return "application/octet-stream";
  if (given.length > MAX_CONTENT_TYPE || !CONTENT_TYPE.test(given))
    throw new SignetError(
      "invalid_request",
      "Content-Type is not a valid media type",
      "content-type",
    );
  return given;
}

function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers["content-length"];
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header))
    throw new SignetError("invalid_request", "Content-Length is not a number", "content-length");
  return Number(header);
}

/** RFC 9110 §13.1.2 weak comparison against a list of entity tags. */
function matchesEtag(header: string, etag: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

function notModified(request: FastifyRequest, object: StoredObject): boolean {
  const ifNoneMatch = request.headers["if-none-match"];
  if (ifNoneMatch !== undefined) return matchesEtag(ifNoneMatch, object.etag);
  const since = request.headers["if-modified-since"];
  if (since === undefined) return false;
  const time = Date.parse(since);
  return !Number.isNaN(time) && object.lastModified.getTime() <= time;
}

async function serveObject(
  signet: Signet,
  request: FastifyRequest,
  reply: FastifyReply,
  bucket: string,
  key: string,
) {
  const object = await signet.objects.head(bucket, key);
  if (object === undefined) throw new SignetError("not_found", "object not found");
  const answer = resolveRange(request.headers.range, object.size);
  if (answer.kind === "unsatisfiable") {
    reply.header("content-range", `bytes */${object.size}`);
    throw new SignetError("range_not_satisfiable", `the object has ${object.size} bytes`);
  }
  reply.headers({
    etag: object.etag,
    "last-modified": object.lastModified.toUTCString(),
    "accept-ranges": "bytes",
    "content-type": object.contentType,
    "content-disposition": defaultDisposition(object.contentType, key),
  });
  if (notModified(request, object)) return reply.code(304).send();
  const range = answer.kind === "partial" ? answer.range : undefined;
  if (range !== undefined) {
    reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${object.size}`);
    reply.header("content-length", range.end - range.start + 1);
  } else {
    reply.header("content-length", object.size);
  }
  if (request.method === "HEAD") return reply.send();
  // An empty object or range: createReadStream would read to the end without bounds.
  if (object.size === 0) return reply.send("");
  const stream = await signet.objects.open(object, range);
  if (stream === undefined) throw new SignetError("not_found", "object not found");
  return reply.send(stream);
}

export async function objectRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  // Stream every body as it comes: no parser, so no body limit but the bucket's own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));
  app.decorateRequest("dataUse", null);

  app.addHook("onSend", async (request, reply, payload) => {
    reply.headers(SAFETY_HEADERS);
    // Refused before its body was read: close rather than drain what is still coming.
    if (request.method === "PUT" && reply.statusCode >= 400) reply.header("connection", "close");
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    if (request.dataUse === null) return;
    await signet.objects
      .recordUse(request.dataUse.request, reply.statusCode, request.dataUse.claims)
      .catch((err: unknown) => request.log.error({ err }, "audit write failed"));
  });

  app.route({
    method: ["GET", "HEAD", "PUT", "DELETE"],
    url: "/o/*",
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const target = parseObjectPath(request.raw.url ?? "", "/o/");
      const method = request.method as Method;
      const use: NonNullable<FastifyRequest["dataUse"]> = {
        request: { method, bucket: target.bucket, key: target.key, ip: request.ip },
      };
      if (method === "PUT") {
        use.request.contentType = contentTypeOf(request);
        use.request.contentLength = declaredLength(request);
      }
      request.dataUse = use;
      assertValidKey(target.key, "path");
      use.claims = signet.objects.verify(single(target.query, "t"));
      const bucket = signet.objects.authorize(use.claims, use.request);

      switch (request.method) {
        case "GET":
        case "HEAD":
          return serveObject(signet, request, reply, bucket.name, target.key);
        case "PUT": {
          const stored = await signet.objects.put(
            bucket,
            target.key,
            request.raw,
            use.request.contentType!,
            use.request.contentLength,
          );
          reply.header("etag", stored.etag);
          return {
            bucket: bucket.name,
            key: stored.key,
            size: stored.size,
            etag: stored.etag,
            sha256: stored.sha256,
          };
        }
        default:
          await signet.objects.delete(bucket, target.key);
          return reply.code(204).send();
      }
    },
  });
}
