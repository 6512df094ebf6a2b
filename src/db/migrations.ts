/** Schema migrations, applied in order at start-up. Never edit one that has shipped. */
import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  PostgresAdapter,
  sql,
} from "kysely";
import type { AuditPageTable } from "./schema.js";

// Shipped migrations keep their SQLite result byte for byte; where SQLite's SQL is not
// PostgreSQL's (an autoincrement key), they branch on the dialect instead of changing.
const onPostgres = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

/** An `id` primary key the database numbers: bigserial on PostgreSQL, autoincrement on SQLite. */
const withAutoId =
  (db: Kysely<unknown>) =>
  <T extends string>(t: CreateTableBuilder<T, never>) =>
    onPostgres(db)
      ? t.addColumn("id", "bigserial", (c) => c.primaryKey())
      : t.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());

const migrations: Record<string, Migration> = {
  "0001_core": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("signing_keys")
        .addColumn("kid", "text", (c) => c.primaryKey())
        .addColumn("secret_sealed", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("retired_at", "text")
        .execute();
      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("secret_hash", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema
        .createTable("objects")
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("blob_id", "text", (c) => c.notNull().unique())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("etag", "text", (c) => c.notNull())
        .addColumn("content_type", "text", (c) => c.notNull())
        .addColumn("sha256", "text", (c) => c.notNull())
        .addColumn("last_modified", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("objects_pk", ["bucket", "key"])
        .execute();
      await db.schema
        .createTable("revocations")
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("revocations_pk", ["kind", "value"])
        .execute();
      await db.schema
        .createTable("audit")
        .$call(withAutoId(db))
        .addColumn("at", "text", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("principal", "text")
        .addColumn("token_id", "text")
        .addColumn("bucket", "text")
        .addColumn("key", "text")
        .addColumn("method", "text")
        .addColumn("status", "integer")
        .addColumn("ip", "text")
        .addColumn("detail", "text")
        .execute();
      await sql`create index audit_at on audit (at)`.execute(db);
    },
  },
  "0002_grants_buckets": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("grants")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("buckets")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("config", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0003_shares": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("shares")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("principal", "text", (c) => c.notNull())
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("folder", "text", (c) => c.notNull())
        .addColumn("methods", "text", (c) => c.notNull())
        .addColumn("mode", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .execute();
      await sql`create index shares_principal on shares (principal)`.execute(db);
    },
  },
  "0004_files_uploads": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("files")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("size", "bigint")
        .addColumn("sha256", "text")
        .addColumn("content_type", "text", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("etag", "text")
        .addColumn("upload", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("committed_at", "text")
        .addColumn("deleted_at", "text")
        .execute();
      await sql`create index files_bucket_key on files (bucket, key)`.execute(db);
      await sql`create index files_pending on files (status, expires_at)`.execute(db);
      await db.schema
        .createTable("local_uploads")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("content_type", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("local_parts")
        .addColumn("upload_id", "text", (c) => c.notNull())
        .addColumn("part_number", "integer", (c) => c.notNull())
        .addColumn("blob_id", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("etag", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("local_parts_pk", ["upload_id", "part_number"])
        .execute();
      await db.schema
        .createTable("idempotency")
        .addColumn("principal", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("request", "text", (c) => c.notNull())
        .addColumn("status", "integer", (c) => c.notNull())
        .addColumn("response", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_pk", ["principal", "key"])
        .execute();
    },
  },
  "0005_backend_keys": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("backend_keys")
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("slot", "text", (c) => c.notNull())
        .addColumn("secret_sealed", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("backend_keys_pk", ["bucket", "slot"])
        .execute();
    },
  },
  "0006_webhook_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("webhook_outbox")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("event_id", "text", (c) => c.notNull())
        .addColumn("target", "integer", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("next_attempt_at", "text", (c) => c.notNull())
        .addColumn("delivered_at", "text")
        .addColumn("last_error", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await sql`create index webhook_outbox_due on webhook_outbox (delivered_at, next_attempt_at)`.execute(
        db,
      );
    },
  },
  "0007_fence_guids": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("fence_guids")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("file_id", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0008_file_versions": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("files").addColumn("changed_at", "text").execute();
      await db.schema.alterTable("files").addColumn("version", "text").execute();
    },
  },
  // Issue 14: what revocation needs of every issued token, short URLs, audit outcome/reason,
  // and expiries on revocations so that they can be pruned.
  "0009_issuance": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("issued")
        .addColumn("token_id", "text", (c) => c.primaryKey())
        .addColumn("principal", "text", (c) => c.notNull())
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("folder", "integer", (c) => c.notNull())
        .addColumn("revocable", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("issued_principal").on("issued").column("principal").execute();
      await db.schema.createIndex("issued_expires").on("issued").column("expires_at").execute();
      await db.schema
        .createTable("short_urls")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("token_id", "text", (c) => c.notNull())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("short_urls_expires")
        .on("short_urls")
        .column("expires_at")
        .execute();
      await db.schema.alterTable("audit").addColumn("outcome", "text").execute();
      await db.schema.alterTable("audit").addColumn("reason", "text").execute();
      // No more indexes on audit: each would cost every issuance an index write (the trail is
      // written far more often than it is read); filters scan, within since/until via audit_at.
      await db.schema.alterTable("revocations").addColumn("expires_at", "text").execute();
    },
  },
  "0011_change_versions": {
    async up(db: Kysely<unknown>) {
      // One row per cached topic (db/changes.ts); a change bumps its version.
      await db.schema
        .createTable("change_versions")
        .addColumn("topic", "text", (c) => c.primaryKey())
        .addColumn("version", "bigint", (c) => c.notNull())
        .execute();
    },
  },
  // The audit trail in pages (one row a batch) instead of one row a record: a row costs the
  // writer about as much as an issuance costs the request thread (docs/decisions.md).
  "0012_audit_pages": {
    async up(db: Kysely<unknown>) {
      // On PostgreSQL the Migrator runs each migration in a transaction; on SQLite it does not,
      // and this one reads and writes every old record: a stop midway (a crash, a full disk)
      // must leave the old table as it was, so that the next start converts it again.
      if (onPostgres(db)) await auditToPages(db);
      else
        await db.transaction().execute(async (tx) => {
          const { rows } = await sql`select 1 from sqlite_master
            where type = 'table' and name = 'audit'`.execute(tx);
          // Converted, then stopped before the Migrator recorded it: nothing left to do.
          if (rows.length === 0) return;
          // Pages a conversion outside a transaction left behind: the old table still holds all.
          await tx.schema.dropTable("audit_pages").ifExists().execute();
          await auditToPages(tx);
        });
    },
  },
  // Files stay true: a provider's own write URL (PUT, form POST, DELETE) at a caller's key,
  // which Signet cannot check when it is used: no file may take that key while one lives; and
  // one intent at a time promotes and commits at a key (service/key-guard.ts).
  "0013_key_guard": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("direct_writes")
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("token_id", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("direct_writes_pk", ["bucket", "key", "token_id"])
        .execute();
      await db.schema
        .createIndex("direct_writes_expires")
        .on("direct_writes")
        .column("expires_at")
        .execute();
      await db.schema
        .createTable("key_commits")
        .addColumn("bucket", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("key_commits_pk", ["bucket", "key"])
        .execute();
    },
  },
  "0014_short_url_principal": {
    // A short URL keeps its principal: the issuance record it was read from may still be on
    // another instance's audit queue when the short URL is used (service/short-urls.ts).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("short_urls").addColumn("principal", "text").execute();
      await sql`UPDATE short_urls SET principal =
        (SELECT principal FROM issued WHERE issued.token_id = short_urls.token_id)`.execute(db);
    },
  },
  "0015_webhook_destination": {
    // An outbox row names its destination (a digest of its URL), not only its index in the
    // config of the instance that queued it: instances whose configs differ (a rolling change)
    // gave each other's rows to whatever destination they had at that index. Rows queued before
    // (null) keep going by index.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("webhook_outbox").addColumn("destination", "text").execute();
    },
  },
};

/** 0012: the rows of `audit` (one a record) become pages of `audit_pages`, then `audit` goes. */
async function auditToPages(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_pages")
    .$call(withAutoId(db))
    .addColumn("min_at", "text", (c) => c.notNull())
    .addColumn("max_at", "text", (c) => c.notNull())
    .addColumn("count", "integer", (c) => c.notNull())
    .addColumn("records", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_pages_max_at").on("audit_pages").column("max_at").execute();
  // The rows written so far become pages of PAGE_RECORDS, oldest first, read by id ranges.
  const PAGE_RECORDS = 500;
  const old = db as unknown as Kysely<{ audit: LegacyAuditRow }>;
  const pages = db as unknown as Kysely<{ audit_pages: Omit<AuditPageTable, "id"> }>;
  for (let after = 0; ;) {
    const rows = await old
      .selectFrom("audit")
      .selectAll()
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE_RECORDS)
      .execute();
    if (rows.length === 0) break;
    after = Number(rows[rows.length - 1]!.id);
    const records = rows.map((r) => [
      r.at,
      r.event,
      r.principal,
      r.token_id,
      r.bucket,
      r.key,
      r.method,
      r.status,
      r.outcome ?? "allowed",
      r.reason,
      r.ip,
      r.detail === null ? null : (JSON.parse(r.detail) as unknown),
    ]);
    const times = rows.map((r) => r.at).sort();
    await pages
      .insertInto("audit_pages")
      .values({
        min_at: times[0]!,
        max_at: times[times.length - 1]!,
        count: rows.length,
        records: JSON.stringify(records),
      })
      .execute();
  }
  await db.schema.dropTable("audit").execute();
}

/** A row of the audit table before 0012 (one row a record). */
interface LegacyAuditRow {
  id: number;
  at: string;
  event: string;
  principal: string | null;
  token_id: string | null;
  bucket: string | null;
  key: string | null;
  method: string | null;
  status: number | null;
  ip: string | null;
  detail: string | null;
  outcome: string | null;
  reason: string | null;
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
