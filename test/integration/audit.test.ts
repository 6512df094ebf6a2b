/**
 * Issue 14: the audit trail is complete and cheap. `GET /v1/audit` filters and pages; records
 * are queued and written in batches, one transaction each; nothing queued is lost on close or
 * SIGTERM; retention is swept; short URLs are audited uses too.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, openSqlite } from "../../src/db/connect.js";
import { AuditLog } from "../../src/service/audit.js";
import type { AuditRow, AuditSink, IssuedRow } from "../../src/service/audit-sink.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { databaseFor } from "../helpers/pg.js";
import { exited, serve } from "../helpers/process.js";

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

describe("the audit queue", () => {
  it("writes in batches, one transaction each; waits only when full; keeps nothing back on close", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { maxQueue: 50, batchSize: 10, flushMs: 60_000 });
    const count = async () =>
      Number(
        (await db
          .selectFrom("audit")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst())!.n,
      );
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
    const writes: { rows: AuditRow[]; issued: IssuedRow[]; done: () => void }[] = [];
    const sink: AuditSink = {
      write: (rows, issued) => new Promise((done) => writes.push({ rows, issued, done })),
      close: async () => undefined,
    };
    const audit = new AuditLog(db, { batchSize: 10, flushMs: 60_000, sink });
    for (let i = 0; i < 25; i++) await audit.record({ event: "t", key: String(i) });
    await audit.register({
      token_id: "tok",
      principal: "p",
      bucket: "b",
      target: "k",
      folder: 0,
      revocable: "signet",
      expires_at: "2026-01-01T00:00:00.000Z",
      created_at: "2026-01-01T00:00:00.000Z",
    });
    // Two full batches under way at once, none stored yet.
    expect(writes.map((w) => w.rows.length)).toEqual([10, 10]);
    let flushed = false;
    const flush = audit.flush().then(() => (flushed = true));
    expect(writes.map((w) => w.rows.length)).toEqual([10, 10, 5]);
    expect(writes[2]!.issued).toEqual([
      ["tok", "p", "b", "k", 0, "signet", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
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
        await tx.selectFrom("audit").select("id").limit(1).execute();
        // The writer commits a batch between this transaction's read and its write.
        await new Promise((resolve) => setTimeout(resolve, 2));
        await tx
          .insertInto("revocations")
          .values({ kind: "token", value: `t${i}`, created_at: new Date().toISOString() })
          .execute();
      });
    }
    await audit.close();
    const count = async (table: "audit" | "revocations") =>
      Number(
        (await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst())!.n,
      );
    expect(rounds).toBeGreaterThan(0);
    expect(await count("revocations")).toBe(rounds);
    expect(await count("audit")).toBe(rounds * 20);
    await db.destroy();
  });

  it("on SQLite the writer thread stores every row of a batch in order, with its detail", async () => {
    // 100 rows: the writer inserts 32 rows per statement and the rest one by one.
    const dir = await mkdtemp(join(tmpdir(), "signet-audit-"));
    const db = await openSqlite(join(dir, "signet.db"));
    const audit = new AuditLog(db, { flushMs: 60_000 });
    const n = 100;
    for (let i = 0; i < n; i++) {
      await audit.record({ event: "t", key: `k${i}`, status: i, detail: { i, quote: '"x"' } });
      await audit.register({
        token_id: `tok${i}`,
        principal: "p",
        bucket: "b",
        target: `k${i}`,
        folder: i % 2,
        revocable: "signet",
        expires_at: "2099-01-01T00:00:00.000Z",
        created_at: "2026-01-01T00:00:00.000Z",
      });
    }
    await audit.close();
    const rows = await db
      .selectFrom("audit")
      .select(["key", "status", "detail"])
      .orderBy("id")
      .execute();
    expect(rows).toEqual(
      Array.from({ length: n }, (_, i) => ({
        key: `k${i}`,
        status: i,
        detail: JSON.stringify({ i, quote: '"x"' }),
      })),
    );
    const issued = await db.selectFrom("issued").select(["token_id", "target", "folder"]).execute();
    expect(
      issued.sort((x, y) => x.target.localeCompare(y.target, "en", { numeric: true })),
    ).toEqual(
      Array.from({ length: n }, (_, i) => ({
        token_id: `tok${i}`,
        target: `k${i}`,
        folder: i % 2,
      })),
    );
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
      const rows = await db.selectFrom("audit").select(["event", "token_id"]).execute();
      const recorded = new Set(rows.map((r) => `${r.event} ${r.token_id}`));
      const missing = answered.filter((a) => !recorded.has(`${a.action} ${a.tokenId}`));
      expect(missing).toEqual([]);
    } finally {
      await db.destroy();
    }
  }, 60_000);
});
