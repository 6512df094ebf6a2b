/** Admin changes in the audit trail: who changed what, from where. Never a secret. */
import type { FastifyRequest } from "fastify";
import type { Signet } from "../service/signet.js";
import { principalOf } from "./plugins/auth.js";

/**
 * Records one admin change once it has succeeded: `action` such as "key.rotate", "apikey.create",
 * "grant.delete", "bucket.create"; `detail` names the thing changed (an id, a kid), never a secret.
 */
export async function auditAdmin(
  signet: Signet,
  request: FastifyRequest,
  action: string,
  detail: Record<string, unknown>,
  bucket?: string,
): Promise<void> {
  await signet.audit.record({
    event: action,
    principal: principalOf(request).id,
    bucket: bucket ?? null,
    ip: request.ip,
    detail,
  });
}
