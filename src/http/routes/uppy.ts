/**
 * Uppy's `@uppy/aws-s3` signing protocol (see src/service/uppy.ts for the mapping):
 * `POST /v1/uppy/sign` answers the plugin's `signRequest`, and `/v1/uppy/s3/…` are the URLs it
 * hands out for the S3 calls Signet performs itself, answering S3's XML so the plugin's own
 * client reads them unchanged.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { XMLParser } from "fast-xml-parser";
import { SignetError } from "../../core/errors.js";
import type { Signet } from "../../service/signet.js";
import { type UppySignInput, UppyProtocol } from "../../service/uppy.js";
import { principalOf } from "../plugins/auth.js";

const SignBody = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 63 }),
    method: Type.Union([
      Type.Literal("PUT"),
      Type.Literal("POST"),
      Type.Literal("GET"),
      Type.Literal("DELETE"),
    ]),
    key: Type.String({ minLength: 1, maxLength: 1024 }),
    uploadId: Type.Optional(Type.String({ pattern: "^f_[A-Za-z0-9_-]{22}$" })),
    partNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
    contentLength: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
const Where = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 63 }),
    key: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ pattern: "^f_[A-Za-z0-9_-]{22}$" }) });

/** Escapes text for an XML element. */
const xml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

const sendXml = (reply: FastifyReply, body: string) =>
  reply
    .type("application/xml")
    .send(`<?xml version="1.0" encoding="UTF-8"?>\n${body.replace(/\n\s*/g, "")}`);

/** The parts of a CompleteMultipartUpload body, in S3's XML. */
function partsOf(body: unknown): { partNumber: number; etag: string }[] {
  if (typeof body !== "string" || body.length === 0)
    throw new SignetError("invalid_request", "CompleteMultipartUpload needs its XML body", "parts");
  let doc: { CompleteMultipartUpload?: { Part?: unknown } };
  try {
    doc = new XMLParser({ parseTagValue: false, processEntities: true }).parse(body);
  } catch {
    throw new SignetError("invalid_request", "the body is not XML", "parts");
  }
  const raw = doc.CompleteMultipartUpload?.Part;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as {
    PartNumber?: string;
    ETag?: string;
  }[];
  const parts = list.map((p) => ({
    partNumber: Number(p.PartNumber),
    etag: String(p.ETag ?? ""),
  }));
  if (parts.length === 0 || parts.some((p) => !Number.isInteger(p.partNumber) || p.etag === ""))
    throw new SignetError("invalid_request", "each Part needs PartNumber and ETag", "parts");
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}

export async function uppyRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const uppy = new UppyProtocol(signet);
  const base = () => signet.publicUrl.replace(/\/+$/, "");

  const doc = (summary: string, description: string) => ({
    summary,
    description,
    tags: ["uploads"],
  });

  app.post(
    "/v1/uppy/sign",
    {
      schema: {
        ...doc(
          "Sign one request of Uppy's @uppy/aws-s3",
          "Answers the plugin's signRequest: a simple PUT becomes an upload intent (complete it " +
            "with POST /v1/uploads/{fileId}/complete), a part gets the backend's signed part URL, " +
            "and create, list, complete and abort get Signet's own /v1/uppy/s3 URLs (`path`).",
        ),
        body: SignBody,
      },
    },
    async (request) =>
      uppy.sign(principalOf(request), request.body as UppySignInput, base(), { ip: request.ip }),
  );

  // The S3-style calls carry the plugin's Content-Type (the file's type on create, XML on
  // complete): this scope reads every body as text.
  await app.register(async (s3) => {
    s3.removeAllContentTypeParsers();
    s3.addContentTypeParser("*", { parseAs: "string", bodyLimit: 1024 * 1024 }, (_r, body, done) =>
      done(null, body),
    );
    const where = (request: FastifyRequest) => request.query as { bucket: string; key: string };

    s3.post(
      "/v1/uppy/s3/uploads",
      {
        schema: {
          ...doc(
            "CreateMultipartUpload for Uppy",
            "Opens a multipart upload intent; answers S3's InitiateMultipartUploadResult XML whose " +
              "UploadId is the intent's file id.",
          ),
          querystring: Where,
        },
      },
      async (request, reply) => {
        const { bucket, key } = where(request);
        const file = await uppy.create(principalOf(request), bucket, key, { ip: request.ip });
        return sendXml(
          reply,
          `<InitiateMultipartUploadResult>
           <Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><UploadId>${file.id}</UploadId>
         </InitiateMultipartUploadResult>`,
        );
      },
    );

    s3.get(
      "/v1/uppy/s3/:id",
      {
        schema: {
          ...doc("ListParts for Uppy", "The parts stored so far, as S3's ListPartsResult XML."),
          params: IdParams,
          querystring: Where,
        },
      },
      async (request, reply) => {
        const { bucket, key } = where(request);
        const { id } = request.params as { id: string };
        const parts = await uppy.listParts(principalOf(request), id, bucket, key);
        return sendXml(
          reply,
          `<ListPartsResult><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><UploadId>${id}</UploadId>${parts
            .map(
              (p) =>
                `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xml(p.etag)}</ETag><Size>${p.size}</Size></Part>`,
            )
            .join("")}</ListPartsResult>`,
        );
      },
    );

    s3.post(
      "/v1/uppy/s3/:id",
      {
        schema: {
          ...doc(
            "CompleteMultipartUpload for Uppy",
            "Takes S3's CompleteMultipartUpload XML; Signet checks the stored object and commits " +
              "the file, answering CompleteMultipartUploadResult XML (409 when it does not match).",
          ),
          params: IdParams,
          querystring: Where,
        },
      },
      async (request, reply) => {
        const { bucket, key } = where(request);
        const { id } = request.params as { id: string };
        const file = await uppy.complete(
          principalOf(request),
          id,
          bucket,
          key,
          partsOf(request.body),
        );
        return sendXml(
          reply,
          `<CompleteMultipartUploadResult>
             <Location>${xml(`${base()}/v1/files/${file.id}`)}</Location>
             <Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key>
             <ETag>${xml(file.etag ?? "")}</ETag>
           </CompleteMultipartUploadResult>`,
        );
      },
    );

    s3.delete(
      "/v1/uppy/s3/:id",
      {
        schema: {
          ...doc("AbortMultipartUpload for Uppy", "Removes the intent's partial data (204)."),
          params: IdParams,
          querystring: Where,
        },
      },
      async (request, reply) => {
        const { bucket, key } = where(request);
        await uppy.abort(principalOf(request), (request.params as { id: string }).id, bucket, key);
        return reply.code(204).send();
      },
    );
  });
}
