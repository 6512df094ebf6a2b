/** Reading a data-plane request: its Content-Type, declared length, part and scope view. */
import type { FastifyRequest } from "fastify";
import { SignetError } from "../core/errors.js";
import { parseMediaType } from "../core/media-type.js";
import type { Method } from "../core/methods.js";
import type { ScopedRequest } from "../core/scope.js";
import type { Claims } from "../core/token.js";
import type { WriteCondition } from "../store/embedded.js";
import { single } from "./object-path.js";

declare module "fastify" {
  interface FastifyRequest {
    /** the data-plane request and, once verified, its token's claims: audited on response */
    dataUse: { event: string; request: ScopedRequest; claims?: Claims; reason?: string } | null;
  }
}

export function contentTypeOf(request: FastifyRequest): string {
  const given = request.headers["content-type"];
  if (given === undefined || given === "") return "application/octet-stream";
  // Stored and echoed back as a response header: only a strictly valid media type.
  if (parseMediaType(given) === undefined)
    throw new SignetError(
      "invalid_request",
      "Content-Type is not a valid media type",
      "content-type",
    );
  return given;
}

export function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers["content-length"];
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header))
    throw new SignetError("invalid_request", "Content-Length is not a number", "content-length");
  return Number(header);
}

/**
 * The request's own preconditions on a write (RFC 9110 13.1.1-2): `If-None-Match: *` (create
 * only) and `If-Match: "<etag>"` (replace only that version). Honoured on PUT and DELETE.
 */
export function writeCondition(request: FastifyRequest): WriteCondition | undefined {
  const ifNoneMatch = request.headers["if-none-match"];
  const ifMatch = request.headers["if-match"];
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  const condition: WriteCondition = {};
  if (ifNoneMatch !== undefined) condition.ifNoneMatch = ifNoneMatch;
  if (ifMatch !== undefined) condition.ifMatch = ifMatch;
  return condition;
}

function partOf(query: URLSearchParams): ScopedRequest["part"] {
  const uploadId = single(query, "uploadId");
  const partNumber = single(query, "partNumber");
  if (uploadId === undefined && partNumber === undefined) return undefined;
  if (uploadId === undefined || partNumber === undefined || !/^\d{1,5}$/.test(partNumber))
    throw new SignetError(
      "invalid_request",
      "a part upload names uploadId and partNumber (1 to 10000)",
      "partNumber",
    );
  return { uploadId, partNumber: Number(partNumber) };
}

/** The request as the scope check sees it. A GET on a folder path ("" or ending in "/") is LIST. */
export function scopedRequest(
  request: FastifyRequest,
  bucket: string,
  key: string,
  query: URLSearchParams,
): ScopedRequest {
  const listing = request.method === "GET" && (key === "" || key.endsWith("/"));
  const method = (listing ? "LIST" : request.method) as Method;
  const scoped: ScopedRequest = { method, bucket, key, ip: request.ip, headers: request.headers };
  if (request.headers.range !== undefined) scoped.range = request.headers.range;
  if (method === "PUT") {
    scoped.contentType = contentTypeOf(request);
    scoped.contentLength = declaredLength(request);
    const part = partOf(query);
    if (part !== undefined) scoped.part = part;
  }
  return scoped;
}
