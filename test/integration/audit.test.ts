/**
 * Issue 14: the audit trail is complete and cheap. `GET /v1/audit` filters and pages; records
 * are queued and written in batches, one transaction each; nothing queued is lost on close or
 * SIGTERM; retention is swept; short URLs are audited uses too.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, sql, SqliteDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Db, openDatabase, openSqlite } from "../../src/db/connect.js";
import { migrationProvider } from "../../src/db/migrations.js";
import { AuditLog } from "../../src/service/audit.js";
import {
  type AuditRow,
  type AuditSink,
  DbSink,
  type IssuedBy,
  type IssuedRow,
  issuedRowOf,
} from "../../src/service/audit-sink.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { databaseFor } from "../helpers/pg.js";
import { exited, serve } from "../helpers/process.js";

interface AuditRecordish {
  action: string;
  key: string | null;
  status: number | null;
  reason: string | null;
}

describe("GET /v1/audit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { buckets: { default: { backend: "local" }, other: { backend: "local" } } },
    });
  });
  afterAll(() => h.close());

  it("filters by action, bucket, key prefix, token id, principal, outcome and time; pages with an opaque cursor", async () => {
    const start = new Date().toISOString();
    const issued: string[] = [];
    for (const key of ["team/a", "team/b", "team/c", "solo/d"]) {
      const r = await api(h.url, "POST", "/v1/presign", { bucket: "default", key, method: "GET" });
      issued.push(r.body.id);
    }
    await api(h.url, "POST", "/v1/presign", { bucket: "other", key: "team/e", method: "GET" });
    const q = async (query: string) => (await api(h.url, "GET", `/v1/audit?${query}`)).body;

    const team = await q("action=presign&bucket=default&prefix=team/");
    expect(team.items.map((r: { key: string }) => r.key)).toEqual(["team/c", "team/b", "team/a"]);
    // The contract's field names, with `event` kept as an alias of `action`.
    expect(Object.keys(team.items[0]).sort()).toEqual(
      [
        "action",
        "at",
        "bucket",
        "detail",
        "event",
        "id",
        "ip",
        "key",
        "method",
        "outcome",
        "principal",
        "reason",
        "status",
        "tokenId",
      ].sort(),
    );
    expect(team.items[0]).toMatchObject({
      action: "presign",
      event: "presign",
      outcome: "allowed",
      principal: "env:admin",
      ip: "127.0.0.1",
      method: "GET",
    });
    expect(team.items[0].detail).toMatchObject({ delivery: "direct", revocable: "signet" });
    // A prefix is literal: "_" and "%" are no wildcards, case counts.
    expect((await q("prefix=tea_/")).items).toEqual([]);
    expect((await q("prefix=TEAM/")).items).toEqual([]);

    expect((await q(`tokenId=${issued[3]}`)).items).toHaveLength(1);
    expect((await q("principal=nobody")).items).toEqual([]);
    expect((await q(`since=${start}&action=presign`)).items).toHaveLength(5);
    expect((await q(`until=${start}&action=presign`)).items).toEqual([]);

    // Pages: newest first, each cursor continuing where the last page ended.
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const body = await q(`action=presign&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      seen.push(...body.items.map((r: { id: number }) => r.id));
      cursor = body.nextCursor;
      if (cursor === null) break;
      expect(cursor).not.toMatch(/^\d+$/);
    }
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);

    // A refused data-plane request is filtered by its outcome.
    const bad = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "team/a",
      method: "GET",
    });
    await fetch(bad.body.url.replace("/team/a?", "/team/b?"));
    const refused = await q(`outcome=refused&tokenId=${bad.body.id}`);
    expect(refused.items).toHaveLength(1);
    expect(refused.items[0]).toMatchObject({ outcome: "refused", reason: "outside_scope" });
    expect((await q(`outcome=allowed&tokenId=${bad.body.id}`)).items).toHaveLength(1);
  });

  it("audits issuance refusals on every route that issues, each once, with its reason", async () => {
    await api(h.url, "POST", "/v1/grants", {
      principal: "role:refusable",
      buckets: ["default"],
      prefix: "ok/",
      actions: ["read", "write"],
      maxExpiresIn: 60,
      quota: { perMinute: 3 },
    });
    const made = await api(h.url, "POST", "/v1/apikeys", { name: "refusable", role: "refusable" });
    const key = made.body.key as string;
    const principal = `key:${made.body.id as string}`;
    const as = (path: string, body: unknown) => api(h.url, "POST", path, body, key);
    const asked = [
      // outside the grant's folder; longer than the grant allows; an unknown bucket
      await as("/v1/presign", { bucket: "default", key: "nope/a", method: "GET" }),
      await as("/v1/presign", { bucket: "default", key: "ok/b", method: "GET", expiresIn: 600 }),
      await as("/v1/presign", { bucket: "ghost", key: "ok/c", method: "GET" }),
      // one refused entry of a batch beside an allowed one
      await as("/v1/presign/batch", {
        requests: [
          { bucket: "default", key: "ok/d", method: "GET" },
          { bucket: "default", key: "ok/e", method: "DELETE" },
        ],
      }),
      // an intent outside the grant; a share without the share action; a part plan outside
      await as("/v1/uploads", { bucket: "default", key: "nope/f", size: 3 }),
      await as("/v1/shares", { bucket: "default", prefix: "ok/", methods: ["GET"] }),
      await as("/v1/presign/parts", { bucket: "default", key: "nope/g", parts: 2 }),
      // the quota (3 a minute): ok/d spent one, these two the rest, then a refusal
      await as("/v1/presign", { bucket: "default", key: "ok/h", method: "GET" }),
      await as("/v1/presign", { bucket: "default", key: "ok/i", method: "GET" }),
      await as("/v1/presign", { bucket: "default", key: "ok/j", method: "GET" }),
    ];
    expect(asked.map((r) => r.status)).toEqual([403, 403, 404, 200, 403, 403, 403, 200, 200, 429]);
    const refused = (
      await api(
        h.url,
        "GET",
        `/v1/audit?outcome=refused&principal=${encodeURIComponent(principal)}`,
      )
    ).body.items.reverse();
    expect(refused.map((r: AuditRecordish) => [r.action, r.key, r.status, r.reason])).toEqual([
      ["presign", "nope/a", 403, "forbidden"],
      ["presign", "ok/b", 403, "forbidden"],
      ["presign", "ok/c", 404, "not_found"],
      ["presign", "ok/e", 403, "forbidden"],
      ["upload", "nope/f", 403, "forbidden"],
      ["share.create", "ok/", 403, "forbidden"],
      ["presign.parts", "nope/g", 403, "forbidden"],
      ["presign", "ok/j", 429, "rate_limited"],
    ]);
    expect(refused[2]).toMatchObject({ bucket: "ghost", method: "GET", ip: "127.0.0.1" });
    // Allowed issuances stay allowed records; nothing allowed is also recorded as refused.
    const allowed = (
      await api(
        h.url,
        "GET",
        `/v1/audit?outcome=allowed&principal=${encodeURIComponent(principal)}`,
      )
    ).body.items;
    expect(allowed.map((r: AuditRecordish) => r.key).sort()).toEqual(["ok/d", "ok/h", "ok/i"]);
  });

  it("refuses bad filters with the API's error shape", async () => {
    for (const query of ["since=yesterday", "outcome=maybe", "limit=0", "colour=red"]) {
      const res = await api(h.url, "GET", `/v1/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    const user = await api(h.url, "POST", "/v1/apikeys", { name: "u", role: "user" });
    expect((await api(h.url, "GET", "/v1/audit", undefined, user.body.key)).status).toBe(403);
  });

  it("short URLs redirect while valid, are audited, and refuse once revoked or unknown", async () => {
    await api(h.url, "POST", "/v1/presign", { bucket: "default", key: "s/x", method: "PUT" });
    const r = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "s/x",
      method: "GET",
      short: true,
    });
    const id = r.body.url.split("/u/")[1] as string;
    // At least 96 bits of randomness: 16 bytes here.
    expect(Buffer.from(id, "base64url")).toHaveLength(16);
    const go = await fetch(r.body.url, { redirect: "manual" });
    expect(go.status).toBe(302);
    expect(go.headers.get("location")).toContain("/o/default/s/x?t=");
    expect((await fetch(`${h.url}/u/AAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404);
    await api(h.url, "POST", "/v1/revocations", { tokenId: r.body.id });
    const after = await fetch(r.body.url, { redirect: "manual" });
    expect(after.status).toBe(403);
    const uses = (await api(h.url, "GET", `/v1/audit?action=short.use&tokenId=${r.body.id}`)).body
      .items;
    expect(
      uses.map((u: { outcome: string; reason: string | null }) => [u.outcome, u.reason]),
    ).toEqual([
      ["refused", "token_revoked"],
      ["allowed", null],
    ]);
  });

  it("short URLs expire with the request they stand for", async () => {
    const r = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "s/y",
      method: "GET",
      short: true,
      expiresIn: 1,
    });
    const row = await h.signet.shortUrls.find(r.body.url.split("/u/")[1]);
    expect(row.expires_at).toBe(r.body.expiresAt);
    expect(() => h.signet.shortUrls.target(row, Date.parse(r.body.expiresAt))).toThrow(/expired/);
    expect(await h.signet.shortUrls.prune(Date.parse(r.body.expiresAt) + 1)).toBeGreaterThan(0);
  });
});

/** Every record stored, oldest first, as its page holds it (an AuditRow tuple). */
async function storedRecords(db: Db): Promise<AuditRow[]> {
  const pages = await db.selectFrom("audit_pages").select("records").orderBy("id").execute();
  return pages.flatMap((p) => JSON.parse(p.records) as AuditRow[]);
}

