/**
 * Gen3 Fence / Syfon compatibility over Signet's files and upload intents, on the bucket named
 * by `compat.fenceBucket`. An object lives at `{guid}/{file_name}`; the GUID (a UUID Signet makes,
 * or the caller's own, e.g. "dg.XXXX/uuid") maps to a Signet file. Uploads here may omit size and
 * type: the intent records what complete finds. A single upload commits on its first download
 * (Fence clients never call complete); a multipart upload commits at `multipart/complete`.
 */
import { randomUUID } from "node:crypto";
import type { PresignInput } from "../api/types.js";
import { SignetError } from "../core/errors.js";
import { assertValidKey } from "../core/keys.js";
import { isAdmin, type Principal } from "../core/principal.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import { type FileService, pinTo } from "./files.js";
import type { CallerContext, Issuance, SignedRequest } from "./issuance.js";
import type { UploadService } from "./uploads.js";

const GUID = /^[A-Za-z0-9._-]{1,64}(\/[A-Za-z0-9._-]{1,64})?$/;

/** The form of Signet's file ids (service/uploads.ts). */
export const FILE_ID = /^f_[A-Za-z0-9_-]{22}$/;

/**
 * One id reaches a file on every surface (as in Gen3 Fence and Syfon, where the DRS object id
 * is the GUID the data routes take): a Signet file id is its own GUID, and a Fence GUID names
 * its file on DRS too. Answers the file id, or undefined for an unknown id.
 */
export async function resolveFileId(db: Db, id: string): Promise<string | undefined> {
  if (FILE_ID.test(id)) return id;
  if (!GUID.test(id)) return undefined;
  const mapping = await db
    .selectFrom("fence_guids")
    .select("file_id")
    .where("guid", "=", id)
    .executeTakeFirst();
  return mapping?.file_id;
}

const notFound = () => new SignetError("not_found", "object not found");

export class FenceService {
  constructor(
    private readonly db: Db,
    private readonly bucket: string,
    private readonly uploads: UploadService,
    private readonly files: FileService,
    private readonly issuance: Issuance,
  ) {}

  private keyOf(guid: string, fileName: string): string {
    if (!GUID.test(guid))
      throw new SignetError("invalid_request", "guid is not a valid GUID", "guid");
    if (fileName.includes("/"))
      throw new SignetError("invalid_key", "file_name is one path segment", "file_name");
    return assertValidKey(`${guid}/${fileName}`, "file_name");
  }

  private async rowOf(guid: string): Promise<FileTable | undefined> {
    const mapping = await this.db
      .selectFrom("fence_guids")
      .selectAll()
      .where("guid", "=", guid)
      .executeTakeFirst();
    if (mapping === undefined) return undefined;
    return this.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", mapping.file_id)
      .executeTakeFirst();
  }

  /** A file its uploader (or an admin) is still writing. */
  private async ownPending(principal: Principal, row: FileTable | undefined): Promise<FileTable> {
    if (
      row === undefined ||
      row.status !== "pending" ||
      (!isAdmin(principal) && row.owner !== principal.id)
    )
      throw notFound();
    return row;
  }

