/**
 * The data dir's lock (store/lock.ts): while one `signet serve` holds a data dir, another
 * process is refused with a message naming the holder; once the holder is killed (-9, no
 * clean-up), the next start takes the lock over.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/service/config.js";
import { openSignet } from "../../src/service/signet.js";
import { databaseFor, dropDatabaseFor } from "../helpers/pg.js";
import SQLite from "better-sqlite3";
import pg from "pg";
import { exited, run, serve } from "../helpers/process.js";

describe("one process per data dir", () => {
  let dataDir: string;
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("a second process is refused while the first runs, and not after it was killed", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "signet-lock-"));
    const first = await serve(dataDir);
    const owner = (await readFile(join(dataDir, "signet.lock"), "utf8")).trim();
    expect(owner).toMatch(new RegExp(`^${first.child.pid}@`));
    const databaseUrl = await databaseFor(dataDir);
    const open = () =>
      openSignet({
        dataDir,
        config: validateConfig({}),
        env: {},
        ...(databaseUrl === undefined ? {} : { databaseUrl }),
      });
    await expect(open()).rejects.toThrow(
      new RegExp(`in use by another Signet process \\(pid ${first.child.pid} on`),
    );
    // `signet migrate` on the embedded database is refused too, while a server holds it.
    if (databaseUrl === undefined) {
      const migrating = await run(["migrate", "--data", dataDir], {});
      expect(migrating.code).not.toBe(0);
      expect(migrating.stderr).toMatch(/in use by another Signet process/);
    }
    first.child.kill("SIGKILL");
    await exited(first.child);
    const second = await open();
    await second.close();
  });
});

describe("signet migrate", () => {
  it("brings a new database to the latest schema and exits", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "signet-migrate-"));
    try {
      const databaseUrl = await databaseFor(dataDir);
      const result = await run(
        ["migrate", "--data", dataDir],
        databaseUrl === undefined ? {} : { SIGNET_DATABASE_URL: databaseUrl },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/database migrated/);
      let names: string[];
      if (databaseUrl === undefined) {
        const db = new SQLite(join(dataDir, "signet.db"), { readonly: true });
        names = (db.prepare("select name from kysely_migration").all() as { name: string }[]).map(
          (r) => r.name,
        );
        db.close();
      } else {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        names = (
          await client.query<{ name: string }>("select name from kysely_migration")
        ).rows.map((r) => r.name);
        await client.end();
      }
      expect(names).toContain("0001_core");
      expect(names).toContain("0011_change_versions");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await dropDatabaseFor(dataDir);
    }
  });
});
