/**
 * GA4GH DRS 1.4 over Signet's files: `GET /ga4gh/drs/v1/objects/{id}` describes a committed
 * file the caller may read (checksums as hex sha-256), `…/access/{access_id}` answers a fresh
 * signed URL for it, `/service-info` describes the service. Errors take DRS's own shape,
 * `{ msg, status_code }`. Authenticated and granted like every other route.
 */
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { trimSlash } from "../../core/urls.js";
import { resolveFileId } from "../../service/fence.js";
import { pinTo } from "../../service/files.js";
import type { Signet } from "../../service/signet.js";
import type { FileInfo } from "../../api/types.js";
import { asSignetError, sendError } from "../plugins/errors.js";
import { authenticate, principalOf } from "../plugins/auth.js";

const ACCESS_ID = "https";

function drsObject(file: FileInfo, publicUrl: string) {
  const host = new URL(publicUrl).host;
  const object: Record<string, unknown> = {
    id: file.id,
    self_uri: `drs://${host}/${file.id}`,
    size: file.size,
    created_time: file.createdAt,
    updated_time: file.committedAt ?? file.createdAt,
    name: file.key.slice(file.key.lastIndexOf("/") + 1),
    mime_type: file.contentType,
    checksums:
      file.sha256 === null
        ? []
        : [{ type: "sha-256", checksum: Buffer.from(file.sha256, "base64").toString("hex") }],
    access_methods: [{ type: "https", access_id: ACCESS_ID }],
  };
  return object;
}

export async function drsRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  // DRS's own error shape, with what every refusal carries (Retry-After, the code for the
  // request log and the refusals metric) and an unexpected error logged.
  app.setErrorHandler((error, request, reply) => {
    const signetError = asSignetError(error);
    if (signetError.code === "internal") request.log.error({ err: error }, "unhandled error");
    return sendError(reply, signetError, (e) => ({ msg: e.message, status_code: e.status }));
  });

  app.get("/ga4gh/drs/v1/service-info", async () => ({
    id: "org.signet.drs",
    name: "Signet DRS",
    type: { group: "org.ga4gh", artifact: "drs", version: "1.4.0" },
    description: "Short-lived, scoped signed URLs for the files Signet holds",
    organization: { name: "Signet", url: trimSlash(signet.publicUrl) },
    version: "1.4.0",
  }));

  const committedFile = async (principal: Parameters<typeof signet.files.get>[0], id: string) => {
    // A Fence GUID names its file here too (service/fence.ts).
    const fileId = await resolveFileId(signet.db, id);
    if (fileId === undefined) throw new SignetError("not_found", "object not found");
    return signet.files.served(principal, fileId);
  };

  app.get("/ga4gh/drs/v1/objects/:id", { onRequest: authenticate(signet) }, async (request) =>
    drsObject(
      await committedFile(principalOf(request), (request.params as { id: string }).id),
      signet.publicUrl,
    ),
  );

  app.get(
    "/ga4gh/drs/v1/objects/:id/access/:accessId",
    { onRequest: authenticate(signet) },
    async (request) => {
      const { id, accessId } = request.params as { id: string; accessId: string };
      const principal = principalOf(request);
      // A refusal here is a refused issuance: audited with the id asked for.
      const file = await signet.issuance.forFile(
        principal,
        { action: "drs", ip: request.ip, detail: { file: id } },
        () => committedFile(principal, id),
      );
      if (accessId !== ACCESS_ID) throw new SignetError("not_found", "no such access method");
      const signed = await signet.issuance.issue(
        principal,
        { bucket: file.bucket, key: file.key, method: "GET" },
        { action: "drs", ip: request.ip, detail: { file: file.id }, ...pinTo(file) },
      );
      return {
        url: signed.url,
        headers: Object.entries(signed.headers).map(([name, value]) => `${name}: ${value}`),
      };
    },
  );
}
