/**
 * GA4GH DRS 1.4 over Signet's files: `GET /ga4gh/drs/v1/objects/{id}` describes a committed
 * file the caller may read (checksums as hex sha-256), `…/access/{access_id}` answers a fresh
 * signed URL for it, `/service-info` describes the service. Errors take DRS's own shape,
 * `{ msg, status_code }`. Authenticated and granted like every other route.
 */
import type { FastifyInstance } from "fastify";
import { SignetError } from "../../core/errors.js";
import { trimSlash } from "../../core/urls.js";
import type { Signet } from "../../service/signet.js";
import type { FileInfo } from "../../service/uploads.js";
import { asSignetError } from "../plugins/errors.js";
import { authenticate, principalOf } from "../plugins/auth.js";

const ACCESS_ID = "https";
const FILE_ID = /^f_[A-Za-z0-9_-]{22}$/;

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
  app.setErrorHandler((error, _request, reply) => {
    const signetError = asSignetError(error);
    return reply
      .code(signetError.status)
      .send({ msg: signetError.message, status_code: signetError.status });
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
    if (!FILE_ID.test(id)) throw new SignetError("not_found", "object not found");
    const file = await signet.files.get(principal, id);
    if (file.status !== "committed") throw new SignetError("not_found", "object not found");
    return file;
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
      const file = await committedFile(principal, id);
      if (accessId !== ACCESS_ID) throw new SignetError("not_found", "no such access method");
      const signed = signet.presign.deliver(
        await signet.presign.check(
          principal,
          { bucket: file.bucket, key: file.key, method: "GET" },
          Date.now(),
        ),
      );
      return {
        url: signed.url,
        headers: Object.entries(signed.headers).map(([name, value]) => `${name}: ${value}`),
      };
    },
  );
}
