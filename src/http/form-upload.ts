/**
 * Browser form uploads to the embedded store: `POST /o/{bucket}/` with multipart/form-data,
 * the way S3 and GCS POST policies work. The fields come first (`key`, `t`, and optionally
 * `Content-Type`, `success_action_status`, `success_action_redirect`), the file last. The
 * token fixes the key or a folder, a length range, a type or type pattern, a sha256 and the
 * answer; `${filename}` in the key becomes the uploaded file's name.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SignetError } from "../core/errors.js";
import { assertValidKey } from "../core/keys.js";
import { mediaTypeMatches, parseMediaType } from "../core/media-type.js";
import type { ScopedRequest } from "../core/scope.js";
import { uploadLimits } from "../service/objects.js";
import type { Signet } from "../service/signet.js";

const outside = (claim: string, why: string) =>
  new SignetError("outside_scope", `${claim}: ${why}`);
const MAX_FIELDS = 20;
const MAX_FIELD_BYTES = 8192;

export async function handleFormUpload(
  signet: Signet,
  request: FastifyRequest,
  reply: FastifyReply,
  bucketName: string,
  path: string,
): Promise<FastifyReply> {
  const scoped: ScopedRequest = {
    method: "POST",
    bucket: bucketName,
    key: "",
    ip: request.ip,
    headers: request.headers,
  };
  request.dataUse = { event: "object.post", request: scoped };
  if (path !== "")
    throw new SignetError("not_found", "a form upload posts to the bucket's URL, /o/{bucket}/");
  if (!request.isMultipart())
    throw new SignetError(
      "invalid_request",
      "a form upload is multipart/form-data",
      "content-type",
    );

  const fields: Record<string, string> = {};
  // Our own limits decide the file's size; the parser's are only for the form's fields.
  for await (const part of request.parts({
    limits: {
      fields: MAX_FIELDS,
      fieldSize: MAX_FIELD_BYTES,
      files: 1,
      fileSize: Number.MAX_SAFE_INTEGER,
    },
  })) {
    if (part.type === "field") {
      if (typeof part.value !== "string")
        throw new SignetError("invalid_request", "form fields are text", part.fieldname);
      fields[part.fieldname] = part.value;
      continue;
    }
    const claims = signet.objects.verify(fields.t, "direct");
    request.dataUse.claims = claims;
    const key = (fields.key ?? "").replaceAll("${filename}", part.filename);
    assertValidKey(key, "key");
    scoped.key = key;
    // The key or folder, method and IP, as for every other request.
    const bucket = signet.objects.authorize(claims, scoped, "direct");
    // Files stay true: a form upload at a key a file holds is 409 (key-guard.ts).
    await signet.keyGuard.checkUse(bucket.name, key, "POST");
    const contentType = fields["Content-Type"] ?? (part.mimetype || "application/octet-stream");
    // Stored and sent back with every GET: only a strictly valid media type.
    if (parseMediaType(contentType) === undefined)
      throw new SignetError(
        "invalid_request",
        "Content-Type is not a valid media type",
        "Content-Type",
      );
    if (claims.ct !== undefined && !mediaTypeMatches(claims.ct, contentType))
      throw outside("contentType", `the file must be ${claims.ct}`);
    const status = fields.success_action_status;
    const redirect = fields.success_action_redirect;
    if ((claims.fs !== undefined || status !== undefined) && String(claims.fs) !== status)
      throw outside(
        "successActionStatus",
        "the form's success_action_status is not the signed one",
      );
    if ((claims.fr !== undefined || redirect !== undefined) && claims.fr !== redirect)
      throw outside(
        "successActionRedirect",
        "the form's success_action_redirect is not the signed one",
      );

    const stored = await signet.objects.put(
      bucket,
      key,
      part.file,
      contentType,
      uploadLimits(bucket, claims, undefined),
      claims,
    );
    if (part.file.truncated) throw new SignetError("payload_too_large", "the file is too large");
    if (redirect !== undefined) {
      const target = new URL(redirect);
      target.searchParams.set("bucket", bucket.name);
      target.searchParams.set("key", key);
      target.searchParams.set("etag", stored.etag);
      return reply.code(303).header("location", target.toString()).send();
    }
    const code = claims.fs ?? 204;
    return code === 204
      ? reply.code(204).send()
      : reply.code(code).send({ bucket: bucket.name, key, size: stored.size, etag: stored.etag });
  }
  throw new SignetError("invalid_request", "the form has no file", "file");
}
