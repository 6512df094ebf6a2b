/**
 * Issue 17: the event loop's SQLite connection neither checkpoints the WAL (a worker does,
 * db/checkpoints.ts) nor writes temporary files (statement journals in memory).
 */
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { FALLBACK_PAGES } from "../../src/db/checkpoints.js";
import { openSqlite } from "../../src/db/connect.js";

describe("SQLite off the event loop", () => {
  let dir: string;
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("checkpoints the WAL from a worker, and closes it with the database", async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-ckpt-"));
    const path = join(dir, "signet.db");
    const db = await openSqlite(path);
    const pragma = async (name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
    expect(await pragma("wal_autocheckpoint")).toBe(FALLBACK_PAGES);
    expect(await pragma("temp_store")).toBe(2); // MEMORY
    await sql`create table filler (n integer, body text)`.execute(db);
    const before = statSync(path).size;
    // About 1 MiB: far below the main connection's fallback, so only the worker copies it back.
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < 256; i++)
        await sql`insert into filler values (${i}, ${"x".repeat(4000)})`.execute(tx);
    });
    const deadline = Date.now() + 10_000;
    // Until the whole of it is copied back: the file grows while the checkpoint runs.
    while (statSync(path).size <= before + 1_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(statSync(path).size).toBeGreaterThan(before + 1_000_000);
    await db.destroy();
    // The worker's connection was closed first: the main one was the last and removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
