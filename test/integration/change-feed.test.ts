/**
 * The change feed (db/changes.ts) on PostgreSQL: a change published through one handle is
 * reloaded through another within a second by NOTIFY, and also by the version check alone
 * when no notification arrives (no LISTEN connection at all). SQLite publishes nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeFeed, type Topic } from "../../src/db/changes.js";
import { type Db, openDatabase } from "../../src/db/connect.js";
import { databaseFor, dropDatabaseFor, withoutPostgres } from "../helpers/pg.js";

async function until(ms: number, check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !check(); i++) {
    if (i * 25 > ms) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

const SUITE = "the change feed on PostgreSQL";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  let dir: string;
  let url: string;
  const handles: Db[] = [];
  const feeds: ChangeFeed[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-feed-"));
    url = (await databaseFor(dir))!;
  });
  afterAll(async () => {
    for (const f of feeds) await f.close();
    for (const h of handles) await h.destroy();
    await dropDatabaseFor(dir);
    await rm(dir, { recursive: true, force: true });
  });

  async function feed(options: { listen: boolean; pollMs: number }) {
    const db = await openDatabase({ url, sqlitePath: "" });
    handles.push(db);
    const reloads: Topic[] = [];
    const f = new ChangeFeed(db, {
      url: options.listen ? url : undefined,
      pollMs: options.pollMs,
      onInvalidate: (t) => reloads.push(t),
    });
    for (const topic of ["grants", "revocations"] as const)
      f.subscribe(topic, async () => void reloads.push(topic));
    await f.start();
    feeds.push(f);
    return { f, reloads };
  }

  it("NOTIFY reaches a listener long before its version check would", async () => {
    const publisher = await feed({ listen: false, pollMs: 60_000 });
    const listener = await feed({ listen: true, pollMs: 60_000 });
    await publisher.f.publish("grants");
    expect(await until(1000, () => listener.reloads.includes("grants"))).toBe(true);
    expect(listener.reloads.filter((t) => t === "revocations")).toHaveLength(0);
  });

  it("the version check alone catches a change when no notification arrives", async () => {
    const publisher = await feed({ listen: false, pollMs: 60_000 });
    const deaf = await feed({ listen: false, pollMs: 200 });
    await publisher.f.publish("revocations");
    expect(await until(1000, () => deaf.reloads.includes("revocations"))).toBe(true);
  });
});

describe("the change feed on SQLite", () => {
  it("publishes nothing and reloads nothing (one process owns the database)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-feed-sqlite-"));
    const db = await openDatabase({ sqlitePath: join(dir, "signet.db") });
    try {
      const f = new ChangeFeed(db, { pollMs: 10 });
      let reloaded = 0;
      f.subscribe("grants", async () => void reloaded++);
      await f.start();
      await f.publish("grants");
      await f.settle();
      expect(reloaded).toBe(0);
      expect(await db.selectFrom("change_versions").selectAll().execute()).toEqual([]);
      await f.close();
    } finally {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
