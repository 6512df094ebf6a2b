/**
 * The embedded store's data plane: GET, HEAD, PUT, DELETE on /o/{bucket}/{key}?t=…, GET on a
 * folder path lists it (when the token allows LIST), and POST on /o/{bucket}/ takes a browser
 * form upload. Bodies are streamed (no parser, no body limit but the bucket's and the
 * token's); every answer carries the safety headers; every use is audited.
 */
import { jsonLines } from "../json-lines.js";
import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { assertValidKey, toFolder } from "../../core/keys.js";
import type { Method } from "../../core/methods.js";
import { SAFETY_HEADERS } from "../../core/safety.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";
import { uploadLimits } from "../../service/objects.js";
import type { Signet } from "../../service/signet.js";
import { addCorsHeaders, answerPreflight } from "../cors.js";
import { asSignetError } from "../plugins/errors.js";
import { scopedRequest, writeCondition } from "../data-request.js";
import { handleFormUpload } from "../form-upload.js";
import { parseObjectPath, single } from "../object-path.js";
import { sendObject } from "../send-object.js";
import { listOptions, sendListing } from "../send-listing.js";

/**
 * Keys are checked before anything else; a folder path is checked as a folder, and only a
 * listing may name one (a write or read names a key, whatever a folder URL allows).
 */
export function assertTarget(key: string, method: string): void {
  if (method !== "LIST") assertValidKey(key, "path");
  else if (key !== "") toFolder(key, "path");
}

/** What every data-plane surface (/o, /l, /s, /u) shares: streaming bodies, safety headers, audit. */
export function dataPlaneBasics(app: FastifyInstance, signet: Signet): void {
  jsonLines(app);
  // Stream every body as it comes: no parser, so no body limit but the bucket's own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));
  // Callback hooks: no promise per request on the data plane's hot path.
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.headers(SAFETY_HEADERS);
    if (request.dataUse !== null)
      addCorsHeaders(request, reply, signet.buckets.get(request.dataUse.request.bucket));
    // Refused before its body was read: close rather than drain what is still coming.
    if ((request.method === "PUT" || request.method === "POST") && reply.statusCode >= 400)
      reply.header("connection", "close");
    done(null, payload);
  });
  // A refusal's code is its audit reason.
  app.addHook("onError", (request, _reply, error, done) => {
    if (request.dataUse !== null) request.dataUse.reason = asSignetError(error).code;
    done();
  });
  app.addHook("onResponse", async (request, reply) => {
    const use = request.dataUse;
    if (use === null) return;
    await signet.objects
      .recordUse(use.event, use.request, reply.statusCode, use.claims, use.reason)
      .catch((err: unknown) => request.log.error({ err }, "audit write failed"));
  });
}

export async function objectRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  dataPlaneBasics(app, signet);
  // Form uploads: its parser only marks the request; the parts are streamed by the handler.
  await app.register(multipart);

  app.options("/o/*", async (request, reply) => {
    const { bucket } = parseObjectPath(request.raw.url ?? "", "/o/");
    return answerPreflight(request, reply, signet.buckets.get(bucket));
  });

  app.route({
    method: ["GET", "HEAD", "PUT", "DELETE", "POST"],
    url: "/o/*",
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      // Audited even when the path or headers are refused before the token is read.
      request.dataUse = {
        event: "object.use",
        request: { method: request.method as Method, bucket: "", key: "", ip: request.ip },
      };
      const target = parseObjectPath(request.raw.url ?? "", "/o/");
      if (request.method === "POST")
        return handleFormUpload(signet, request, reply, target.bucket, target.key);
      request.dataUse.request = {
        ...request.dataUse.request,
        bucket: target.bucket,
        key: target.key,
      };
      const scoped = scopedRequest(request, target.bucket, target.key, target.query);
      request.dataUse.request = scoped;
      assertTarget(target.key, scoped.method);
      const use = request.dataUse;
      const claims = signet.objects.verify(single(target.query, "t"), "direct", (seen) => {
        use.claims = seen;
      });
      const bucket = signet.objects.authorize(claims, scoped, "direct");
      // Files stay true: a raw write or delete at a key a file holds is 409 (key-guard.ts).
      if (scoped.part === undefined)
        await signet.keyGuard.checkUse(bucket.name, target.key, scoped.method);

      switch (scoped.method) {
        case "GET":
        case "HEAD":
          return sendObject(request, reply, bucket.backend, target.key, claims);
        case "LIST": {
          const base = `${trimSlash(signet.dataUrl)}/o/${encodeURIComponent(bucket.name)}/`;
          const page = await bucket.backend.list(target.key, listOptions(target.query));
          const token = target.query.get("t")!;
          return sendListing(
            request,
            reply,
            target.key,
            page,
            (key) => `${base}${encodeKeyPath(key)}?t=${token}`,
          );
        }
        case "PUT": {
          const limits = uploadLimits(bucket, claims, scoped.contentLength);
          if (scoped.part !== undefined) {
            // The token names this part of this upload (checked with the scope above).
            const { uploadId, partNumber } = scoped.part;
            const part = await signet.multipart.putPart(
              bucket.name,
              target.key,
              uploadId,
              partNumber,
              request.raw,
              limits,
            );
            reply.header("etag", part.etag);
            return part;
          }
          const stored = await signet.objects.put(
            bucket,
            target.key,
            request.raw,
            scoped.contentType!,
            limits,
            claims,
            writeCondition(request),
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
          await signet.keyGuard.deleteAt(bucket.name, target.key, () =>
            signet.objects.store.delete(bucket.name, target.key, writeCondition(request)),
          );
          return reply.code(204).send();
      }
    },
  });
}
