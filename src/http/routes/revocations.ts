/**
 * POST /v1/revocations: revoke one signed request or share by its id, everything issued to a
 * principal, or everything issued inside a folder (`bucket` and `prefix`). 201 when Signet or
 * the provider will refuse what was revoked; 200 with the first `revokedAt` for a token revoked
 * before; 409 `not_revocable` for a direct URL nobody can refuse before it expires
 * (service/revoke.ts).
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { PrintableName } from "../../core/schema.js";
import { TOKEN_ID_PATTERN, TOKEN_ID_SHAPE } from "../../core/token.js";
import type { RevokeInput } from "../../service/revoke.js";
import type { Signet } from "../../service/signet.js";
import { principalOf } from "../plugins/auth.js";

const Body = Type.Union([
  Type.Object(
    { tokenId: Type.String({ pattern: TOKEN_ID_PATTERN, description: TOKEN_ID_SHAPE }) },
    { additionalProperties: false },
  ),
  Type.Object({ principal: PrintableName(256) }, { additionalProperties: false }),
  Type.Object(
    {
      bucket: Type.String({ minLength: 1, maxLength: 63 }),
      prefix: Type.String({ maxLength: 1024 }),
    },
    { additionalProperties: false },
  ),
]);

export async function revocationRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.post("/v1/revocations", { schema: { body: Body } }, async (request, reply) => {
    const { existing, ...result } = await signet.revoke.revoke(
      principalOf(request),
      request.body as RevokeInput,
    );
    return reply.code(existing ? 200 : 201).send(result);
  });
}
