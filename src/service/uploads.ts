/**
 * Files and upload intents: an app's records and its stored files stay consistent. An intent
 * is a pending file plus the signed request(s) to upload it; it commits only after Signet has
 * checked the stored object on its backend (exists, size, type, sha256), and abandoned intents
 * are swept with their partial data. What a backend cannot bind into its URLs (length, type,
 * sha256) is checked at complete: `enforcedBy` says `complete` for it.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Backend, DirectScope } from "../backends/types.js";
import { MAX_PARTS, type ScopeConstraints } from "../core/constraints.js";
import { SignetError } from "../core/errors.js";
import { assertValidKey, toFolder } from "../core/keys.js";
import { isAdmin, type Principal } from "../core/principal.js";
import { newTokenId } from "../core/token.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";
import type { CheckedScope, PresignService, SignedRequest } from "./presign.js";
import type { Revocations } from "./revocations.js";
import type { Webhooks } from "./webhooks.js";

/** How long an intent outlives its URLs before it is swept. */
export const GRACE_SECONDS = 900;

/** Constraints a backend may leave to complete: Signet reads the stored object back. */
const CHECKED_AT_COMPLETE = new Set(["contentType", "contentLength", "checksumSha256"]);

export interface UploadInput {
  bucket: string;
  key?: string;
  prefix?: string;
  name?: string;
  /** omitted only by compatibility routes: complete then records what it finds */
  size?: number;
  sha256?: string;
  contentType?: string;
  multipart?: { partSize: number };
  /** PUT (default) or POST, a browser form upload */
  method?: "PUT" | "POST";
  expiresIn?: number;
}

export interface FileInfo {
  id: string;
  bucket: string;
  key: string;
  size: number | null;
  sha256: string | null;
  contentType: string;
  owner: string;
  status: FileTable["status"];
  etag: string | null;
  createdAt: string;
  committedAt: string | null;
}

interface UploadRecord {
  tokens: string[];
  uploadId?: string;
  partSize?: number;
}

export type PartRequest = { partNumber: number; start: number; end: number } & SignedRequest;

export interface Intent {
  file: FileInfo;
  upload: SignedRequest | { uploadId: string; partSize: number; parts: PartRequest[] };
  expiresAt: string;
}

export function toFileInfo(row: FileTable): FileInfo {
  return {
    id: row.id,
    bucket: row.bucket,
    key: row.key,
    size: row.size === null ? null : Number(row.size),
    sha256: row.sha256,
    contentType: row.content_type,
    owner: row.owner,
    status: row.status,
    etag: row.etag,
    createdAt: row.created_at,
    committedAt: row.committed_at,
  };
}

const mismatch = (why: string) =>
  new SignetError("conflict", `the stored object does not match the intent: ${why}`);

const essence = (type: string) => type.split(";")[0]!.trim().toLowerCase();

export class UploadService {
  constructor(
    private readonly db: Db,
    private readonly buckets: Buckets,
    private readonly presign: PresignService,
    private readonly revocations: Revocations,
    private readonly audit: AuditLog,
    private readonly webhooks: Webhooks,
  ) {}

