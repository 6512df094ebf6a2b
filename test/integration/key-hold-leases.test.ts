/**
 * A key's hold (KeyGuard.exclusive, a row of `key_commits`) is a lease renewed while its work
 * runs: a live holder keeps the key however long it works, on any instance, and its hold is never
 * taken again under its own name (a complete retried on another instance while the first runs is
 * 409); a crashed holder's lease lapses and is taken over, and on SQLite, which one process owns,
 * a restart drops every hold at once. Before, a hold lasted an hour and its holder could retake
 * it at any time: a retry on another instance ran beside the first, and the first to finish
 * released the hold the other relied on.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignetError } from "../../src/core/errors.js";
import { type Db, dialectOf, openDatabase } from "../../src/db/connect.js";
import { KeyGuard } from "../../src/service/key-guard.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { databaseFor, dropDatabaseFor } from "../helpers/pg.js";

// Long enough that a loaded machine's stalls do not let it lapse between two renewals.
const LEASE_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The code `run` was refused with, or "ran". */
const outcome = async (run: () => Promise<unknown>) => {
  try {
    await run();
    return "ran";
  } catch (err) {
    if (err instanceof SignetError) return err.code;
    throw err;
  }
};

describe("key holds are leases", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h?.close());

  const guard = (db: Db = h.signet.db, leaseMs?: number) =>
    new KeyGuard(db, h.signet.webhooks, leaseMs === undefined ? {} : { leaseMs });
  const rowAt = (key: string) =>
    h.signet.db
      .selectFrom("key_commits")
      .selectAll()
      .where("bucket", "=", "default")
      .where("key", "=", key)
      .executeTakeFirst();

  it("is renewed while long work runs: the key stays held, its expiry a lease ahead", async () => {
    const key = "lease/long.bin";
    const g = guard(h.signet.db, LEASE_MS);
    let done = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const work = g.exclusive("default", key, "intent-long", async () => {
      started();
      await sleep(3.5 * LEASE_MS);
      done = true;
    });
    await running;
    let looks = 0;
    while (!done) {
      const row = await rowAt(key);
      if (done) break;
      const now = Date.now();
      expect(row?.holder).toBe("intent-long");
      // A lease, renewed: never lapsed, never an hour ahead.
      expect(Date.parse(row!.expires_at)).toBeGreaterThan(now);
      expect(Date.parse(row!.expires_at)).toBeLessThanOrEqual(now + LEASE_MS);
      expect(await outcome(() => g.exclusive("default", key, "other", async () => {}))).toBe(
        "conflict",
      );
      looks++;
      await sleep(LEASE_MS / 4);
    }
    await work;
    expect(looks).toBeGreaterThan(5);
    expect(await rowAt(key)).toBeUndefined();
    expect(await outcome(() => g.exclusive("default", key, "other", async () => {}))).toBe("ran");
  });

  it("a crashed holder's hold is taken over once its lease lapsed, not before, even by itself", async () => {
    const key = "lease/crashed.bin";
    const g = guard(h.signet.db, LEASE_MS);
    // A holder that crashed mid-work: its row stays, its lease a moment ahead.
    await h.signet.db
      .insertInto("key_commits")
      .values({
        bucket: "default",
        key,
        holder: "intent-crashed",
        expires_at: new Date(Date.now() + 2_000).toISOString(),
      })
      .execute();
    // Its own retry (a complete asked again) waits for the lease like anybody else.
    for (const holder of ["intent-crashed", "other"])
      expect(await outcome(() => g.exclusive("default", key, holder, async () => {}))).toBe(
        "conflict",
      );
    await h.signet.db
      .updateTable("key_commits")
      .set({ expires_at: new Date(Date.now() - 1).toISOString() })
      .where("bucket", "=", "default")
      .where("key", "=", key)
      .execute();
    let held: string | undefined;
    expect(
      await outcome(() =>
        g.exclusive("default", key, "intent-crashed", async () => {
          held = (await rowAt(key))?.holder;
        }),
      ),
    ).toBe("ran");
    expect(held).toBe("intent-crashed");
    expect(await rowAt(key)).toBeUndefined();
  });

  it("a complete retried on a second instance while the first runs is 409, and the key stays held", async () => {
    const key = "lease/two-instances.bin";
    // A second instance: on PostgreSQL a pool of its own on the same database.
    const url = dialectOf(h.signet.db) === "postgres" ? await databaseFor(h.dataDir) : undefined;
    const otherDb = url === undefined ? h.signet.db : await openDatabase({ url, sqlitePath: "" });
    try {
      const [a, b] = [guard(), guard(otherDb)];
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = a.exclusive("default", key, "intent-1", async () => {
        started();
        await released;
      });
      await running;
      expect(await outcome(() => b.exclusive("default", key, "intent-1", async () => {}))).toBe(
        "conflict",
      );
      // The first still holds the key: an upsert's commit there is refused too.
      expect((await rowAt(key))?.holder).toBe("intent-1");
      expect(await outcome(() => b.exclusive("default", key, "intent-2", async () => {}))).toBe(
        "conflict",
      );
      release();
      await first;
      expect(await outcome(() => b.exclusive("default", key, "intent-2", async () => {}))).toBe(
        "ran",
      );
    } finally {
      if (otherDb !== h.signet.db) await otherDb.destroy();
    }
  });

  it("on SQLite a restart drops every hold; on PostgreSQL a hold outlives an instance's restart", async () => {
    const key = "lease/restart.bin";
    const before = await startSignet();
    const dataDir = before.dataDir;
    await before.signet.db
      .insertInto("key_commits")
      .values({
        bucket: "default",
        key,
        holder: "intent-before-restart",
        expires_at: new Date(Date.now() + 60_000).toISOString(),
      })
      .execute();
    const sqlite = dialectOf(before.signet.db) === "sqlite";
    await before.app.close();
    await before.signet.close();
    const after = await startSignet({ dataDir });
    try {
      expect(
        await outcome(() =>
          after.signet.keyGuard.exclusive("default", key, "other", async () => {}),
        ),
      ).toBe(sqlite ? "ran" : "conflict");
    } finally {
      await after.close();
      await rm(dataDir, { recursive: true, force: true });
      await dropDatabaseFor(dataDir);
    }
  });
});
