/**
 * Links: `/l/{token}` (one object) and `/s/{token}/{rest}` (a folder; `rest` relative to it,
 * empty or ending in "/" to list). Signet checks the whole scope, then redirects to a direct
 * URL of at most 60 seconds (302, or 307 for uploads and deletes so the method and body are
 * kept) or proxies the bytes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SignetError } from "../../core/errors.js";
import type { Method } from "../../core/methods.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";
import { uploadLimits } from "../../service/objects.js";
import type { Signet } from "../../service/signet.js";
import { answerPreflight } from "../cors.js";
import { conditionHolds, preconditionFailed } from "../../store/embedded.js";
import { scopedRequest, writeCondition } from "../data-request.js";
import { decodeKeyPath } from "../object-path.js";
import { sendObject } from "../send-object.js";
import { listOptions, sendListing } from "../send-listing.js";
import { assertTarget, dataPlaneBasics } from "./objects.js";

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** `/l/{token}` or `/s/{token}/{rest}` from the raw URL. */
function parseLink(rawUrl: string): {
  kind: "l" | "s";
  token: string;
  rest: string | undefined;
  query: URLSearchParams;
} {
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1));
  const kind = path.startsWith("/l/") ? "l" : "s";
  const after = path.slice(3);
  const slash = after.indexOf("/");
  const token = slash === -1 ? after : after.slice(0, slash);
  if (!TOKEN.test(token)) throw new SignetError("token_invalid", "token is malformed");
  return {
    kind,
    token,
    rest: slash === -1 ? undefined : decodeKeyPath(after.slice(slash + 1)),
    query,
  };
}

async function serveLink(
  signet: Signet,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  // Audited even when refused before the token is read (bad, expired, revoked): the bucket and
  // key are filled in once the claims are known.
  request.dataUse = {
    event: "link.use",
    request: { method: request.method as Method, bucket: "", key: "", ip: request.ip },
  };
  const link = parseLink(request.raw.url ?? "");
  const use = request.dataUse;
  const claims = signet.objects.verify(link.token, "link", (seen) => {
    use.claims = seen;
    use.request = { ...use.request, bucket: seen.b, key: seen.o ?? seen.f ?? "" };
  });
  let key: string;
  if (link.kind === "l") {
    if (claims.o === undefined || link.rest !== undefined)
      throw new SignetError("not_found", "no such link path");
    key = claims.o;
  } else {
    if (claims.f === undefined || link.rest === undefined)
      throw new SignetError("not_found", "no such share path");
    key = claims.f + link.rest;
  }
  const scoped = scopedRequest(request, claims.b, key, link.query);
  request.dataUse.request = scoped;
  assertTarget(key, scoped.method);
  const bucket = signet.objects.authorize(claims, scoped, "link");
  const backend = bucket.backend;
  if (scoped.method === "PUT" || scoped.method === "DELETE") {
    // Files stay true (key-guard.ts), and a link checks the request's own preconditions
    // before it redirects or proxies (a conditional write is never redirect-safe).
    await signet.keyGuard.checkUse(bucket.name, key, scoped.method);
    const condition = writeCondition(request);
    if (condition !== undefined && !conditionHolds(condition, await backend.head(key)))
      throw preconditionFailed();
  }

  if (claims.l === "r" && scoped.method !== "LIST") {
    const target = await signet.issuance.redirect(bucket, claims, {
      key,
      method: scoped.method,
      ip: request.ip,
    });
    if (target !== undefined) {
      signet.metrics.linkUses.inc({ mode: "redirect" });
      const code = scoped.method === "GET" || scoped.method === "HEAD" ? 302 : 307;
      return reply.code(code).header("location", target).header("cache-control", "no-store").send();
    }
  }
  signet.metrics.linkUses.inc({ mode: "proxy" });
  switch (scoped.method) {
    case "GET":
    case "HEAD":
      return sendObject(request, reply, backend, key, claims);
    case "LIST": {
      const base = `${trimSlash(signet.dataUrl)}/s/${link.token}/`;
      const page = await backend.list(key, listOptions(link.query));
      return sendListing(
        request,
        reply,
        key,
        page,
        (k) => `${base}${encodeKeyPath(k.slice(claims.f!.length))}`,
      );
    }
    case "PUT": {
      const limits = uploadLimits(bucket, claims, scoped.contentLength);
      const stored = await signet.links.proxyPut(
        backend,
        key,
        request.raw,
        scoped.contentType!,
        limits,
        {
          condition: writeCondition(request),
          guard: signet.objects.writeGuard(bucket.name, key, claims),
        },
      );
      reply.header("etag", stored.etag);
      return reply.send({ bucket: bucket.name, key, size: stored.size, etag: stored.etag });
    }
    case "DELETE":
      await signet.keyGuard.deleteAt(bucket.name, key, () =>
        backend.capabilities.conditionalWrites
          ? backend.delete(key, writeCondition(request))
          : backend.delete(key),
      );
      return reply.code(204).send();
    default:
      throw new SignetError("outside_scope", `method: ${scoped.method} is not served on links`);
  }
}

export async function linkRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  dataPlaneBasics(app, signet);
  // A link's bucket is in its token, which is in the path: a preflight can be answered.
  for (const url of ["/l/*", "/s/*"])
    app.options(url, async (request, reply) => {
      const claims = signet.objects.verify(parseLink(request.raw.url ?? "").token, "link");
      return answerPreflight(request, reply, signet.buckets.get(claims.b));
    });
  for (const url of ["/l/*", "/s/*"])
    app.route({
      method: ["GET", "HEAD", "PUT", "DELETE"],
      url,
      exposeHeadRoute: false,
      handler: (request, reply) => serveLink(signet, request, reply),
    });
}