  async create(principal: Principal, input: UploadInput): Promise<Intent> {
    const key =
      input.key ??
      (input.prefix !== undefined && input.name !== undefined
        ? toFolder(input.prefix) + input.name
        : undefined);
    if (
      key === undefined ||
      (input.key !== undefined && (input.prefix !== undefined || input.name !== undefined))
    )
      throw new SignetError("invalid_request", "give key, or prefix and name", "key");
    assertValidKey(key);
    const now = Date.now();
    const form = input.method === "POST";
    if ((form || input.size === undefined) && input.multipart !== undefined)
      throw new SignetError(
        "invalid_request",
        "a form upload is one POST: multipart is for PUT",
        "multipart",
      );
    const checked = await this.presign.check(
      principal,
      {
        bucket: input.bucket,
        key,
        method: form ? "POST" : "PUT",
        expiresIn: input.expiresIn,
        contentType: input.contentType,
        // A form policy bounds the length; the exact size is the bound on both sides.
        ...(input.size === undefined
          ? {}
          : form
            ? { contentLengthRange: [input.size, input.size] as [number, number] }
            : { contentLength: input.size }),
        ...(input.sha256 !== undefined && input.multipart === undefined
          ? { checksumSha256: input.sha256 }
          : {}),
      },
      now,
    );
    const backend = checked.bucket.backend;
    const record: UploadRecord = { tokens: [] };
    let upload: Intent["upload"];

    if (form) {
      // A browser form upload (the reply has `fields`); backends without one answer 400.
      upload = this.presign.deliver(checked);
      record.tokens.push(checked.direct.tokenId);
    } else if (input.multipart === undefined) {
      upload = this.sign(checked, backend, checked.direct, record);
    } else {
      const partSize = input.multipart.partSize;
      const size = input.size!; // a multipart intent names its size (checked above)
      const count = Math.max(1, Math.ceil(size / partSize));
      if (count > MAX_PARTS)
        throw new SignetError(
          "invalid_request",
          `the upload would have more than ${MAX_PARTS} parts`,
          "multipart.partSize",
        );
      const uploadId = await backend.createMultipart(key, {
        contentType: input.contentType ?? "application/octet-stream",
      });
      record.uploadId = uploadId;
      record.partSize = partSize;
      const parts: PartRequest[] = [];
      for (let i = 0; i < count; i++) {
        const start = i * partSize;
        const end = Math.min(size, start + partSize) - 1;
        const constraints: ScopeConstraints = { contentLength: Math.max(0, end - start + 1) };
        if (checked.direct.constraints.ip !== undefined)
          constraints.ip = checked.direct.constraints.ip;
        const scope: DirectScope = {
          ...checked.direct,
          tokenId: newTokenId(),
          constraints,
          part: { uploadId, partNumber: i + 1 },
        };
        parts.push({
          partNumber: i + 1,
          start,
          end,
          ...this.sign(checked, backend, scope, record),
        });
      }
      upload = { uploadId, partSize, parts };
    }

    const row = this.pendingRow(principal, checked, key, record, input);
    await this.db.insertInto("files").values(row).execute();
    await this.audit.record({
      event: "upload.create",
      principal: principal.id,
      bucket: row.bucket,
      key,
      detail: { file: row.id, multipart: record.uploadId !== undefined },
    });
    return { file: toFileInfo(row), upload, expiresAt: checked.direct.expiresAt.toISOString() };
  }

  /** A pending file's row; it is swept a grace period after its URLs expire. */
  private pendingRow(
    principal: Principal,
    checked: CheckedScope,
    key: string,
    record: UploadRecord,
    input: Pick<UploadInput, "size" | "sha256" | "contentType">,
  ): FileTable {
    const now = new Date();
    return {
      id: `f_${randomBytes(16).toString("base64url")}`,
      bucket: checked.bucket.name,
      key,
      size: input.size ?? null,
      sha256: input.sha256 ?? null,
      // "" is an open intent's unknown type: complete records what it finds.
      content_type: input.contentType ?? "",
      owner: principal.id,
      status: "pending",
      etag: null,
      upload: JSON.stringify(record),
      created_at: now.toISOString(),
      expires_at: new Date(checked.direct.expiresAt.getTime() + GRACE_SECONDS * 1000).toISOString(),
      committed_at: null,
      deleted_at: null,
    };
  }

  /**
   * A multipart upload of unknown size (compatibility routes): parts are signed one by one with
   * `signPart`, and complete records the size, type and sha256 it finds.
   */
  async openMultipart(
    principal: Principal,
    bucket: string,
    key: string,
  ): Promise<{ file: FileInfo; uploadId: string }> {
    const checked = await this.presign.check(principal, { bucket, key, method: "PUT" }, Date.now());
    const uploadId = await checked.bucket.backend.createMultipart(key, {
      contentType: "application/octet-stream",
    });
    const row = this.pendingRow(principal, checked, key, { tokens: [], uploadId }, {});
    await this.db.insertInto("files").values(row).execute();
    return { file: toFileInfo(row), uploadId };
  }

