/** Table shapes of the metadata database (times are ISO 8601 UTC strings). */
import type { Generated } from "kysely";

export interface SigningKeyTable {
  kid: string;
  secret_sealed: string;
  status: "active" | "verifying" | "retired";
  created_at: string;
  retired_at: string | null;
}

export interface ApiKeyTable {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface ObjectTable {
  bucket: string;
  key: string;
  blob_id: string;
  size: number;
  etag: string;
  content_type: string;
  sha256: string;
  last_modified: string;
}

export interface RevocationTable {
  kind: "token" | "principal";
  value: string;
  created_at: string;
  /** when the revoked token expires anyway (then the entry is pruned); null: kept */
  expires_at: string | null;
}

/**
 * One page of the audit trail: the records of one batch (service/audit.ts), in the order they
 * were recorded, as a JSON array of AuditRow tuples (service/audit-sink.ts); a record removed by
 * the retention sweep is null, so that the others keep their ids (id * AUDIT_PAGE_SLOTS + index).
 */
export interface AuditPageTable {
  id: Generated<number>;
  /** the oldest and newest record's time (ISO 8601) */
  min_at: string;
  max_at: string;
  /** the records not removed */
  count: number;
  records: string;
}

/** One issued signed request: what revocation needs to find and judge it. */
export interface IssuedTable {
  token_id: string;
  principal: string;
  bucket: string;
  /** the key, or the folder (ending in "/", or "" for the whole bucket) */
  target: string;
  /** 1 when `target` is a folder */
  folder: number;
  /** who will refuse it once revoked: "signet", "provider", or "none" */
  revocable: "signet" | "provider" | "none";
  expires_at: string;
  created_at: string;
}

/** A short URL `/u/{id}` standing for one signed request. */
export interface ShortUrlTable {
  id: string;
  token_id: string;
  url: string;
  expires_at: string;
  /** the principal the signed request was issued to (null: made before 0014 with no record) */
  principal: string | null;
}

export interface GrantTable {
  id: string;
  /** the grant's JSON (core/grants.ts GrantSpec) */
  spec: string;
  created_at: string;
}

export interface BucketTable {
  name: string;
  /** the bucket's JSON config; never a secret (secrets come only from the config file) */
  config: string;
  created_at: string;
}

export interface ShareTable {
  /** the share link's token id */
  id: string;
  principal: string;
  bucket: string;
  folder: string;
  /** JSON array of methods */
  methods: string;
  mode: "redirect" | "proxy";
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
}

export interface FileTable {
  /** opaque and unguessable; holds nothing of the key */
  id: string;
  bucket: string;
  key: string;
  size: number | null;
  sha256: string | null;
  content_type: string;
  owner: string;
  status: "pending" | "committed" | "superseded" | "deleted";
  /** the stored object's ETag, recorded at commit */
  etag: string | null;
  /** JSON of the upload intent: token ids, multipart upload id and part size */
  upload: string | null;
  created_at: string;
  /** when a pending intent is swept */
  expires_at: string;
  committed_at: string | null;
  deleted_at: string | null;
  /** when Signet found the committed bytes changed outside it (409 file_changed) */
  changed_at: string | null;
  /** the committed bytes' version where a URL can be pinned to it (embedded store: blob id) */
  version: string | null;
}

export interface LocalUploadTable {
  id: string;
  bucket: string;
  key: string;
  content_type: string;
  created_at: string;
}

export interface LocalPartTable {
  upload_id: string;
  part_number: number;
  blob_id: string;
  size: number;
  etag: string;
}

export interface IdempotencyTable {
  principal: string;
  key: string;
  /** a hash of the request, so that a reused key with another request is refused */
  request: string;
  status: number;
  response: string;
  created_at: string;
}

/** A key Signet generated for a bucket's backend (a Swift temp URL key), sealed. */
export interface BackendKeyTable {
  bucket: string;
  /** "current" signs; "previous" is still held by the backend until retired */
  slot: "current" | "previous";
  /** core/keyring.ts seal(), its context naming the bucket and the slot */
  secret_sealed: string;
  created_at: string;
}

export interface WebhookOutboxTable {
  /** one row per event and destination */
  id: string;
  /** the event's id, the same for every destination (receivers dedupe on it) */
  event_id: string;
  /** the index of the destination in the config's `webhooks` of the instance that queued it */
  target: number;
  /**
   * the destination's identity (webhooks.ts `destinationId`: a digest of its URL), which every
   * instance matches against its own config; null for rows queued before migration 0015
   */
  destination: string | null;
  /** the exact JSON that is sent and signed */
  body: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
  created_at: string;
}

export interface FenceGuidTable {
  /** a Gen3 GUID (it may hold "/", as "dg.XXXX/uuid" does) */
  guid: string;
  file_id: string;
}

/**
 * A provider's own write URL at a caller's key (service/key-guard.ts): Signet never sees its use,
 * so no file takes the key before `expires_at`.
 */
export interface DirectWriteTable {
  bucket: string;
  key: string;
  token_id: string;
  expires_at: string;
}

/** The one intent promoting and committing at a key (service/key-guard.ts `exclusive`). */
export interface KeyCommitTable {
  bucket: string;
  key: string;
  /** the file id of the intent */
  holder: string;
  /** a crashed commit's hold is taken over after this */
  expires_at: string;
}

/** db/changes.ts: the version of each cached topic, bumped by every change to it. */
export interface ChangeVersionTable {
  topic: string;
  version: number;
}

export interface Database {
  issued: IssuedTable;
  short_urls: ShortUrlTable;
  change_versions: ChangeVersionTable;
  fence_guids: FenceGuidTable;
  direct_writes: DirectWriteTable;
  key_commits: KeyCommitTable;
  webhook_outbox: WebhookOutboxTable;
  files: FileTable;
  local_uploads: LocalUploadTable;
  local_parts: LocalPartTable;
  idempotency: IdempotencyTable;
  shares: ShareTable;
  grants: GrantTable;
  buckets: BucketTable;
  signing_keys: SigningKeyTable;
  api_keys: ApiKeyTable;
  objects: ObjectTable;
  revocations: RevocationTable;
  audit_pages: AuditPageTable;
  backend_keys: BackendKeyTable;
}
