/**
 * `POST /v1/uploads/{id}/parts`: fresh signed requests for parts of an open multipart upload
 * intent, for its owner, when the ones the intent gave have expired (a long or resumed
 * transfer). The intent's size and sha256 are still checked at complete.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { isAdmin } from "../../core/principal.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const Params = Type.Object({ id: Type.String({ pattern: "^f_[A-Za-z0-9_-]{22}$" }) });
const Body = Type.Object(
  {
    partNumbers: Type.Array(Type.Integer({ minimum: 1, maximum: 10_000 }), {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
    }),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export async function uploadPartRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post(
    "/v1/uploads/:id/parts",
    {
      schema: {
        params: Params,
        body: Body,
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { id } = request.params as { id: string };
      const body = request.body as { partNumbers: number[]; expiresIn?: number };
      const row = await signet.db
        .selectFrom("files")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      // Someone else's intent looks like none at all.
      if (row === undefined || (!isAdmin(principal) && row.owner !== principal.id))
        throw new SignetError("not_found", "file not found");
      const parts = await signet.uploads.signParts(
        principal,
        row,
        {
          parts: body.partNumbers.map((partNumber) => ({ partNumber })),
          expiresIn: body.expiresIn,
        },
        { ip: request.ip },
      );
      return { parts };
    },
  );
}