/** A SQLite database migrated up to 0011: audit records still one row each. */
async function legacyDatabase(): Promise<{ path: string; legacy: Kysely<unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
  const path = join(dir, "signet.db");
  const legacy = new Kysely<unknown>({
    dialect: new SqliteDialect({ database: new SQLite(path) }),
  });
  const migrated = await new Migrator({ db: legacy, provider: migrationProvider }).migrateTo(
    "0011_change_versions",
  );
  expect(migrated.error).toBeUndefined();
  return { path, legacy };
}

describe("the audit queue", () => {
  it("writes in batches, one transaction each; waits only when full; keeps nothing back on close", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { maxQueue: 50, batchSize: 10, flushMs: 60_000 });
    const count = async () => (await storedRecords(db)).length;
    // Below a batch: queued, not written (the timer is a minute away).
    await audit.record({ event: "t", key: "0" });
    expect(await count()).toBe(0);
    // A full queue makes the caller wait for the write.
    for (let i = 1; i < 50; i++) await audit.record({ event: "t", key: String(i) });
    await audit.flush();
    expect(await count()).toBe(50);
    for (let i = 0; i < 3; i++) await audit.record({ event: "t", key: `late${i}` });
    await audit.close();
    expect(await count()).toBe(53);
    await db.destroy();
  });

  it("hands each full batch to the sink without waiting for the one before; flush waits for all", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const writes: {
      rows: AuditRow[];
      issued: IssuedRow[];
      issuedBy: IssuedBy[];
      done: () => void;
    }[] = [];
    const sink: AuditSink = {
      write: (rows, issued, issuedBy = []) =>
        new Promise((done) => writes.push({ rows, issued, issuedBy, done })),
      close: async () => undefined,
    };
    const audit = new AuditLog(db, { batchSize: 10, flushMs: 60_000, sink });
    for (let i = 0; i < 24; i++) await audit.record({ event: "t", key: String(i) });
    const expires = "2026-01-01T00:00:00.000Z";
    await audit.recordIssuance(
      { event: "presign", tokenId: "tok", principal: "p", bucket: "b", key: "24" },
      { folder: 0, revocable: "signet", expires_at: expires },
    );
    // Two full batches under way at once, none stored yet.
    expect(writes.map((w) => w.rows.length)).toEqual([10, 10]);
    let flushed = false;
    const flush = audit.flush().then(() => (flushed = true));
    expect(writes.map((w) => w.rows.length)).toEqual([10, 10, 5]);
    // The issuance crossed once: its record, and what only its issued row holds.
    expect(writes[2]!.issued).toEqual([]);
    expect(writes[2]!.issuedBy).toEqual([[4, 0, "signet", expires]]);
    const record = writes[2]!.rows[4]!;
    expect(issuedRowOf(record, writes[2]!.issuedBy[0]!)).toEqual([
      "tok",
      "p",
      "b",
      "24",
      0,
      "signet",
      expires,
      record[0],
    ]);
    writes[2]!.done();
    writes[1]!.done();
    await new Promise((r) => setTimeout(r, 10));
    expect(flushed).toBe(false);
    writes[0]!.done();
    await flush;
    expect(writes.flatMap((w) => w.rows.map((r) => r[5]))).toEqual(
      Array.from({ length: 25 }, (_, i) => String(i)),
    );
    await db.destroy();
  });

  it("with the audit off, an issuance queues its issued row alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { enabled: false, flushMs: 60_000 });
    await audit.recordIssuance(
      { event: "presign", tokenId: "tok", principal: "p", bucket: "b", key: "k" },
      { folder: 1, revocable: "none", expires_at: "2099-01-01T00:00:00.000Z" },
    );
    await audit.close();
    expect(await storedRecords(db)).toEqual([]);
    expect(await db.selectFrom("issued").selectAll().execute()).toEqual([
      expect.objectContaining({
        token_id: "tok",
        principal: "p",
        bucket: "b",
        target: "k",
        folder: 1,
        revocable: "none",
        expires_at: "2099-01-01T00:00:00.000Z",
      }),
    ]);
    await db.destroy();
  });

  it("on SQLite a writer thread commits beside request transactions that read, then write: they wait, never SQLITE_BUSY", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { batchSize: 20, flushMs: 1 });
    const deadline = Date.now() + 10_000;
    let rounds = 0;
    // Bounded in count and time.
    for (let i = 0; i < 100 && Date.now() < deadline; i++, rounds++) {
      await audit.record(
        ...Array.from({ length: 20 }, (_, j) => ({ event: "t", key: `${i}/${j}` })),
      );
      await db.transaction().execute(async (tx) => {
        await tx.selectFrom("audit_pages").select("id").limit(1).execute();
        // The writer commits a batch between this transaction's read and its write.
        await new Promise((resolve) => setTimeout(resolve, 2));
        await tx
          .insertInto("revocations")
          .values({ kind: "token", value: `t${i}`, created_at: new Date().toISOString() })
          .execute();
      });
    }
    await audit.close();
    const revocations = await db.selectFrom("revocations").select("value").execute();
    expect(rounds).toBeGreaterThan(0);
    expect(revocations).toHaveLength(rounds);
    expect(await storedRecords(db)).toHaveLength(rounds * 20);
    await db.destroy();
  });

  it("on SQLite the writer thread stores every row of a batch in order, with its detail", async () => {
    // 66 `issued` rows: the writer inserts 32 rows per statement and the rest one by one.
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { flushMs: 60_000 });
    const n = 100;
    for (let i = 0; i < n; i++) {
      const event = { event: "t", key: `k${i}`, status: i, detail: { i, quote: '"x"' } };
      // Issuances and other records, interleaved.
      if (i % 3 === 0) await audit.record(event);
      else
        await audit.recordIssuance(
          { ...event, tokenId: `tok${i}`, principal: "p", bucket: "b" },
          { folder: i % 2, revocable: "signet", expires_at: "2099-01-01T00:00:00.000Z" },
        );
    }
    await audit.close();
    const rows = (await storedRecords(db)).map((r) => ({ key: r[5], status: r[7], detail: r[11] }));
    expect(rows).toEqual(
      Array.from({ length: n }, (_, i) => ({
        key: `k${i}`,
        status: i,
        detail: { i, quote: '"x"' },
      })),
    );
    const issued = await db
      .selectFrom("issued")
      .select(["token_id", "principal", "bucket", "target", "folder", "created_at"])
      .execute();
    const records = await storedRecords(db);
    expect(
      issued.sort((x, y) => x.target.localeCompare(y.target, "en", { numeric: true })),
    ).toEqual(
      Array.from({ length: n }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => ({
          token_id: `tok${i}`,
          principal: "p",
          bucket: "b",
          target: `k${i}`,
          folder: i % 2,
          created_at: records[i]![0],
        })),
    );
    await db.destroy();
  });

  it("rows put back after a failed write are tried again without waiting for more; close tries again, then reports what is left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    /** A sink whose first `failures` writes fail; the rest store their keys in `stored`. */
    const flaky = (failures: number) => {
      const stored: (string | null)[] = [];
      const sink: AuditSink = {
        write: async (rows) => {
          if (failures-- > 0) throw new Error("disk full");
          stored.push(...rows.map((r) => r[5]));
        },
        close: async () => undefined,
      };
      return { sink, stored };
    };
    const errors: unknown[] = [];
    const onError = (err: unknown) => void errors.push(err);

    const once = flaky(1);
    const retried = new AuditLog(db, { flushMs: 60_000, sink: once.sink, onError });
    await retried.record({ event: "t", key: "a" });
    await expect(retried.flush()).rejects.toThrow("disk full");
    // Nothing else is recorded: the retry timer writes the row (RETRY_MS, a second).
    await vi.waitFor(() => expect(once.stored).toEqual(["a"]), { timeout: 3000 });
    await retried.close();

    const twice = flaky(2);
    const closing = new AuditLog(db, { flushMs: 60_000, sink: twice.sink, onError });
    await closing.record({ event: "t", key: "b" });
    await closing.close();
    expect(twice.stored).toEqual(["b"]);

    const never = flaky(Infinity);
    const lost = new AuditLog(db, { flushMs: 60_000, sink: never.sink, onError });
    await lost.record({ event: "t", key: "c" });
    errors.length = 0;
    await lost.close();
    expect(String(errors.at(-1))).toMatch(/1 audit and issued rows could not be written at close/);
    await db.destroy();
  });

  it("writes failed while the queue is full lose no issued row and keep the records' order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    let down = true;
    const store = new DbSink(db);
    const sink: AuditSink = {
      write: async (rows, issued, issuedBy) => {
        await Promise.resolve();
        if (down) throw new Error("database down");
        return store.write(rows, issued, issuedBy);
      },
      close: async () => undefined,
    };
    const audit = new AuditLog(db, {
      maxQueue: 10,
      batchSize: 5,
      flushMs: 60_000,
      sink,
      onError: () => undefined,
    });
    const expires = "2099-01-01T00:00:00.000Z";
    // Fifteen issuances, three batches under way at once, every write failing.
    const recorded = Array.from({ length: 15 }, (_, i) =>
      audit.recordIssuance(
        { event: "presign", tokenId: `t${i}`, principal: "p", bucket: "b", key: `k${i}` },
        { folder: 0, revocable: "signet", expires_at: expires },
      ),
    );
    await Promise.allSettled(recorded);
    await audit.flush().catch(() => undefined);
    down = false;
    await audit.flush();
    const tokens = (await db.selectFrom("issued").select("token_id").execute()).map(
      (r) => r.token_id,
    );
    // Revocation must find every token handed out: an issued row is never dropped.
    expect(tokens.sort()).toEqual(Array.from({ length: 15 }, (_, i) => `t${i}`).sort());
    // The records kept are in the order recorded.
    const keys = (await storedRecords(db)).map((r) => Number(r[5]!.slice(1)));
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    await audit.close();

    // Three batches fail in turn: written again, they keep the order recorded.
    down = true;
    const again = new AuditLog(db, { batchSize: 2, flushMs: 60_000, sink, onError: () => {} });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => again.record({ event: "o", key: `o${i}` })),
    );
    // Each fails once (the sink was down), and only once.
    await new Promise((resolve) => setTimeout(resolve, 20));
    down = false;
    await again.flush();
    const order = (await storedRecords(db)).filter((r) => r[1] === "o").map((r) => r[5]);
    expect(order).toEqual(["o0", "o1", "o2", "o3", "o4", "o5"]);
    await again.close();
    await db.destroy();
  });

  it("pages newest first through records of many pages, filters applied, each record once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    // Pages of 3 records: 20 records make 7 pages.
    const audit = new AuditLog(db, { batchSize: 3, flushMs: 60_000 });
    for (let i = 0; i < 20; i++)
      await audit.record({ event: i % 2 ? "odd" : "even", key: `k${i}`, status: i });
    const walk = async (filter: { action?: string }, limit: number) => {
      const keys: (string | null)[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 30; pages++) {
        const page = await audit.list({ ...filter, limit, cursor });
        keys.push(...page.items.map((r) => r.key));
        if (page.nextCursor === null) return keys;
        cursor = page.nextCursor;
      }
      throw new Error("the cursor never ended");
    };
    const all = Array.from({ length: 20 }, (_, i) => `k${19 - i}`);
    expect(await walk({}, 4)).toEqual(all);
    expect(await walk({}, 7)).toEqual(all);
    expect(await walk({ action: "odd" }, 3)).toEqual(all.filter((k) => Number(k.slice(1)) % 2));
    const ids = (await audit.list({ limit: 100 })).items.map((r) => r.id);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(await audit.list({ limit: 5, cursor: "not-a-cursor" })).toEqual({
      items: [],
      nextCursor: null,
    });
    await audit.close();
    await db.destroy();
  });

  it("filters values holding LIKE's and JSON's special characters exactly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { batchSize: 2, flushMs: 60_000 });
    const values = ["a%b", "a_b", "axb", "a\\b", 'q"x', "Ünï/€", "A%B", "a\u0000b", "a\nb"];
    for (const v of values)
      await audit.record({ event: `e${v}`, tokenId: v, principal: v, bucket: v, key: `${v}/k` });
    for (const v of values) {
      const one = (f: object) =>
        audit.list({ ...f, limit: 50 }).then((p) => p.items.map((r) => r.tokenId));
      expect(await one({ tokenId: v }), v).toEqual([v]);
      expect(await one({ principal: v }), v).toEqual([v]);
      expect(await one({ bucket: v }), v).toEqual([v]);
      expect(await one({ action: `e${v}` }), v).toEqual([v]);
      expect(await one({ prefix: `${v}/` }), v).toEqual([v]);
    }
    expect((await audit.list({ prefix: "a", limit: 50 })).items).toHaveLength(6);
    await audit.close();
    await db.destroy();
  });

  it("a sweep empties a page's old records and keeps the ids of its newer ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { flushMs: 60_000 });
    const day = 86_400_000;
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    const now = vi.spyOn(Date, "now");
    // One page: two records 40 days old, one 10 days old; then a page of one record today.
    for (const [age, key] of [
      [40, "a"],
      [40, "b"],
      [10, "c"],
    ] as const) {
      now.mockReturnValue(t0 - age * day);
      await audit.record({ event: "t", key });
    }
    await audit.flush();
    now.mockReturnValue(t0);
    await audit.record({ event: "t", key: "d" });
    await audit.flush();
    now.mockRestore();
    const before = (await audit.list({ limit: 10 })).items;
    expect(before.map((r) => r.key)).toEqual(["d", "c", "b", "a"]);
    expect(await audit.sweep(30, t0)).toBe(2);
    const after = (await audit.list({ limit: 10 })).items;
    expect(after).toEqual(before.filter((r) => r.key === "d" || r.key === "c"));
    expect(await audit.sweep(5, t0)).toBe(1);
    expect((await audit.list({ limit: 10 })).items.map((r) => r.key)).toEqual(["d"]);
    expect(await db.selectFrom("audit_pages").select("count").execute()).toEqual([{ count: 1 }]);
    await audit.close();
    await db.destroy();
  });

  it("the records written before pages (one row a record) become pages, in order, with their ids' order", async () => {
    const { path, legacy } = await legacyDatabase();
    const rows = Array.from({ length: 1203 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      event: "presign",
      key: `k${i}`,
      status: i % 2 ? 403 : null,
      outcome: i % 2 ? "refused" : null,
      reason: i % 2 ? "token_expired" : null,
      detail: i === 0 ? JSON.stringify({ expiresAt: "x", quote: '"' }) : null,
    }));
    for (let i = 0; i < rows.length; i += 100)
      await sql`insert into audit (at, event, key, status, outcome, reason, detail) values ${sql.join(
        rows
          .slice(i, i + 100)
          .map(
            (r) =>
              sql`(${r.at}, ${r.event}, ${r.key}, ${r.status}, ${r.outcome}, ${r.reason}, ${r.detail})`,
          ),
      )}`.execute(legacy);
    await legacy.destroy();
    const db = await openSqlite(path);
    const audit = new AuditLog(db);
    const items = (await audit.list({ limit: 2000 })).items;
    expect(items.map((r) => r.key)).toEqual(rows.map((r) => r.key).reverse());
    expect(items.at(-1)).toMatchObject({
      at: rows[0]!.at,
      outcome: "allowed",
      detail: { expiresAt: "x", quote: '"' },
    });
    expect(items.at(-2)).toMatchObject({
      status: 403,
      outcome: "refused",
      reason: "token_expired",
    });
    expect((await audit.list({ limit: 10, outcome: "refused" })).items).toHaveLength(10);
    await audit.close();
    await db.destroy();
  });

  it("a conversion to pages stopped midway leaves the old rows as they were: the next start converts them once", async () => {
    const { path, legacy } = await legacyDatabase();
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
    for (let i = 0; i < 1200; i += 100)
      await sql`insert into audit (at, event, key, detail) values ${sql.join(
        Array.from({ length: 100 }, (_, j) =>
          // One row the conversion cannot read stops it after two pages (a crash, a full disk).
          i + j === 1100
            ? sql`(${at(i + j)}, 't', ${`k${i + j}`}, '{')`
            : sql`(${at(i + j)}, 't', ${`k${i + j}`}, null)`,
        ),
      )}`.execute(legacy);
    await legacy.destroy();
    await expect(openSqlite(path)).rejects.toThrow(/0012_audit_pages/);
    const raw = new SQLite(path);
    raw.prepare("update audit set detail = null where key = 'k1100'").run();
    raw.close();
    const db = await openSqlite(path);
    const audit = new AuditLog(db);
    const keys = (await audit.list({ limit: 1000 })).items.map((r) => r.key);
    const more = (await audit.list({ limit: 1000, cursor: undefined, until: at(200) })).items;
    expect(keys.length + more.length).toBe(1200);
    expect(new Set([...keys, ...more.map((r) => r.key)]).size).toBe(1200);
    await audit.close();
    await db.destroy();
  });

  it("a retention sweep removes what is older than retainDays", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db);
    await audit.record({ event: "old" });
    await audit.flush();
    expect(await audit.sweep(30)).toBe(0);
    expect(await audit.sweep(30, Date.now() + 31 * 86_400_000)).toBe(1);
    await db.destroy();
  });
});