  private async map(guid: string, fileId: string): Promise<void> {
    const taken = await this.db
      .insertInto("fence_guids")
      .values({ guid, file_id: fileId })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(taken.numInsertedOrUpdatedRows ?? 0) === 0)
      throw new SignetError("conflict", "this guid is taken");
  }

  /** A readable, committed file; a single upload is committed here on its first download. */
  private async readable(principal: Principal, guid: string): Promise<FileTable> {
    const fileId = await resolveFileId(this.db, guid);
    if (fileId === undefined) throw notFound();
    let row = await this.files.readable(principal, fileId);
    // Only a Fence upload (named by its GUID) commits on download: an intent of /v1/uploads
    // waits for its own complete.
    if (
      fileId !== guid &&
      row.status === "pending" &&
      !(JSON.parse(row.upload ?? "{}") as { uploadId?: string }).uploadId
    ) {
      try {
        await this.uploads.finish(row, undefined, principal.id);
      } catch (err) {
        if (err instanceof SignetError && err.code === "conflict") throw notFound();
        throw err;
      }
      row = await this.files.readable(principal, fileId);
    }
    if (row.status !== "committed") throw notFound();
    return this.files.unchanged(row);
  }

  /** `caller.ip`, here and below, is the client's address, recorded with each issuance. */
  async download(
    principal: Principal,
    guid: string,
    expiresIn: number | undefined,
    caller: CallerContext,
  ): Promise<string> {
    const row = await this.issuance.forFile(
      principal,
      { action: "fence.download", ip: caller.ip, detail: { file: guid } },
      () => this.readable(principal, guid),
    );
    return (
      await this.issuance.issue(
        principal,
        { bucket: row.bucket, key: row.key, method: "GET", expiresIn },
        { action: "fence.download", ip: caller.ip, detail: { file: row.id }, ...pinTo(row) },
      )
    ).url;
  }

  /** A URL for bytes start..end (inclusive) of the object, bound to that range. */
  async part(
    principal: Principal,
    guid: string,
    start: number,
    end: number,
    expiresIn: number | undefined,
    caller: CallerContext,
  ): Promise<SignedRequest> {
    const row = await this.issuance.forFile(
      principal,
      { action: "fence.download", ip: caller.ip, detail: { file: guid } },
      () => this.readable(principal, guid),
    );
    const input: PresignInput = {
      bucket: row.bucket,
      key: row.key,
      method: "GET",
      range: `bytes=${start}-${end}`,
      expiresIn,
    };
    const ctx = {
      action: "fence.download",
      ip: caller.ip,
      detail: { file: row.id },
      ...pinTo(row),
    };
    if (row.size === null || end >= Number(row.size))
      throw await this.issuance.refusal(
        principal,
        input,
        ctx,
        new SignetError("invalid_request", `end is past the object's ${row.size} bytes`, "end"),
      );
    return this.issuance.issue(principal, input, ctx);
  }

  async upload(
    principal: Principal,
    fileName: string,
    expiresIn: number | undefined,
    caller: CallerContext,
  ): Promise<{ guid: string; url: string }> {
    const guid = randomUUID();
    const intent = await this.uploads.create(
      principal,
      { bucket: this.bucket, key: this.keyOf(guid, fileName), expiresIn },
      caller,
    );
    await this.map(guid, intent.file.id);
    return { guid, url: (intent.upload as SignedRequest).url };
  }

  /** A fresh upload URL for a GUID its caller is still uploading. */
  async uploadUrl(
    principal: Principal,
    guid: string,
    fileName: string | undefined,
    expiresIn: number | undefined,
    caller: CallerContext,
  ): Promise<string> {
    const row = await this.ownPending(principal, await this.rowOf(guid));
    if (fileName !== undefined && row.key !== this.keyOf(guid, fileName))
      throw new SignetError("invalid_request", "file_name is not this guid's file", "file_name");
    // To the intent's own staging key, as its first URL was.
    return (await this.uploads.signUpload(principal, row, expiresIn, caller)).url;
  }

  async multipartInit(
    principal: Principal,
    fileName: string,
    guid: string | undefined,
    caller: CallerContext,
  ): Promise<{ guid: string; uploadId: string }> {
    guid ??= randomUUID();
    const key = this.keyOf(guid, fileName);
    if (FILE_ID.test(guid))
      throw new SignetError("invalid_request", "a guid of this form is a Signet file id", "guid");
    if ((await this.rowOf(guid)) !== undefined)
      throw new SignetError("conflict", "this guid is taken");
    const { file, uploadId } = await this.uploads.openMultipart(
      principal,
      this.bucket,
      key,
      caller,
    );
    await this.map(guid, file.id);
    return { guid, uploadId };
  }

  private async multipartRow(
    principal: Principal,
    key: string,
    uploadId: string,
  ): Promise<FileTable> {
    const guid = key.slice(0, key.lastIndexOf("/"));
    const row = await this.ownPending(principal, await this.rowOf(guid));
    if (
      row.key !== key ||
      (JSON.parse(row.upload ?? "{}") as { uploadId?: string }).uploadId !== uploadId
    )
      throw new SignetError("not_found", "no such multipart upload");
    return row;
  }

  async multipartUpload(
    principal: Principal,
    key: string,
    uploadId: string,
    part: { partNumber: number; expiresIn?: number },
    caller: CallerContext,
  ): Promise<string> {
    return (
      await this.uploads.signPart(
        principal,
        await this.multipartRow(principal, key, uploadId),
        part,
        caller,
      )
    ).url;
  }

  async multipartComplete(
    principal: Principal,
    key: string,
    uploadId: string,
    parts: { PartNumber: number; ETag: string }[],
  ): Promise<void> {
    const row = await this.multipartRow(principal, key, uploadId);
    const ordered = [...parts]
      .sort((a, b) => a.PartNumber - b.PartNumber)
      .map((p) => ({ partNumber: p.PartNumber, etag: p.ETag }));
    await this.uploads.finish(row, ordered, principal.id);
  }
}
