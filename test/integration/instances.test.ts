/**
 * Two Signet processes on one PostgreSQL (and one Redis for quotas), as issue 18 asks: what one
 * instance changes, the other enforces within a second; a quota is counted across both; a
 * webhook event is delivered once. Runs when SIGNET_DATABASE_URL names a PostgreSQL server
 * (CI's second pass); Redis is SIGNET_REDIS_URL or the local default.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { within } from "../helpers/instances.js";
import { databaseFor, dropDatabaseFor, withoutPostgres } from "../helpers/pg.js";
import { exited, type Served, serve } from "../helpers/process.js";

const REDIS_URL = process.env.SIGNET_REDIS_URL || "redis://127.0.0.1:6379";
const QUOTA = 7;
const SECRET = "instances-webhook-secret";

async function startReceiver() {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push((JSON.parse(body) as { id: string }).id);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const SUITE = "two instances on one PostgreSQL";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  let a: Served;
  let b: Served;
  let dirs: string[] = [];
  let databaseUrl: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let user: { id: string; key: string };

  beforeAll(async () => {
    receiver = await startReceiver();
    dirs = [
      await mkdtemp(join(tmpdir(), "signet-inst-a-")),
      await mkdtemp(join(tmpdir(), "signet-inst-b-")),
    ];
    databaseUrl = (await databaseFor(dirs[0]!))!;
    // A prefix of our own, so that other runs on the same Redis count apart.
    const run = randomBytes(4).toString("hex");
    const config = join(dirs[0]!, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        buckets: { default: { backend: "local" }, [`q${run}`]: { backend: "local" } },
        quotas: { buckets: { [`q${run}`]: { perMinute: QUOTA } } },
        grants: [{ principal: "role:user", buckets: ["*"], actions: ["read", "write"] }],
        webhooks: [{ url: receiver.url, secret: "${HOOK_SECRET}", events: ["file.committed"] }],
        webhookAllow: ["127.0.0.1/32"],
      }),
    );
    const env = {
      SIGNET_DATABASE_URL: databaseUrl,
      SIGNET_REDIS_URL: REDIS_URL,
      SIGNET_ADMIN_KEY: ADMIN_KEY,
      SIGNET_MASTER_KEY: randomBytes(32).toString("base64url"),
      HOOK_SECRET: SECRET,
    };
    // Together, as a rolling start would: the migrations run once (Kysely's advisory lock).
    [a, b] = await Promise.all([
      serve(dirs[0]!, env, ["--config", config]),
      serve(dirs[1]!, env, ["--config", config]),
    ]);
    const created = await api(a.url, "POST", "/v1/apikeys", { name: "user", role: "user" });
    user = { id: created.body.id as string, key: created.body.key as string };
    quotaBucket = `q${run}`;
  }, 60_000);
  let quotaBucket: string;

  afterAll(async () => {
    for (const s of [a, b]) {
      if (s === undefined) continue;
      s.child.kill("SIGTERM");
      await exited(s.child);
    }
    await receiver?.close();
    if (dirs[0] !== undefined) await dropDatabaseFor(dirs[0]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A URL issued by A, sent to B instead (both serve the same metadata). */
  const onB = (url: string) => url.replace(a.url, b.url);

  it("started together on an empty database, they made one signing key", async () => {
    const keys = await api(b.url, "GET", "/v1/keys");
    expect(keys.body.items).toHaveLength(1);
    expect(keys.body.items[0].status).toBe("active");
  });

  it("a token revoked on A is refused by B within 1 s", async () => {
    const put = await api(a.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "revoked.txt",
      method: "PUT",
    });
    const revoked = await api(a.url, "POST", "/v1/revocations", { tokenId: put.body.id });
    expect(revoked.status).toBe(201);
    const refused = await within(1000, async () => {
      const res = await fetch(onB(put.body.url as string), { method: "PUT", body: "x" });
      const body = (await res.json()) as { error?: { code: string } };
      return res.status === 403 && body.error?.code === "token_revoked";
    });
    expect(refused).toBe(true);
  });

  // B's issuance record is on B's audit queue for up to 20 ms: A answered 404 and the token
  // stayed valid, until A waited for its peers' records (service/revoke.ts, PEER_WINDOW_MS).
  it("a token B issued a moment ago is revoked on A, not answered 404", async () => {
    for (let i = 0; i < 5; i++) {
      const put = await api(b.url, "POST", "/v1/presign", {
        bucket: "default",
        key: `just-issued-${i}.txt`,
        method: "PUT",
      });
      expect(put.status).toBe(200);
      const revoked = await api(a.url, "POST", "/v1/revocations", { tokenId: put.body.id });
      expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    }
  });

  it("a principal's tokens B issued a moment ago are revoked by a revocation on A", async () => {
    const own = await api(a.url, "POST", "/v1/apikeys", { name: "peer-window", role: "user" });
    const put = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "peer-window.txt", method: "PUT" },
      own.body.key as string,
    );
    expect(put.status).toBe(200);
    const revoked = await api(a.url, "POST", "/v1/revocations", {
      principal: `key:${own.body.id as string}`,
    });
    expect(revoked.status).toBe(201);
    expect(revoked.body.revoked).toBe(1);
    const refused = await within(1000, async () => {
      const res = await fetch(put.body.url as string, { method: "PUT", body: "x" });
      return res.status === 403;
    });
    expect(refused).toBe(true);
  });

  // The short URL's principal came from B's issuance record, on B's audit queue for a while: A
  // found none and skipped the principal check, so a deleted key's short URL still redirected.
  it("a short URL B made a moment ago is refused on A once its key is deleted on A", async () => {
    for (let i = 0; i < 5; i++) {
      const own = await api(a.url, "POST", "/v1/apikeys", { name: `short-${i}`, role: "user" });
      const made = await api(
        b.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: `short-${i}.txt`, method: "GET", short: true },
        own.body.key as string,
      );
      expect(made.status).toBe(200);
      expect((await api(a.url, "DELETE", `/v1/apikeys/${own.body.id as string}`)).status).toBe(204);
      const res = await fetch((made.body.url as string).replace(b.url, a.url), {
        redirect: "manual",
      });
      expect(res.status, `round ${i}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("token_revoked");
    }
  });

  it("a grant removed on A stops B within 1 s", async () => {
    const grant = await api(a.url, "POST", "/v1/grants", {
      principal: `key:${user.id}`,
      buckets: ["default"],
      actions: ["delete"],
    });
    expect(grant.status).toBe(201);
    const asked = () =>
      api(
        b.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: "g.txt", method: "DELETE" },
        user.key,
      );
    expect(await within(1000, async () => (await asked()).status === 200)).toBe(true);
    expect((await api(a.url, "DELETE", `/v1/grants/${grant.body.id}`)).status).toBe(204);
    expect(await within(1000, async () => (await asked()).status === 403)).toBe(true);
  });

  it("a bucket created on A is usable on B, and gone from B once deleted on A, within 1 s", async () => {
    const name = `b${randomBytes(4).toString("hex")}`;
    expect(
      (await api(a.url, "POST", "/v1/buckets", { name, config: { backend: "local" } })).status,
    ).toBe(201);
    const asked = () =>
      api(b.url, "POST", "/v1/presign", { bucket: name, key: "k", method: "GET" });
    expect(await within(1000, async () => (await asked()).status === 200)).toBe(true);
    expect((await api(a.url, "DELETE", `/v1/buckets/${name}`)).status).toBe(204);
    expect(await within(1000, async () => (await asked()).status === 404)).toBe(true);
  });

  it("a key rotated on A signs on A and verifies on B", async () => {
    const rotated = await api(a.url, "POST", "/v1/keys");
    expect(rotated.status).toBe(201);
    const put = await api(a.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "rotated.txt",
      method: "PUT",
    });
    const claims = JSON.parse(
      Buffer.from(
        new URL(put.body.url as string).searchParams.get("t")!.split(".")[0]!,
        "base64url",
      ).toString(),
    ) as { k: string };
    expect(claims.k).toBe(rotated.body.kid);
    const stored = await within(1000, async () => {
      const res = await fetch(onB(put.body.url as string), { method: "PUT", body: "rotated" });
      await res.arrayBuffer();
      return res.ok;
    });
    expect(stored).toBe(true);
  });

  it(`a quota of ${QUOTA} per minute admits ${QUOTA} across both instances and refuses the next`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < QUOTA + 1; i++) {
      const answer = await api(
        i % 2 === 0 ? a.url : b.url,
        "POST",
        "/v1/presign",
        { bucket: quotaBucket, key: `k${i}`, method: "GET" },
        user.key,
      );
      statuses.push(answer.status);
      if (answer.status === 429) {
        expect(answer.body.error.code).toBe("rate_limited");
        expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([...new Array<number>(QUOTA).fill(200), 429]);
  });

  it("each webhook event is delivered once, though both instances deliver", async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const ids: string[] = [];
    try {
      const now = new Date().toISOString();
      for (let i = 0; i < 30; i++) {
        const id = `evt_inst_${i}_${randomBytes(4).toString("hex")}`;
        ids.push(id);
        await client.query(
          `insert into webhook_outbox (id, event_id, target, body, attempts, next_attempt_at, created_at)
           values ($1, $2, 0, $3, 0, $4, $4)`,
          [`${id}.0`, id, JSON.stringify({ id, type: "file.committed" }), now],
        );
      }
    } finally {
      await client.end();
    }
    const all = await within(15_000, async () => ids.every((id) => receiver.received.includes(id)));
    expect(all).toBe(true);
    // Both instances poll every second: give a duplicate the time to show up.
    await new Promise((r) => setTimeout(r, 2000));
    for (const id of ids) expect(receiver.received.filter((r) => r === id)).toHaveLength(1);
  });
});