  /** A signed request for one part of an open multipart upload, for its owner. */
  async signPart(
    principal: Principal,
    row: FileTable,
    partNumber: number,
    expiresIn?: number,
  ): Promise<SignedRequest> {
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    if (row.status !== "pending" || record.uploadId === undefined)
      throw new SignetError("not_found", "no such multipart upload");
    const checked = await this.presign.check(
      principal,
      { bucket: row.bucket, key: row.key, method: "PUT", expiresIn },
      Date.now(),
    );
    const scope: DirectScope = {
      ...checked.direct,
      part: { uploadId: record.uploadId, partNumber },
    };
    const signed = this.sign(checked, checked.bucket.backend, scope, record);
    // Each new part URL keeps the open upload from being swept while it is in use.
    const expiresAt = new Date(
      checked.direct.expiresAt.getTime() + GRACE_SECONDS * 1000,
    ).toISOString();
    await this.db
      .updateTable("files")
      .set({
        upload: JSON.stringify(record),
        expires_at: expiresAt > row.expires_at ? expiresAt : row.expires_at,
      })
      .where("id", "=", row.id)
      .execute();
    return signed;
  }

  /** Signs one upload request; what the backend cannot bind moves to complete (or to a link). */
  private sign(
    checked: Parameters<PresignService["deliver"]>[0],
    backend: Backend,
    scope: DirectScope,
    record: UploadRecord,
  ): SignedRequest {
    const unbound = backend.unbound(scope);
    const constraints: ScopeConstraints = { ...scope.constraints };
    const atComplete: string[] = [];
    for (const name of unbound)
      if (CHECKED_AT_COMPLETE.has(name)) {
        delete constraints[name as keyof ScopeConstraints];
        atComplete.push(name);
      }
    const direct = { ...scope, constraints };
    const signed = this.presign.deliver({
      ...checked,
      direct,
      request: { ...checked.request, constraints },
    });
    for (const name of atComplete) signed.enforcedBy[name] = "complete";
    // Complete compares the stored type with the intent's, and the store keeps the one the
    // upload sent: unsigned, it must still be sent (`headers` lists what the client must send).
    if (atComplete.includes("contentType") && scope.constraints.contentType !== undefined)
      signed.headers["content-type"] = scope.constraints.contentType;
    record.tokens.push(scope.tokenId);
    return signed;
  }

  private async visible(principal: Principal, id: string): Promise<FileTable> {
    const row = await this.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    // Someone else's file looks like no file at all.
    if (row === undefined || (!isAdmin(principal) && row.owner !== principal.id))
      throw new SignetError("not_found", "file not found");
    return row;
  }

  async complete(
    principal: Principal,
    id: string,
    parts: { partNumber: number; etag: string }[] | undefined,
  ): Promise<FileInfo> {
    return this.finish(await this.visible(principal, id), parts, principal.id);
  }

