/**
 * Gen3 Fence / Syfon `/data/...` routes (see service/fence.ts), for clients of that exact shape.
 * Authenticated and granted like every other route.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { PrintableName, textParser } from "../../core/schema.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const ExpiresIn = Type.Optional(Type.Integer({ minimum: 1 }));
const DownloadQuery = Type.Object(
  { expires_in: ExpiresIn, redirect: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const PartQuery = Type.Object(
  { start: Type.Integer({ minimum: 0 }), end: Type.Integer({ minimum: 0 }), expires_in: ExpiresIn },
  { additionalProperties: false },
);
const UploadBody = Type.Object(
  { file_name: PrintableName(255), expires_in: ExpiresIn },
  { additionalProperties: false },
);
const UploadQuery = Type.Object(
  {
    file_name: Type.Optional(PrintableName(255)),
    expires_in: ExpiresIn,
  },
  { additionalProperties: false },
);
const InitBody = Type.Object(
  {
    file_name: PrintableName(255),
    guid: Type.Optional(Type.String({ maxLength: 129 })),
    expires_in: ExpiresIn,
  },
  { additionalProperties: false },
);
const PartBody = Type.Object(
  {
    key: Type.String({ minLength: 3, maxLength: 1024 }),
    uploadId: Type.String({ minLength: 1, maxLength: 1024 }),
    partNumber: Type.Integer({ minimum: 1, maximum: 10_000 }),
    expires_in: ExpiresIn,
  },
  { additionalProperties: false },
);
const CompleteBody = Type.Object(
  {
    key: Type.String({ minLength: 3, maxLength: 1024 }),
    uploadId: Type.String({ minLength: 1, maxLength: 1024 }),
    parts: Type.Array(
      Type.Object({
        PartNumber: Type.Integer({ minimum: 1, maximum: 10_000 }),
        ETag: Type.String({ maxLength: 256 }),
      }),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

const parseDownload = textParser(DownloadQuery);
const parsePart = textParser(PartQuery);

/** The GUID part of `/data/download/{guid}[/part]` from the raw URL (a GUID may hold one "/"). */
function downloadTarget(rawUrl: string): {
  guid: string;
  part: boolean;
  query: Record<string, string>;
} {
  const q = rawUrl.indexOf("?");
  const path = decodeURIComponent(q === -1 ? rawUrl : rawUrl.slice(0, q)).slice(
    "/data/download/".length,
  );
  const query = Object.fromEntries(new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1)));
  return path.endsWith("/part")
    ? { guid: path.slice(0, -"/part".length), part: true, query }
    : { guid: path, part: false, query };
}

export async function fenceRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const fence = signet.fence;
  if (fence === undefined) return;

  app.get("/data/download/*", async (request, reply) => {
    const principal = principalOf(request);
    const target = downloadTarget(request.raw.url ?? "");
    if (target.part) {
      if (target.query.start === undefined || target.query.end === undefined)
        throw new SignetError(
          "invalid_request",
          "start and end are required",
          target.query.start === undefined ? "start" : "end",
        );
      const { start, end, expires_in } = parsePart(target.query);
      if (end < start) throw new SignetError("invalid_request", "end is before start", "end");
      const signed = await fence.part(principal, target.guid, start, end, expires_in, {
        ip: request.ip,
      });
      return { url: signed.url, headers: signed.headers };
    }
    const { expires_in, redirect } = parseDownload(target.query);
    const url = await fence.download(principal, target.guid, expires_in, { ip: request.ip });
    return redirect === true
      ? reply.code(302).header("location", url).header("cache-control", "no-store").send()
      : { url };
  });

  app.post("/data/upload", { schema: { body: UploadBody } }, async (request, reply) => {
    const { file_name, expires_in } = request.body as { file_name: string; expires_in?: number };
    return reply
      .code(201)
      .send(await fence.upload(principalOf(request), file_name, expires_in, { ip: request.ip }));
  });

  app.get("/data/upload/*", { schema: { querystring: UploadQuery } }, async (request) => {
    const raw = request.raw.url ?? "";
    const guid = decodeURIComponent(
      (raw.includes("?") ? raw.slice(0, raw.indexOf("?")) : raw).slice("/data/upload/".length),
    );
    const { file_name, expires_in } = request.query as { file_name?: string; expires_in?: number };
    return {
      url: await fence.uploadUrl(principalOf(request), guid, file_name, expires_in, {
        ip: request.ip,
      }),
    };
  });

  app.post("/data/multipart/init", { schema: { body: InitBody } }, async (request, reply) => {
    const { file_name, guid } = request.body as { file_name: string; guid?: string };
    return reply
      .code(201)
      .send(await fence.multipartInit(principalOf(request), file_name, guid, { ip: request.ip }));
  });

  app.post("/data/multipart/upload", { schema: { body: PartBody } }, async (request) => {
    const { key, uploadId, partNumber, expires_in } = request.body as {
      key: string;
      uploadId: string;
      partNumber: number;
      expires_in?: number;
    };
    return {
      presigned_url: await fence.multipartUpload(
        principalOf(request),
        key,
        uploadId,
        { partNumber, expiresIn: expires_in },
        { ip: request.ip },
      ),
    };
  });

  app.post("/data/multipart/complete", { schema: { body: CompleteBody } }, async (request) => {
    const { key, uploadId, parts } = request.body as {
      key: string;
      uploadId: string;
      parts: { PartNumber: number; ETag: string }[];
    };
    await fence.multipartComplete(principalOf(request), key, uploadId, parts);
    return {};
  });
}
