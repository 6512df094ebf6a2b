/**
 * Prepared statements kept for reuse on SQLite. Kysely's SQLite driver asks the database to
 * prepare every query it runs; better-sqlite3 prepares anew each time, which the data plane's
 * profile showed as a large share of a request. Wrapping the database so that `prepare` returns
 * the statement already made for the same SQL text makes every query (Kysely compiles the same
 * text for the same query shape) a prepared statement, with no change to the code that builds
 * it. At most `max` statements are kept (least recently used go first).
 *
 * Kysely begins a transaction with a plain (deferred) `begin`: one that reads and then writes
 * fails at once with SQLITE_BUSY (no waiting) if another connection (the audit writer) committed
 * in between. `begin immediate` takes the write lock first, waiting up to `busy_timeout`.
 */
import type BetterSqlite3 from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { LRUCache } from "lru-cache";

/** `database` with `prepare` memoised by SQL text (up to `max` statements). */
export function withPreparedStatements(
  database: BetterSqlite3.Database,
  max = 256,
): SqliteDatabase {
  const statements = new LRUCache<string, BetterSqlite3.Statement>({ max });
  return {
    close: () => database.close(),
    prepare(text: string): SqliteStatement {
      const sql = text === "begin" ? "begin immediate" : text;
      const kept = statements.get(sql);
      // A statement still being iterated (a streamed query) cannot run again until it ends.
      if (kept !== undefined && !kept.busy) return kept;
      const statement = database.prepare(sql);
      if (kept === undefined) statements.set(sql, statement);
      return statement;
    },
  };
}
