/** Upload intents (/v1/uploads) and files (/v1/files). */
import { Type } from "@sinclair/typebox";
import { contentTypeOf } from "../../core/content-type.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { PrintableName } from "../../core/schema.js";
import type { Answer } from "../../service/idempotency.js";
import type { FileQuery } from "../../service/files.js";
import type { Signet } from "../../service/signet.js";
import type { UploadInput } from "../../service/uploads.js";
import { sendJsonBytes } from "../json-bytes.js";
import { principalOf } from "../plugins/auth.js";

const UploadBody = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 63 }),
    key: Type.Optional(Type.String()),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    name: Type.Optional(PrintableName(1024)),
    size: Type.Integer({ minimum: 0 }),
    sha256: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9+/]{43}=$" })),
    contentType: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        pattern:
          "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\\s*;\\s*[\\x21-\\x7e]+)*$",
        description:
          "the file's media type; default: from the key's (or name's) extension, else application/octet-stream",
      }),
    ),
    multipart: Type.Optional(
      Type.Object({ partSize: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    ),
    method: Type.Optional(Type.Union([Type.Literal("PUT"), Type.Literal("POST")])),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
    upsert: Type.Optional(Type.Boolean()),
    /** answer short `/u/{id}` URLs standing for the signed ones */
    short: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const CompleteBody = Type.Object(
  {
    parts: Type.Optional(
      Type.Array(
        Type.Object(
          {
            partNumber: Type.Integer({ minimum: 1, maximum: 10_000 }),
            etag: Type.String({ maxLength: 256 }),
          },
          { additionalProperties: false },
        ),
        {
          maxItems: 10_000,
        },
      ),
    ),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ pattern: "^f_[A-Za-z0-9_-]{22}$" }) });
const FileListQuery = Type.Object(
  {
    bucket: Type.Optional(Type.String({ maxLength: 63 })),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    owner: Type.Optional(Type.String({ maxLength: 300 })),
    status: Type.Optional(
      Type.Union(["pending", "committed", "superseded", "deleted"].map((s) => Type.Literal(s))),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const idempotencyKey = (request: FastifyRequest) => {
  const header = request.headers["idempotency-key"];
  return typeof header === "string" ? header : undefined;
};

/**
 * The body with its content type: the one given, else guessed from the key's (or name's)
 * extension as `signet put` guesses it, like gsutil and the S3 console; a bound type is what
 * complete checks, so an intent never leaves it open.
 */
const withContentType = (body: unknown): UploadInput => {
  const input = body as UploadInput;
  return {
    ...input,
    contentType: input.contentType ?? contentTypeOf(input.key ?? input.name ?? ""),
  };
};

export async function uploadRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const replay = async (request: FastifyRequest, scope: string, work: () => Promise<Answer>) => {
    const principal = principalOf(request);
    const key = idempotencyKey(request);
    return signet.idempotency.run(
      principal.id,
      key === undefined ? undefined : `${scope}:${key}`,
      request.body ?? null,
      work,
    );
  };

  app.post("/v1/uploads", { schema: { body: UploadBody } }, async (request, reply) => {
    const answer = await replay(request, "uploads", async () => ({
      status: 201,
      body: await signet.uploads.create(principalOf(request), withContentType(request.body), {
        ip: request.ip,
      }),
    }));
    // A multipart intent holds up to 10,000 signed part requests: out as bytes (json-bytes.ts).
    return sendJsonBytes(reply.code(answer.status), answer.body as object);
  });

  app.post(
    "/v1/uploads/:id/complete",
    {
      schema: { params: IdParams, body: CompleteBody },
      // No body (the README's curl) is the same as `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const answer = await replay(request, `complete:${id}`, async () => ({
        status: 200,
        body: {
          file: await signet.uploads.complete(
            principalOf(request),
            id,
            (request.body as { parts?: { partNumber: number; etag: string }[] } | undefined)?.parts,
          ),
        },
      }));
      return reply.code(answer.status).send(answer.body);
    },
  );

  app.post("/v1/uploads/:id/abort", { schema: { params: IdParams } }, async (request) => ({
    file: await signet.uploads.abort(principalOf(request), (request.params as { id: string }).id),
  }));

  app.get("/v1/files/:id", { schema: { params: IdParams } }, async (request) =>
    signet.files.get(principalOf(request), (request.params as { id: string }).id),
  );

  app.get("/v1/files", { schema: { querystring: FileListQuery } }, async (request) => {
    const query = request.query as Omit<FileQuery, "limit"> & { limit?: number };
    return signet.files.list(principalOf(request), { ...query, limit: query.limit ?? 100 });
  });

  app.delete("/v1/files/:id", { schema: { params: IdParams } }, async (request, reply) => {
    await signet.files.delete(principalOf(request), (request.params as { id: string }).id);
    return reply.code(204).send();
  });
}
