/**
 * Files and upload intents: an app's records and its stored files stay consistent. An intent
 * is a pending file plus the signed request(s) to upload it; it commits only after Signet has
 * checked the stored object on its backend (exists, size, type, sha256), and abandoned intents
 * are swept with their partial data. What a backend cannot bind into its URLs (length, type,
 * sha256) is checked at complete: `enforcedBy` says `complete` for it.
 *
 * Files stay true: an intent's bytes go to its own staging key (core/keys.ts `stagingKey`),
 * never where committed bytes are served; complete checks them there and only then promotes
 * them to the file's key (Backend.promote: the embedded store re-points the blob, clouds copy
 * server-side). Mismatch, abort and sweep remove only the staging key. A key held by another
 * committed or pending file is 409 `conflict` unless the intent says `upsert: true` (which also
 * needs delete there); the held file is superseded at commit, never before.
 */
import { createHash, randomBytes } from "node:crypto";
import { nothingStaged } from "../backends/staging.js";
import type { Backend, DirectScope, PartInfo } from "../backends/types.js";
import { MAX_PARTS, type ScopeConstraints } from "../core/constraints.js";
import { SignetError } from "../core/errors.js";
import { checkPartList, type ListedPart } from "../core/part-list.js";
import { assertCallerKey, stagingKey, toFolder } from "../core/keys.js";
import { isAdmin, type Principal } from "../core/principal.js";
import { type Db, dialectOf } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Bucket, Buckets } from "./buckets.js";
import { heldBy, type KeyGuard } from "./key-guard.js";
import type {
  CallerContext,
  CheckedScope,
  Issuance,
  Plan,
  SignedRequest,
  Variant,
} from "./issuance.js";
import type { Revocations } from "./revocations.js";
import type { Webhooks } from "./webhooks.js";
import type { FileInfo, UploadInput as ApiUploadInput } from "../api/types.js";
import { stagedAt, toFileInfo, type UploadRecord } from "./file-records.js";
import { extend } from "../core/extend.js";
import { endPending, type IntentEnds, revokeLate } from "./intent-end.js";

/** How long an intent outlives its URLs before it is swept. */
export const GRACE_SECONDS = 900;

/** Constraints a backend may leave to complete: Signet reads the stored object back. */
const CHECKED_AT_COMPLETE = new Set(["contentType", "contentLength", "checksumSha256"]);

/**
 * An intent as the service takes it: the API's `UploadInput`, except that `size` may be omitted
 * by compatibility routes (Fence, Uppy); complete then records what it finds. A missing
 * `contentType` stays open here too: the API route fills in its default before calling.
 */
export type UploadInput = Omit<ApiUploadInput, "size"> & { size?: number };

/** 413 when `size` bytes do not fit the bucket's `maxObjectSize`. */
export function assertFitsBucket(bucket: Bucket, size: number | undefined, field = "size"): void {
  const max = bucket.config.maxObjectSize;
  if (max !== undefined && size !== undefined && size > max)
    throw new SignetError(
      "payload_too_large",
      `this bucket takes objects of at most ${max} bytes`,
      field,
    );
}

const newFileId = () => `f_${randomBytes(16).toString("base64url")}`;

export type PartRequest = { partNumber: number; start: number; end: number } & SignedRequest;

export interface Intent {
  file: FileInfo;
  upload: SignedRequest | { uploadId: string; partSize: number; parts: PartRequest[] };
  expiresAt: string;
}

const mismatch = (why: string) =>
  new SignetError("conflict", `the stored object does not match the intent: ${why}`);

const essence = (type: string) => type.split(";")[0]!.trim().toLowerCase();

export class UploadService {
  /** what ending a pending intent writes to (intent-end.ts) */
  private readonly ends: IntentEnds;