describe("SIGTERM under load", () => {
  it("every answered request is in the audit trail", async () => {
    const data = await mkdtemp(join(tmpdir(), "signet-sigterm-"));
    const server = await serve(data, { SIGNET_ADMIN_KEY: ADMIN_KEY });
    const answered: { tokenId: string; action: string }[] = [];
    let stop = false;
    const deadline = Date.now() + 15_000;
    const worker = async () => {
      // Bounded in count and time.
      for (let i = 0; i < 200 && !stop && Date.now() < deadline; i++) {
        try {
          const res = await fetch(`${server.url}/v1/presign`, {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
            body: JSON.stringify({ bucket: "default", key: `k${i}`, method: "GET" }),
          });
          if (res.status !== 200) continue;
          const body = (await res.json()) as { id: string; url: string };
          answered.push({ tokenId: body.id, action: "presign" });
          const use = await fetch(body.url);
          await use.arrayBuffer();
          answered.push({ tokenId: body.id, action: "object.use" });
        } catch {
          // The server went away mid-request: that request was not answered.
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    // Signal once the load is well under way.
    while (answered.length < 100 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    server.child.kill("SIGTERM");
    const exit = await exited(server.child);
    stop = true;
    await Promise.all(workers);
    expect(exit.code).toBe(0);
    expect(answered.length).toBeGreaterThanOrEqual(100);

    // The server's own database: its SQLite file, or its PostgreSQL database on the PG pass.
    const db = await openDatabase({
      url: await databaseFor(data),
      sqlitePath: join(data, "signet.db"),
    });
    try {
      const rows = await storedRecords(db);
      const recorded = new Set(rows.map((r) => `${r[1]} ${r[3]}`));
      const missing = answered.filter((a) => !recorded.has(`${a.action} ${a.tokenId}`));
      expect(missing).toEqual([]);
    } finally {
      await db.destroy();
    }
  }, 60_000);
});
