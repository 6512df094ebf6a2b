/**
 * Answers a GET or HEAD for one object, for the embedded store's data plane and for links in
 * proxy mode alike: conditional requests, one byte range (or the range a URL is bound to),
 * response overrides, and the safety defaults for active types.
 */
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Backend, ObjectInfo } from "../backends/types.js";
import { sameEtag } from "../core/etag.js";
import { SignetError } from "../core/errors.js";
import { resolveRange } from "../core/range.js";
import { safeMediaType } from "../core/media-type.js";
import { defaultDisposition } from "../core/safety.js";
import { type Claims } from "../core/token.js";
import { rangeHeader } from "../core/scope.js";
import { BlobBody } from "../store/blob-reader.js";
import { InMemoryBody } from "../store/cache.js";

/** RFC 9110 §13.1.2 weak comparison against a list of entity tags. */
function matchesEtag(header: string, etag: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

function notModified(request: FastifyRequest, info: ObjectInfo): boolean {
  const ifNoneMatch = request.headers["if-none-match"];
  if (ifNoneMatch !== undefined) return matchesEtag(ifNoneMatch, info.etag);
  const since = request.headers["if-modified-since"];
  if (since === undefined) return false;
  const time = Date.parse(since);
  return !Number.isNaN(time) && info.lastModified.getTime() <= time;
}

/** How often a GET looks the object up again when it was replaced between lookup and open. */
const REPLACED_RETRIES = 3;

/** Whether two answers about one key describe the same stored bytes. */
const sameObject = (a: ObjectInfo, b: ObjectInfo) =>
  a.size === b.size &&
  sameEtag(a.etag, b.etag) &&
  (a.version === undefined || b.version === undefined || a.version === b.version);

export async function sendObject(
  request: FastifyRequest,
  reply: FastifyReply,
  backend: Backend,
  key: string,
  claims: Pick<Claims, "r" | "rcd" | "rct" | "ver">,
): Promise<FastifyReply> {
  for (let attempt = 1; ; attempt++) {
    const info = await backend.head(key);
    if (info === undefined) throw new SignetError("not_found", "object not found");
    assertVersion(claims, info);
    // A range-bound URL serves its range when the request names none (DESIGN.md).
    const asked =
      request.headers.range ?? (claims.r !== undefined ? rangeHeader(claims.r) : undefined);
    const answer = resolveRange(asked, info.size);
    if (answer.kind === "unsatisfiable") {
      reply.header("content-range", `bytes */${info.size}`);
      throw new SignetError("range_not_satisfiable", `the object has ${info.size} bytes`);
    }
    const range = answer.kind === "partial" ? answer.range : undefined;
    let body: Readable | undefined;
    if (request.method !== "HEAD" && info.size > 0 && !notModified(request, info)) {
      const got = await backend.get(key, range ?? { start: 0, end: info.size - 1 });
      if (got === undefined) throw new SignetError("not_found", "object not found");
      // Replaced between the two lookups: the headers below describe `info`, so its bytes or
      // none (never another version's under its ETag and length); a pinned URL refuses.
      if (!sameObject(info, got.info)) {
        got.body.destroy();
        assertVersion(claims, got.info);
        if (attempt < REPLACED_RETRIES) continue;
        throw new SignetError("backend_unavailable", "the object kept changing: try again");
      }
      body = got.body;
    }
    // Written back as a header: a stored type that does not parse (an older row, a backend's
    // metadata) is sent as octet-stream rather than echoed, or failing the answer.
    const contentType = safeMediaType(claims.rct ?? info.contentType);
    reply.headers({
      etag: info.etag,
      "last-modified": info.lastModified.toUTCString(),
      "accept-ranges": "bytes",
      "content-type": contentType,
      "content-disposition": claims.rcd ?? defaultDisposition(contentType, key),
    });
    if (notModified(request, info)) return reply.code(304).send();
    if (range !== undefined) {
      reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
      reply.header("content-length", range.end - range.start + 1);
    } else {
      reply.header("content-length", info.size);
    }
    if (request.method === "HEAD") return reply.send();
    // An empty object: a read stream would have no bounds to stop at.
    if (body === undefined) return reply.send("");
    // Bytes already in memory go out in one write, without a stream's machinery; a blob file is
    // read into reused buffers, each written once the response is done with it.
    if (body instanceof InMemoryBody) return reply.send(body.bytes);
    if (body instanceof BlobBody) return reply.send(body.sendTo(reply.raw));
    return reply.send(body);
  }
}

/** A URL pinned to a file's committed version serves those bytes or 409 `file_changed`. */
function assertVersion(claims: Pick<Claims, "ver">, info: { version?: string }): void {
  if (claims.ver !== undefined && info.version !== claims.ver)
    throw new SignetError("file_changed", "the file's bytes changed since it was committed");
}