  constructor(
    private readonly db: Db,
    private readonly buckets: Buckets,
    private readonly issuance: Issuance,
    private readonly revocations: Revocations,
    private readonly audit: AuditLog,
    private readonly webhooks: Webhooks,
    private readonly guard: KeyGuard,
  ) {
    this.ends = { db, revocations, webhooks, audit };
  }

  /** `caller.ip` is the client's address, recorded with each issuance. */
  async create(principal: Principal, input: UploadInput, caller: CallerContext): Promise<Intent> {
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
    assertCallerKey(key);
    const form = input.method === "POST";
    if ((form || input.size === undefined) && input.multipart !== undefined)
      throw new SignetError(
        "invalid_request",
        "a form upload is one POST: multipart is for PUT",
        "multipart",
      );
    const checked = this.issuance.plan(
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
        short: input.short,
      },
      { action: "upload", ip: caller.ip, detail: { intent: true } },
    );
    // Refusals around the plan (the bucket's limits, a key a file holds, too many parts) are
    // the intent's refusals too: audited as the plan's own are.
    let id: string;
    let record: UploadRecord;
    let upload: Intent["upload"];
    try {
      assertFitsBucket(checked.bucket, input.size);
      // An intent commits only after Signet has checked and promoted the stored object with its
      // own credentials: without them (a Swift bucket with only a temp URL key) it could only fail
      // at complete, so it is refused now.
      if (!checked.bucket.backend.capabilities.proxy)
        throw new SignetError(
          "constraint_not_enforceable",
          "this bucket has no credentials for Signet to check and commit an upload at complete",
          "bucket",
        );
      await this.assertMayTake(principal, checked.bucket.name, key, input.upsert === true);
      id = newFileId();
      const backend = checked.bucket.backend;
      record = { tokens: [], staging: stagingKey(id) };
      if (input.upsert === true) record.upsert = true;

      if (form) {
        // A browser form upload (the reply has `fields`); backends without one answer 400.
        upload = await checked.sign({ key: record.staging });
        record.tokens.push(upload.id);
      } else if (input.multipart === undefined) {
        upload = await this.sign(checked, {}, record);
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
        const uploadId = await backend.createMultipart(record.staging!, {
          contentType: input.contentType ?? "application/octet-stream",
        });
        record.uploadId = uploadId;
        record.partSize = partSize;
        const parts: PartRequest[] = [];
        for (let i = 0; i < count; i++) {
          const { start, end } = partBounds(size, partSize, i + 1);
          parts.push({
            partNumber: i + 1,
            start,
            end,
            ...(await this.sign(
              checked,
              {
                constraints: partConstraints(checked, end - start + 1),
                part: { uploadId, partNumber: i + 1 },
              },
              record,
            )),
          });
        }
        upload = { uploadId, partSize, parts };
      }
    } catch (err) {
      throw await checked.refused(err);
    }
    const row = await this.insertPending(id, principal, checked, key, record, input);
    return { file: toFileInfo(row), upload, expiresAt: checked.direct.expiresAt.toISOString() };
  }

  /** Stores a new intent's pending row and audits its creation (`upload.create`). */
  private async insertPending(
    id: string,
    principal: Principal,
    checked: CheckedScope,
    key: string,
    record: UploadRecord,
    input: Pick<UploadInput, "size" | "sha256" | "contentType" | "upsert">,
  ): Promise<FileTable> {
    const row = this.pendingRow(id, principal, checked, key, record, input);
    await this.db.insertInto("files").values(row).execute();
    await this.audit.record({
      event: "upload.create",
      principal: principal.id,
      bucket: row.bucket,
      key,
      detail: { file: row.id, multipart: record.uploadId !== undefined, upsert: !!input.upsert },
    });
    return row;
  }

  /**
   * The key is free, or the caller replaces what holds it: `upsert` needs delete there too.
   * Checked again at commit (two intents may race to a free key).
   */
  private async assertMayTake(
    principal: Principal,
    bucket: string,
    key: string,
    upsert: boolean,
  ): Promise<void> {
    if (upsert) this.issuance.authorize(principal, { bucket, key, method: "DELETE" });
    else {
      const held = await this.guard.holders(bucket, key);
      if (held.length > 0) throw heldBy(held[0]!);
    }
    // Nor may a file take a key a provider's own write URL still reaches (key-guard.ts).
    await this.guard.assertNoDirectWrites(bucket, key);
  }

  /** A pending file's row; it is swept a grace period after its URLs expire. */
  private pendingRow(
    id: string,
    principal: Principal,
    checked: CheckedScope,
    key: string,
    record: UploadRecord,
    input: Pick<UploadInput, "size" | "sha256" | "contentType">,
  ): FileTable {
    const now = new Date();
    return {
      id,
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
      changed_at: null,
      version: null,
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
    caller: CallerContext,
  ): Promise<{ file: FileInfo; uploadId: string }> {
    assertCallerKey(key);
    const checked = this.issuance.plan(
      principal,
      { bucket, key, method: "PUT" },
      { action: "upload", ip: caller.ip },
    );
    const id = newFileId();
    const record: UploadRecord = { tokens: [], staging: stagingKey(id) };
    try {
      await this.assertMayTake(principal, checked.bucket.name, key, false);
      record.uploadId = await checked.bucket.backend.createMultipart(record.staging!, {
        contentType: "application/octet-stream",
      });
    } catch (err) {
      throw await checked.refused(err);
    }
    const row = await this.insertPending(id, principal, checked, key, record, {});
    return { file: toFileInfo(row), uploadId: record.uploadId };
  }

  /**
   * `POST /v1/uploads/{id}/parts`: fresh signed requests for parts of an open multipart upload,
   * in the order asked, under one plan (one grant check, one issuance for the quotas, as the
   * intent's own parts). A part's length (bytes) is bound where it is known: given with it, else
   * its share of an intent of known size, as in the intent's own part requests (S3 part URLs need
   * it); `start` and `end` (inclusive byte offsets) come with it then. Every part number is
   * checked before any is signed, so a refusal issues nothing: 404 for no such upload, 400
   * `invalid_part` for a part past the end of an intent of known size.
   */
  async signParts(
    principal: Principal,
    row: FileTable,
    request: { parts: { partNumber: number; contentLength?: number }[]; expiresIn?: number },
    caller: CallerContext,
  ): Promise<(SignedRequest & { partNumber: number; start?: number; end?: number })[]> {
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    const ctx = { action: "upload.part", ip: caller.ip, detail: { file: row.id } };
    const scope = { bucket: row.bucket, key: row.key, method: "PUT" as const };
    const known = row.size !== null && record.partSize !== undefined;
    let bounds: ({ start: number; end: number } | undefined)[];
    try {
      if (row.status !== "pending" || record.uploadId === undefined)
        throw new SignetError("not_found", "no such multipart upload");
      bounds = request.parts.map(({ partNumber }) =>
        known ? partBounds(row.size!, record.partSize!, partNumber) : undefined,
      );
    } catch (err) {
      throw await this.issuance.refusal(principal, scope, ctx, err);
    }
    // An intent of known size is checked against the grants as the intent itself was (its size
    // and type: a grant's `require` may ask for them); its parts bind what the intent's own do.
    const checked = this.issuance.plan(
      principal,
      {
        ...scope,
        expiresIn: request.expiresIn,
        ...(known ? { contentLength: row.size!, contentType: row.content_type || undefined } : {}),
      },
      ctx,
    );
    const signed = [];
    for (const [i, { partNumber, contentLength }] of request.parts.entries()) {
      const range = bounds[i];
      const length =
        contentLength ?? (range === undefined ? undefined : range.end - range.start + 1);
      const constraints =
        range !== undefined
          ? partConstraints(checked, length!)
          : length === undefined
            ? undefined
            : extend(checked.direct.constraints, { contentLength: length });
      const one = await this.sign(
        checked,
        {
          part: { uploadId: record.uploadId, partNumber },
          ...(constraints === undefined ? {} : { constraints }),
        },
        record,
      );
      signed.push({ partNumber, ...range, ...one });
    }
    await this.keepAlive(
      row,
      signed.map((s) => s.id),
      checked,
    );
    return signed;
  }

  /** One part of an open multipart upload, for its owner: `signParts` for one. */
  async signPart(
    principal: Principal,
    row: FileTable,
    part: { partNumber: number; expiresIn?: number; contentLength?: number },
    caller: CallerContext,
  ): Promise<SignedRequest & { start?: number; end?: number }> {
    const { expiresIn, ...one } = part;
    return (await this.signParts(principal, row, { parts: [one], expiresIn }, caller))[0]!;
  }

  /** A fresh single-PUT URL for a pending single upload of its owner (Fence's re-upload). */
  async signUpload(
    principal: Principal,
    row: FileTable,
    expiresIn: number | undefined,
    caller: CallerContext,
  ): Promise<SignedRequest> {
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    if (row.status !== "pending" || record.uploadId !== undefined)
      throw new SignetError("not_found", "no such upload");
    const checked = this.issuance.plan(
      principal,
      { bucket: row.bucket, key: row.key, method: "PUT", expiresIn },
      { action: "upload", ip: caller.ip, detail: { file: row.id } },
    );
    const signed = await this.sign(checked, {}, record);
    await this.keepAlive(row, [signed.id], checked);
    return signed;
  }

  /**
   * Adds the token ids of URLs just signed for a pending intent to its record (complete and
   * abort revoke them all), and keeps the open upload from being swept while they are in use.
   * One signing at a time per intent (the row locked on PostgreSQL; SQLite's one connection
   * runs transactions in turn), so signings at once each keep their ids, however many: a
   * rewrite-if-unchanged loop with a bound refused the ones that lost too often. An intent that
   * ended meanwhile revokes them here, since its end read the list without them; the caller
   * then gets 404.
   */
  private async keepAlive(row: FileTable, added: string[], checked: CheckedScope) {
    const until = new Date(checked.direct.expiresAt.getTime() + GRACE_SECONDS * 1000).toISOString();
    const kept = await this.db.transaction().execute(async (tx) => {
      let read = tx
        .selectFrom("files")
        .select(["upload", "expires_at", "status"])
        .where("id", "=", row.id);
      if (dialectOf(tx) === "postgres") read = read.forUpdate();
      const current = await read.executeTakeFirst();
      if (current?.status !== "pending") return false;
      const record = JSON.parse(current.upload ?? "{}") as UploadRecord;
      record.tokens = [...record.tokens, ...added];
      await tx
        .updateTable("files")
        .set({
          upload: JSON.stringify(record),
          expires_at: until > current.expires_at ? until : current.expires_at,
        })
        .where("id", "=", row.id)
        .execute();
      return true;
    });
    if (kept) return;
    await this.revocations.revokeTokens(added);
    throw new SignetError("not_found", "no such multipart upload");
  }

  /** Signs one upload request; what the backend cannot bind moves to complete (or to a link). */
  private async sign(plan: Plan, variant: Variant, record: UploadRecord): Promise<SignedRequest> {
    // An intent's bytes go to its own staging key (intents made before staging wrote the key).
    if (record.staging !== undefined) variant = extend(variant, { key: record.staging });
    const scope: DirectScope = extend(plan.direct, {
      key: variant.key ?? plan.direct.key,
      constraints: variant.constraints ?? plan.direct.constraints,
    });
    if (variant.part !== undefined) scope.part = variant.part;
    const unbound = plan.bucket.backend.unbound(scope);
    const constraints: ScopeConstraints = { ...scope.constraints };
    const atComplete: string[] = [];
    for (const name of unbound)
      if (CHECKED_AT_COMPLETE.has(name)) {
        delete constraints[name as keyof ScopeConstraints];
        atComplete.push(name);
      }
    const signed = await plan.sign(extend(variant, { constraints }));
    for (const name of atComplete) signed.enforcedBy[name] = "complete";
    // Complete compares the stored type with the intent's, and the store keeps the one the
    // upload sent: unsigned, it must still be sent (`headers` lists what the client must send).
    if (atComplete.includes("contentType") && scope.constraints.contentType !== undefined)
      signed.headers["content-type"] = scope.constraints.contentType;
    record.tokens.push(signed.id);
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

  /** Idempotent: completing a committed file answers the file as it is. */
  async complete(
    principal: Principal,
    id: string,
    parts: { partNumber: number; etag: string }[] | undefined,
  ): Promise<FileInfo> {
    const row = await this.visible(principal, id);
    if (row.status === "committed") return toFileInfo(row);
    return this.finish(row, parts, principal.id);
  }

  /**
   * Completes a pending file whose caller was already authorized: multipart completion with
   * Signet's credentials, the checks of the staged object, its promotion to the key, then the
   * commit (superseding what the key held, for an upsert).
   */
  async finish(
    row: FileTable,
    parts: { partNumber: number; etag: string }[] | undefined,
    by: string,
  ): Promise<FileInfo> {
    const id = row.id;
    if (row.status !== "pending")
      throw new SignetError("conflict", `the file is already ${row.status}`);
    const bucket = this.buckets.require(row.bucket);
    const backend = bucket.backend;
    const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
    const staged = stagedAt(row);
    const size = row.size === null ? undefined : Number(row.size);

    if (record.uploadId !== undefined) {
      // Parts may be omitted: the stored parts are then taken, in order.
      const given =
        parts ??
        (await backend.listParts(staged.key, record.uploadId)).map(({ partNumber, etag }) => ({
          partNumber,
          etag,
        }));
      const checked = await this.checkParts(
        backend,
        staged.key,
        record,
        size,
        given,
        parts !== undefined,
      );
      assertFitsBucket(
        bucket,
        checked.reduce((sum, p) => sum + p.size, 0),
      );
      await backend.completeMultipart(
        staged.key,
        record.uploadId,
        checked.map(({ partNumber, etag }) => ({ partNumber, etag })),
      );
    } else if (parts !== undefined && parts.length > 0) {
      throw new SignetError(
        "invalid_request",
        "this upload is a single PUT: complete it without parts",
        "parts",
      );
    }

    const info = await backend.head(staged.key);
    if (info === undefined) throw nothingStaged();
    let problem: string | undefined;
    const max = bucket.config.maxObjectSize;
    if (size !== undefined && info.size !== size) problem = `size is ${info.size}, not ${size}`;
    else if (max !== undefined && info.size > max)
      problem = `size is ${info.size}, above this bucket's ${max}`;
    else if (row.content_type !== "" && essence(info.contentType) !== essence(row.content_type))
      problem = `type is ${info.contentType}, not ${row.content_type}`;
    const sha256 =
      problem === undefined
        ? (info.sha256 ?? (await readBackSha256(backend, staged.key)))
        : undefined;
    if (problem === undefined && row.sha256 !== null && sha256 !== row.sha256)
      problem = "sha256 differs";
    if (problem !== undefined) {
      // Outside the intent: its own staged bytes are deleted (never the key's); it stays pending.
      if (staged.own) await backend.delete(staged.key);
      throw mismatch(problem);
    }

    // One commit at a time per key: what is checked here still holds at the commit.
    const committed = await this.guard.exclusive(row.bucket, row.key, id, async () => {
      // Without upsert the key must still be free of committed files (intents may race).
      const held = await this.guard.holders(row.bucket, row.key, id);
      const committedHolders = held.filter((h) => h.status === "committed");
      if (record.upsert !== true && committedHolders.length > 0) throw heldBy(committedHolders[0]!);
      // A provider's write URL signed for the key meanwhile: it could change the file unseen.
      await this.guard.assertNoDirectWrites(row.bucket, row.key);
      // Only the bytes checked above: the intent's URLs still live and may have staged others.
      const final = staged.own ? await backend.promote(staged.key, row.key, info) : info;

      const changes = {
        status: "committed" as const,
        content_type: row.content_type === "" ? info.contentType : row.content_type,
        etag: final.etag,
        version: final.version ?? null,
        sha256: sha256 ?? null,
        size: final.size,
        committed_at: new Date().toISOString(),
      };
      const file = toFileInfo({ ...row, ...changes });
      // The commit, the files it supersedes and their webhook events are one transaction: an
      // event is never lost or invented.
      await this.db.transaction().execute(async (tx) => {
        const updated = await tx
          .updateTable("files")
          .set(changes)
          .where("id", "=", id)
          .where("status", "=", "pending")
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0)
          throw new SignetError("conflict", "the file was completed or aborted meanwhile");
        const replaced = await tx
          .selectFrom("files")
          .select("id")
          .where("bucket", "=", row.bucket)
          .where("key", "=", row.key)
          .where("status", "=", "committed")
          .where("id", "!=", id)
          .execute();
        // The key's hold keeps the check above true; this is its last word all the same.
        if (record.upsert !== true && replaced.length > 0)
          throw new SignetError(
            "conflict",
            `the key holds committed file ${replaced[0]!.id}`,
            "key",
          );
        await this.guard.supersede(
          replaced.map((r) => r.id),
          tx,
        );
        await this.webhooks.enqueue(tx, "file.committed", file);
      });
      return file;
    });
    // After commit the intent's URLs no longer work (Signet's own tokens; a provider's URL
    // cannot be revoked, but it names the staging key, which no file serves), all revoked in
    // one transaction with one change notice. Read after the status changed: a URL signed
    // meanwhile is in the list, or its signing saw the change and revoked it (keepAlive).
    await revokeLate(this.db, this.revocations, row.id);
    // A PUT through them between the commit and now staged bytes again, which no file owns and
    // no sweep would find. Signet checks its own URLs' revocation as each write commits, so
    // after this delete nothing more is staged (a provider's own URL cannot be revoked).
    if (staged.own && backend.capabilities.signetVerified) await backend.delete(staged.key);
    await this.audit.record({
      event: "upload.complete",
      principal: by,
      bucket: row.bucket,
      key: row.key,
      detail: { file: id },
    });
    return committed;
  }

  /**
   * The parts list checked (core/part-list.ts: order, each uploaded, its ETag), then against
   * the plan: parts 1 to N, each of the size the plan gave it. `listed` says the caller gave the
   * list (else it is the stored parts). Answers the stored parts named.
   */
  private async checkParts(
    backend: Backend,
    key: string,
    record: UploadRecord,
    size: number | undefined,
    parts: ListedPart[],
    listed: boolean,
  ): Promise<PartInfo[]> {
    const stored = checkPartList(
      parts,
      new Map((await backend.listParts(key, record.uploadId!)).map((p) => [p.partNumber, p])),
    );
    // An open upload (no size given) has no plan: its parts need only exist, in order.
    if (size === undefined || record.partSize === undefined) return stored;
    const count = Math.max(1, Math.ceil(size / record.partSize));
    const extra = stored.find((p) => p.partNumber > count);
    const gap = stored.findIndex((p, i) => p.partNumber !== i + 1);
    const missing = gap < 0 ? stored.length + 1 : gap + 1;
    if (extra !== undefined || stored.length !== count)
      throw new SignetError(
        // Without a list, the stored parts were taken: the upload is unfinished, not the request wrong.
        listed ? "invalid_part" : "conflict",
        extra !== undefined
          ? `part ${extra.partNumber} is not in this upload's plan of ${count} parts`
          : `part ${missing} is missing: complete names parts 1 to ${count}`,
        listed ? "parts" : undefined,
      );
    for (const part of stored) {
      const expected =
        part.partNumber < count ? record.partSize : size - record.partSize * (count - 1);
      if (part.size !== expected)
        throw new SignetError(
          "conflict",
          `part ${part.partNumber} has ${part.size} bytes, not ${expected}`,
        );
    }
    return stored;
  }

  /**
   * Idempotent, like complete: aborting an intent already aborted (or swept) answers the file
   * as it is. A committed file is 409 `conflict` (deleting it is `DELETE /v1/files/{id}`).
   */
  async abort(principal: Principal, id: string): Promise<FileInfo> {
    const row = await this.visible(principal, id);
    if (row.status === "deleted" && row.committed_at === null) return toFileInfo(row);
    if (row.status !== "pending")
      throw new SignetError("conflict", `the file is already ${row.status}`);
    return (await this.discard(row, principal.id))!;
  }

  /**
   * Removes an intent's own partial data (its staging key or multipart upload, never the
   * file's key) and marks it deleted. `expiredBefore` (the sweeper): only if it is still past
   * its expiry once held, else undefined (its URLs were renewed meanwhile, on this instance or
   * another: it lives on).
   */
  private async discard(
    found: FileTable,
    by: string,
    expiredBefore?: Date,
  ): Promise<FileInfo | undefined> {
    // Holding the key as complete does: 409 while the intent is being committed (its staged
    // bytes may already be at the key), and judged on the row as it is once the hold is taken.
    return this.guard.exclusive(found.bucket, found.key, `discard:${found.id}`, async () => {
      const row = await this.db
        .selectFrom("files")
        .selectAll()
        .where("id", "=", found.id)
        .executeTakeFirstOrThrow();
      if (row.status === "deleted") return toFileInfo(row);
      if (row.status !== "pending")
        throw new SignetError("conflict", `the file is already ${row.status}`);
      if (expiredBefore !== undefined && row.expires_at >= expiredBefore.toISOString())
        return undefined;
      return endPending(this.ends, row, this.buckets.get(row.bucket)?.backend, {
        by,
        audit: "upload.abort",
      });
    });
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
    let swept = 0;
    for (const row of expired) {
      try {
        // Judged again once held: a renewal since the read above keeps it.
        if ((await this.discard(row, "system:sweeper", now)) !== undefined) swept++;
      } catch (err) {
        // Being committed (or deleted) right now: the next sweep judges it again.
        if (!(err instanceof SignetError && err.code === "conflict")) throw err;
      }
    }
    return swept;
  }
}

