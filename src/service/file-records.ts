/**
 * A file's row as the API shows it, and where a pending file's bytes are: shared by uploads,
 * files, the key guard, Uppy and DRS without any of them importing another.
 */
import type { FileInfo } from "../api/types.js";
import type { FileTable } from "../db/schema.js";

/** What an upload intent keeps in its row's `upload` JSON. */
export interface UploadRecord {
  tokens: string[];
  uploadId?: string;
  partSize?: number;
  /** where the bytes go until complete; absent in intents made before staging (on the key) */
  staging?: string;
  upsert?: true;
}

/** Where a pending file's bytes are (its staging key; the key itself for older intents). */
export function stagedAt(row: Pick<FileTable, "upload" | "key">): {
  key: string;
  own: boolean;
  uploadId?: string;
} {
  const record = JSON.parse(row.upload ?? "{}") as UploadRecord;
  return record.staging === undefined
    ? { key: row.key, own: false, uploadId: record.uploadId }
    : { key: record.staging, own: true, uploadId: record.uploadId };
}

/** A file row as the API answers it (sizes in bytes, times ISO 8601). */
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
    changedAt: row.changed_at ?? null,
  };
}
