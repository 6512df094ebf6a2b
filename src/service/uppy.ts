/**
 * Uppy's `@uppy/aws-s3` (v5+) signing protocol on top of upload intents. The plugin calls one
 * `signRequest({ method, key, uploadId?, partNumber?, contentType? })` per S3 request and sends
 * the request itself to the URL it gets back:
 *
 * | Uppy request                         | Signet answers                                    |
 * | ------------------------------------ | ------------------------------------------------- |
 * | PUT key (PutObject)                  | an open upload intent's signed PUT; the app commits it |
 * | POST key (CreateMultipartUpload)     | Signet's own URL: POST opens a multipart intent   |
 * | PUT key uploadId partNumber (part)   | the backend's signed part URL                     |
 * | GET key uploadId (ListParts)         | Signet's own URL answering ListPartsResult XML    |
 * | POST key uploadId (Complete)         | Signet's own URL: checks the object, commits      |
 * | DELETE key uploadId (Abort)          | Signet's own URL: removes the partial data        |
 *
 * The `uploadId` Uppy sees is the intent's file id (`f_…`), so every step names one intent;
 * the backend's own upload id never leaves Signet. Signet's own URLs take the caller's Bearer
 * credential like the rest of /v1 (`signet/browser`'s `uppySigner` adds it).
 * Grants apply as everywhere: each step goes through presign's checks in UploadService.
 */
import { isAdmin } from "../core/principal.js";
import type { Principal } from "../core/principal.js";
import { SignetError } from "../core/errors.js";
import type { FileTable } from "../db/schema.js";
import type { CallerContext } from "./issuance.js";
import type { Signet } from "./signet.js";
import type { FileInfo, UppyRequest } from "../api/types.js";
import { stagedAt } from "./file-records.js";

/** One request the Uppy plugin wants signed, plus the Signet bucket it goes to. */
export interface UppySignInput extends UppyRequest {
  bucket: string;
  /** a part's byte count: bound into its URL (S3 part URLs need it) */
  contentLength?: number;
}

/**
 * Uppy's `PresignedResponse`, plus `fileId` (the intent) for a simple PUT the app commits, and
 * `path` for Signet's own URLs (the client sends those to the API origin it uses, with its
 * credential).
 */
export interface UppySigned {
  url: string;
  key?: string;
  headers?: Record<string, string>;
  fileId?: string;
  path?: string;
}

export class UppyProtocol {
  constructor(private readonly signet: Signet) {}

  /** Signs one of Uppy's requests (see the table above). `base` is Signet's public API URL. */
  async sign(
    principal: Principal,
    input: UppySignInput,
    base: string,
    caller: CallerContext,
  ): Promise<UppySigned> {
    const { uploads } = this.signet;
    const own = (id: string): UppySigned => {
      const path = `/v1/uppy/s3/${id}?${new URLSearchParams({ bucket: input.bucket, key: input.key })}`;
      return { url: `${base}${path}`, path, key: input.key };
    };
    if (input.uploadId === undefined) {
      if (input.method === "PUT") {
        const intent = await uploads.create(
          principal,
          {
            bucket: input.bucket,
            key: input.key,
            contentType: input.contentType,
            expiresIn: input.expiresIn,
          },
          caller,
        );
        const signed = intent.upload as { url: string; headers: Record<string, string> };
        return { url: signed.url, headers: signed.headers, key: input.key, fileId: intent.file.id };
      }
      if (input.method === "POST") {
        // Checked now, so a refusal reaches the app at signing rather than at the POST.
        this.signet.issuance.authorize(principal, {
          bucket: input.bucket,
          key: input.key,
          method: "PUT",
        });
        return own("uploads");
      }
      throw new SignetError(
        "invalid_request",
        `${input.method} without uploadId is not part of Uppy's upload protocol here`,
        "method",
      );
    }
    const row = await this.pending(principal, input.uploadId, input.bucket, input.key);
    if (input.method === "PUT") {
      if (input.partNumber === undefined)
        throw new SignetError("invalid_request", "a part needs partNumber", "partNumber");
      const signed = await uploads.signPart(
        principal,
        row,
        {
          partNumber: input.partNumber,
          expiresIn: input.expiresIn,
          contentLength: input.contentLength,
        },
        caller,
      );
      return { url: signed.url, headers: signed.headers };
    }
    if (input.method === "DELETE" || input.method === "GET" || input.method === "POST")
      return own(encodeURIComponent(row.id));
    throw new SignetError("invalid_request", "unknown request", "method");
  }

  /** Opens a multipart intent of unknown size; its file id is the upload id Uppy uses. */
  async create(
    principal: Principal,
    bucket: string,
    key: string,
    caller: CallerContext,
  ): Promise<FileInfo> {
    return (await this.signet.uploads.openMultipart(principal, bucket, key, caller)).file;
  }

  /** The parts stored so far (ListParts). */
  async listParts(
    principal: Principal,
    fileId: string,
    bucket: string,
    key: string,
  ): Promise<{ partNumber: number; etag: string; size: number }[]> {
    const row = await this.pending(principal, fileId, bucket, key);
    const backend = this.signet.buckets.get(row.bucket)?.backend;
    // The parts are at the intent's own staging key, never at the file's key.
    const staged = stagedAt(row);
    if (backend === undefined || staged.uploadId === undefined)
      throw new SignetError("not_found", "no such multipart upload");
    return (await backend.listParts(staged.key, staged.uploadId)).map((p) => ({
      partNumber: p.partNumber,
      etag: p.etag,
      size: p.size,
    }));
  }

  /** CompleteMultipartUpload: UploadService checks the stored object, then commits it. */
  async complete(
    principal: Principal,
    fileId: string,
    bucket: string,
    key: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<FileInfo> {
    await this.pending(principal, fileId, bucket, key);
    return this.signet.uploads.complete(principal, fileId, parts);
  }

  async abort(principal: Principal, fileId: string, bucket: string, key: string): Promise<void> {
    // Idempotent like /v1/uploads/{id}/abort: an aborted intent aborts again (204).
    await this.pending(principal, fileId, bucket, key, true);
    await this.signet.uploads.abort(principal, fileId);
  }

  /**
   * The caller's pending intent with that id, bucket and key (or, with `aborted`, one already
   * aborted); anything else looks absent.
   */
  private async pending(
    principal: Principal,
    fileId: string,
    bucket: string,
    key: string,
    aborted = false,
  ): Promise<FileTable> {
    const row = await this.signet.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", fileId)
      .executeTakeFirst();
    if (
      row === undefined ||
      (row.status !== "pending" &&
        !(aborted && row.status === "deleted" && row.committed_at === null)) ||
      row.bucket !== bucket ||
      row.key !== key ||
      (!isAdmin(principal) && row.owner !== principal.id)
    )
      throw new SignetError("not_found", "no such upload");
    return row;
  }
}