async function readBackSha256(backend: Backend, key: string): Promise<string | undefined> {
  const object = await backend.get(key);
  if (object === undefined) return undefined;
  const hash = createHash("sha256");
  for await (const chunk of object.body) hash.update(chunk as Buffer);
  return hash.digest("base64");
}

/**
 * Part `partNumber` (from 1) of an upload of `size` bytes in parts of `partSize`: its inclusive
 * byte offsets. 400 `invalid_part` past the last part (a zero-byte upload has one, empty).
 */
export function partBounds(
  size: number,
  partSize: number,
  partNumber: number,
): { start: number; end: number } {
  const count = Math.max(1, Math.ceil(size / partSize));
  if (partNumber > count)
    throw new SignetError(
      "invalid_part",
      `the upload has ${count} part${count === 1 ? "" : "s"}: there is no part ${partNumber}`,
      "partNumbers",
    );
  const start = (partNumber - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) - 1 };
}

/**
 * What a part of an intent of known size binds, as the intent's own part requests do: its
 * length (bytes) and the scope's client addresses; not the whole upload's size or type, which
 * complete checks.
 */
function partConstraints(checked: Pick<CheckedScope, "direct">, length: number): ScopeConstraints {
  const constraints: ScopeConstraints = { contentLength: Math.max(0, length) };
  if (checked.direct.constraints.ip !== undefined) constraints.ip = checked.direct.constraints.ip;
  return constraints;
}
