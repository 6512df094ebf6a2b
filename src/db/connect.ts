/**
 * Opens the metadata database and brings its schema up to date.
 *
 * SQLite (better-sqlite3, one file in the data dir) is the embedded default; a `postgres://`
 * URL (SIGNET_DATABASE_URL or the config's `database.url`) selects PostgreSQL through Kysely's
 * PostgresDialect and the `pg` driver, for many instances sharing one metadata store.
 *
 * Migrations run at every start and by `signet migrate`. On PostgreSQL, Kysely's Migrator takes
 * a transaction-scoped advisory lock (`pg_advisory_xact_lock`) around the whole run, so two
 * instances starting together apply each migration once; the loser waits and finds nothing to do.
 */
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, sql, SqliteDialect } from "kysely";
import type pg from "pg";
import { FALLBACK_PAGES, startCheckpointer } from "./checkpoints.js";
import { migrationProvider } from "./migrations.js";
import { withPreparedStatements } from "./statements.js";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;

export type DialectName = "sqlite" | "postgres";

/** Where the metadata lives: a PostgreSQL URL, else the SQLite file at `sqlitePath`. */
export interface DatabaseTarget {
  url?: string | undefined;
  sqlitePath: string;
}

/** Which SQL dialect a handle speaks (migrations and a few queries branch on it). */
export function dialectOf(db: Kysely<unknown> | Db): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** Opens the database named by `target` and migrates it to the latest schema. */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  if (target.url === undefined || target.url === "") return openSqlite(target.sqlitePath);
  if (!isPostgresUrl(target.url))
    throw new Error("database url must start with postgres:// or postgresql://");
  return openPostgres(target.url);
}

/** The SQLite file behind each handle `openSqlite` made (for a second connection's writer). */
const sqliteFiles = new WeakMap<Db, string>();

/** The file of a SQLite handle opened by `openSqlite`; undefined on PostgreSQL or in memory. */
export function sqliteFileOf(db: Db): string | undefined {
  return sqliteFiles.get(db);
}

/**
 * Opens (creating) the SQLite database at `path`. It may be written by a second connection (the
 * audit writer, service/audit-writer.ts), so every transaction here begins IMMEDIATE
 * (db/statements.ts) and waits up to `busy_timeout` for the write lock.
 */
export async function openSqlite(path: string): Promise<Db> {
  const sqlite = new SQLite(path);
  // WAL survives a killed process with every committed transaction; the blob files are
  // fsynced before their row is written, so a lost tail can only orphan a blob, never tear one.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  // Statement journals and sort spills in memory: on disk they were a temporary file written on
  // the event loop's thread for each batch of audit rows (several writes per request).
  sqlite.pragma("temp_store = MEMORY");
  // Checkpoints run in a worker (db/checkpoints.ts); this connection only as a backstop.
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  const statements = withPreparedStatements(sqlite);
  const checkpointer = startCheckpointer(path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({
      database: {
        ...statements,
        close: () => {
          checkpointer.stop();
          statements.close();
        },
      },
    }),
  });
  await migrateOrClose(db);
  if (path !== ":memory:" && path !== "") sqliteFiles.set(db, path);
  return db;
}

/**
 * A pool on `url` (no migration): for the database itself and for the change feed. `pg` is
 * loaded on first use, so that SQLite deployments and the CLI's client commands never load it.
 */
export async function postgresPool(url: string, max = 10): Promise<pg.Pool> {
  const { default: driver } = await import("pg");
  // int8 (counts, bigint columns) arrives as a string by default; every such value here is a
  // byte size, a count or an id far below 2^53, and the code expects numbers as SQLite gives.
  const INT8_OID = 20;
  const types = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID
        ? (value: string) => Number(value)
        : driver.types.getTypeParser(oid, format ?? "text")) as typeof driver.types.getTypeParser,
  };
  const pool = new driver.Pool({ connectionString: url, max, types });
  // An idle client whose server went away emits here; without a listener it would crash us.
  pool.on("error", () => undefined);
  return pool;
}

export async function openPostgres(url: string): Promise<Db> {
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: await postgresPool(url) }),
  });
  try {
    await checkCollation(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  await migrateOrClose(db);
  return db;
}

/**
 * Keys are ordered (listings, cursors) by code point, as SQLite compares them; a locale
 * collation would order and page them differently, so it is refused rather than half-working.
 */
async function checkCollation(db: Db): Promise<void> {
  const { rows } = await sql<{
    collate: string;
  }>`select datcollate as collate from pg_database where datname = current_database()`.execute(db);
  const collate = rows[0]?.collate ?? "";
  if (!/^(C|POSIX|C\.UTF-?8)$/i.test(collate))
    throw new Error(
      `the PostgreSQL database uses collation ${collate}; Signet needs a byte-order collation ` +
        `(create it with: CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C')`,
    );
}

/** Applies every pending migration; on failure the handle is closed and the error names it. */
export async function migrateOrClose(db: Db): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider: migrationProvider,
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error !== undefined || failed !== undefined) {
    await db.destroy();
    throw new Error(
      `database migration failed${failed ? ` at ${failed.migrationName}` : ""}: ${String(error)}`,
    );
  }
}

/** An arbitrary, fixed key for the start-up lock (pg_advisory_lock takes a bigint). */
const STARTUP_LOCK = 7_413_502_918;

/**
 * Runs `work` while no other instance runs its own start-up work on this database (a session
 * advisory lock on PostgreSQL; nothing to exclude on SQLite, which one process owns). For
 * bootstrap steps that check then create, such as the first signing key.
 */
export async function withStartupLock<T>(db: Db, work: () => Promise<T>): Promise<T> {
  if (dialectOf(db) !== "postgres") return work();
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${STARTUP_LOCK})`.execute(conn);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${STARTUP_LOCK})`.execute(conn);
    }
  });
}
