/**
 * GET /v1/audit (admin): the audit trail, newest first, filtered by time, principal, action,
 * bucket, key prefix, token id and outcome; `cursor` is the previous page's `nextCursor`.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import type { AuditFilter } from "../../service/audit.js";
import type { Signet } from "../../service/signet.js";
import { requireAdmin } from "../plugins/auth.js";

const ISO_TIME = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$";

const AuditQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ pattern: ISO_TIME })),
    until: Type.Optional(Type.String({ pattern: ISO_TIME })),
    principal: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bucket: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    tokenId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    outcome: Type.Optional(Type.Union([Type.Literal("allowed"), Type.Literal("refused")])),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/** ISO times compare as strings only in one form: the stored one (UTC, milliseconds). */
function canonical(time: string | undefined, field: string): string | undefined {
  if (time === undefined) return undefined;
  const ms = Date.parse(time);
  if (Number.isNaN(ms))
    throw new SignetError("invalid_request", `${field} is not a valid time`, field);
  return new Date(ms).toISOString();
}

export async function auditRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  app.get(
    "/v1/audit",
    { preHandler: requireAdmin, schema: { querystring: AuditQuery } },
    async (request) => {
      const query = request.query as Omit<AuditFilter, "limit"> & { limit?: number };
      return signet.audit.list({
        ...query,
        since: canonical(query.since, "since"),
        until: canonical(query.until, "until"),
        limit: query.limit ?? 100,
      });
    },
  );
}