  /**
   * Completes a pending file whose caller was already authorized: multipart completion with
   * Signet's credentials, then the checks of the stored object, then the commit.
   */
  async finish(
    row: FileTable,
    parts: { partNumber: number; etag: string }[] | undefined,
    by: string,
  ): Promise<FileInfo> {
    const id = row.id;
    if (row.status !== "pending")
      throw new SignetError("conflict", `the file is already ${row.status}`);
    const bucket = this.buckets.get(row.bucket);
    if (bucket === undefined) throw new SignetError("not_found", "bucket not found");
    const backend = bucket.backend;
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    const size = row.size === null ? undefined : Number(row.size);

    if (record.uploadId !== undefined) {
      if (parts === undefined)
        throw new SignetError(
          "invalid_request",
          "a multipart upload completes with its parts",
          "parts",
        );
      await this.checkParts(backend, row.key, record, size, parts);
      await backend.completeMultipart(row.key, record.uploadId, parts);
    } else if (parts !== undefined) {
      throw new SignetError(
        "invalid_request",
        "this upload is a single PUT: complete it without parts",
        "parts",
      );
    }

    const info = await backend.head(row.key);
    if (info === undefined)
      throw new SignetError("conflict", "nothing has been uploaded for this file yet");
    let problem: string | undefined;
    if (size !== undefined && info.size !== size) problem = `size is ${info.size}, not ${size}`;
    else if (row.content_type !== "" && essence(info.contentType) !== essence(row.content_type))
      problem = `type is ${info.contentType}, not ${row.content_type}`;
    const sha256 =
      problem === undefined ? (info.sha256 ?? (await readBackSha256(backend, row.key))) : undefined;
    if (problem === undefined && row.sha256 !== null && sha256 !== row.sha256)
      problem = "sha256 differs";
    if (problem !== undefined) {
      // Outside the intent: the object is deleted and never committed; the intent stays pending.
      await backend.delete(row.key);
      throw mismatch(problem);
    }

    const changes = {
      status: "committed" as const,
      content_type: row.content_type === "" ? info.contentType : row.content_type,
      etag: info.etag,
      sha256: sha256 ?? null,
      size: info.size,
      committed_at: new Date().toISOString(),
    };
    const committed = toFileInfo({ ...row, ...changes });
    // The commit and its webhook event are one transaction: an event is never lost or invented.
    await this.db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable("files")
        .set(changes)
        .where("id", "=", id)
        .where("status", "=", "pending")
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0)
        throw new SignetError("conflict", "the file was completed or aborted meanwhile");
      await this.webhooks.enqueue(tx, "file.committed", committed);
    });
    // After commit the intent's URLs no longer work (Signet's own tokens; a provider's URL
    // cannot be revoked, but the recorded ETag shows a later overwrite).
    for (const token of record.tokens) await this.revocations.revoke("token", token);
    await this.audit.record({
      event: "upload.complete",
      principal: by,
      bucket: row.bucket,
      key: row.key,
      detail: { file: id },
    });
    return committed;
  }

  /** Each part present, with the size the plan gave it and the ETag the client reports. */
  private async checkParts(
    backend: Backend,
    key: string,
    record: UploadRecord,
    size: number | undefined,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    // An open upload (no size given) has no plan: its parts need only exist, in order.
    const count =
      size === undefined || record.partSize === undefined
        ? parts.length
        : Math.max(1, Math.ceil(size / record.partSize));
    if (parts.length !== count || parts.some((p, i) => p.partNumber !== i + 1))
      throw new SignetError("conflict", `complete names parts 1 to ${count}, in order, each once`);
    const stored = new Map(
      (await backend.listParts(key, record.uploadId!)).map((p) => [p.partNumber, p]),
    );
    for (const part of parts) {
      const found = stored.get(part.partNumber);
      if (found === undefined)
        throw new SignetError("conflict", `part ${part.partNumber} has not been uploaded`);
      if (size === undefined || record.partSize === undefined) continue;
      const expected =
        part.partNumber < count ? record.partSize : size - record.partSize * (count - 1);
      if (found.size !== expected)
        throw new SignetError(
          "conflict",
          `part ${part.partNumber} has ${found.size} bytes, not ${expected}`,
        );
    }
  }

  async abort(principal: Principal, id: string): Promise<FileInfo> {
    const row = await this.visible(principal, id);
    if (row.status !== "pending")
      throw new SignetError("conflict", `the file is already ${row.status}`);
    return this.discard(row, principal.id);
  }

  /** Removes an intent's partial data and marks it deleted. */
  private async discard(row: FileTable, by: string): Promise<FileInfo> {
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    const backend = this.buckets.get(row.bucket)?.backend;
    if (backend !== undefined) {
      if (record.uploadId !== undefined)
        await backend.abortMultipart(row.key, record.uploadId).catch(() => undefined);
      // A single PUT lands on the key itself: remove it unless a committed file owns that key.
      else if (!(await this.hasCommittedFile(row.bucket, row.key))) await backend.delete(row.key);
    }
    for (const token of record.tokens) await this.revocations.revoke("token", token);
    const deletedAt = new Date().toISOString();
    await this.db
      .updateTable("files")
      .set({ status: "deleted", deleted_at: deletedAt })
      .where("id", "=", row.id)
      .where("status", "=", "pending")
      .execute();
    await this.audit.record({
      event: "upload.abort",
      principal: by,
      bucket: row.bucket,
      key: row.key,
      detail: { file: row.id },
    });
    return toFileInfo({ ...row, status: "deleted", deleted_at: deletedAt });
  }

  private async hasCommittedFile(bucket: string, key: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("files")
      .select("id")
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .where("status", "=", "committed")
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Sweeps intents whose URLs and grace period have run out, with their partial data. */
  async sweep(now = new Date()): Promise<number> {
    const expired = await this.db
      .selectFrom("files")
      .selectAll()
      .where("status", "=", "pending")
      .where("expires_at", "<", now.toISOString())
      .limit(1000)
      .execute();
    for (const row of expired) await this.discard(row, "system:sweeper");
    return expired.length;
  }
}

async function readBackSha256(backend: Backend, key: string): Promise<string | undefined> {
  const object = await backend.get(key);
  if (object === undefined) return undefined;
  const hash = createHash("sha256");
  for await (const chunk of object.body) hash.update(chunk as Buffer);
  return hash.digest("base64");
}
