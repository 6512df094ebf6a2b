/** Opens the metadata database and brings its schema up to date. */
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { migrationProvider } from "./migrations.js";
import { withPreparedStatements } from "./statements.js";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;

export async function openSqlite(path: string): Promise<Db> {
  const sqlite = new SQLite(path);
  // WAL survives a killed process with every committed transaction; the blob files are
  // fsynced before their row is written, so a lost tail can only orphan a blob, never tear one.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withPreparedStatements(sqlite) }),
  });
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
  return db;
}
