/**
 * Multipart uploads on the embedded store. Each part is a blob of its own (written like any
 * object: temp file, fsync, rename), recorded with its size and ETag. Completion streams the
 * parts, in order, into one new blob and commits it like a single PUT, never holding the
 * object in memory: a crash leaves the object absent or whole, and the parts in place.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { lockNames, uploadName } from "./name-lock.js";
import { SignetError } from "../core/errors.js";
import { checkPartList } from "../core/part-list.js";
import type { Db } from "../db/connect.js";
import { etagOf, type WriteLimits } from "./blobs.js";
import type { EmbeddedStore, StoredObject } from "./embedded.js";

export interface LocalPart {
  partNumber: number;
  size: number;
  etag: string;
}

const noSuchUpload = () => new SignetError("not_found", "no such multipart upload");

export class EmbeddedMultipart {
  constructor(
    private readonly db: Db,
    private readonly store: EmbeddedStore,
  ) {}

  async create(bucket: string, key: string, contentType: string): Promise<string> {
    const id = `u${randomBytes(16).toString("base64url")}`;
    await this.db
      .insertInto("local_uploads")
      .values({ id, bucket, key, content_type: contentType, created_at: new Date().toISOString() })
      .execute();
    return id;
  }

  private async upload(id: string, bucket: string, key: string) {
    const row = await this.db
      .selectFrom("local_uploads")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (row === undefined || row.bucket !== bucket || row.key !== key) throw noSuchUpload();
    return row;
  }

  /** Stores one part; a part sent again replaces the earlier one. */
  async putPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    limits: WriteLimits,
  ): Promise<LocalPart> {
    await this.upload(uploadId, bucket, key);
    const written = await this.store.blobs.write(body, limits);
    const etag = etagOf(written.sha256);
    let replaced: string | undefined;
    try {
      replaced = await this.db.transaction().execute(async (tx) => {
        // Completed or aborted while the part was arriving: its bytes belong to nothing now.
        await lockNames(tx, uploadName(uploadId));
        const open = await tx
          .selectFrom("local_uploads")
          .select("id")
          .where("id", "=", uploadId)
          .executeTakeFirst();
        if (open === undefined) throw noSuchUpload();
        const old = await tx
          .selectFrom("local_parts")
          .select("blob_id")
          .where("upload_id", "=", uploadId)
          .where("part_number", "=", partNumber)
          .executeTakeFirst();
        await tx
          .insertInto("local_parts")
          .values({
            upload_id: uploadId,
            part_number: partNumber,
            blob_id: written.blobId,
            size: written.size,
            etag,
          })
          .onConflict((oc) =>
            oc
              .columns(["upload_id", "part_number"])
              .doUpdateSet({ blob_id: written.blobId, size: written.size, etag }),
          )
          .execute();
        return old?.blob_id;
      });
    } catch (err) {
      await this.store.blobs.remove(written.blobId);
      throw err;
    }
    if (replaced !== undefined) await this.store.blobs.remove(replaced);
    return { partNumber, size: written.size, etag };
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<LocalPart[]> {
    await this.upload(uploadId, bucket, key);
    const rows = await this.db
      .selectFrom("local_parts")
      .selectAll()
      .where("upload_id", "=", uploadId)
      .orderBy("part_number")
      .execute();
    return rows.map((r) => ({ partNumber: r.part_number, size: Number(r.size), etag: r.etag }));
  }

  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<StoredObject> {
    const upload = await this.upload(uploadId, bucket, key);
    const stored = new Map(
      (
        await this.db
          .selectFrom("local_parts")
          .selectAll()
          .where("upload_id", "=", uploadId)
          .execute()
      ).map((r) => [r.part_number, r]),
    );
    const chosen = checkPartList(parts, stored).map((row) => ({
      blob_id: row.blob_id,
      size: Number(row.size),
    }));
    const blobs = this.store.blobs;
    const body = Readable.from(
      (async function* () {
        for (const part of chosen)
          if (part.size > 0)
            yield* await blobs.read(part.blob_id, { start: 0, end: part.size - 1 });
      })(),
    );
    let written;
    try {
      written = await blobs.write(body);
    } catch (err) {
      // The write stops reading on a failure: the part being read is closed here.
      body.destroy();
      // A part uploaded again meanwhile removed the blob the list named: nothing is stored,
      // and the caller completes again with the part's new ETag.
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new SignetError(
          "conflict",
          "a part was uploaded again while the parts were assembled: list the parts and complete again",
        );
      throw err;
    }
    const object = await this.store.commit(bucket, key, written, upload.content_type);
    await this.drop(uploadId);
    return object;
  }

  /** Removes the upload and every part it holds. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.upload(uploadId, bucket, key);
    await this.drop(uploadId);
  }

  private async drop(uploadId: string): Promise<void> {
    // Read in the transaction that deletes them: a part stored meanwhile is removed too.
    const rows = await this.db.transaction().execute(async (tx) => {
      await lockNames(tx, uploadName(uploadId));
      const parts = await tx
        .selectFrom("local_parts")
        .select("blob_id")
        .where("upload_id", "=", uploadId)
        .execute();
      await tx.deleteFrom("local_parts").where("upload_id", "=", uploadId).execute();
      await tx.deleteFrom("local_uploads").where("id", "=", uploadId).execute();
      return parts;
    });
    for (const row of rows) await this.store.blobs.remove(row.blob_id);
  }
}
