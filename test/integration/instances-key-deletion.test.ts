/**
 * An API key deleted on A: what it made on B (a share, a link, a short URL, a plain URL) is
 * refused on B within the documented second, and B lists the share as revoked.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { databaseFor, dropDatabaseFor, PG_ADMIN_URL } from "../helpers/pg.js";
import { exited, type Served, serve } from "../helpers/process.js";

const REDIS_URL = process.env.SIGNET_REDIS_URL || "redis://127.0.0.1:6379";

async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe.skipIf(PG_ADMIN_URL === undefined)("an API key deleted on another instance", () => {
  let a: Served;
  let b: Served;
  let dirs: string[] = [];

  beforeAll(async () => {
    dirs = [
      await mkdtemp(join(tmpdir(), "signet-kd-a-")),
      await mkdtemp(join(tmpdir(), "signet-kd-b-")),
    ];
    const databaseUrl = (await databaseFor(dirs[0]!))!;
    const config = join(dirs[0]!, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        buckets: { default: { backend: "local" } },
        grants: [{ principal: "role:user", buckets: ["*"], actions: ["read", "write", "share"] }],
      }),
    );
    const env = {
      SIGNET_DATABASE_URL: databaseUrl,
      SIGNET_REDIS_URL: REDIS_URL,
      SIGNET_ADMIN_KEY: ADMIN_KEY,
      SIGNET_MASTER_KEY: randomBytes(32).toString("base64url"),
    };
    [a, b] = await Promise.all([
      serve(dirs[0]!, env, ["--config", config]),
      serve(dirs[1]!, env, ["--config", config]),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const s of [a, b]) {
      if (s === undefined) continue;
      s.child.kill("SIGTERM");
      await exited(s.child);
    }
    if (dirs[0] !== undefined) await dropDatabaseFor(dirs[0]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("ends its share, link, short URL and URL on B within a second", async () => {
    const own = await api(a.url, "POST", "/v1/apikeys", { name: "leaving", role: "user" });
    const key = own.body.key as string;
    const share = await api(
      b.url,
      "POST",
      "/v1/shares",
      { bucket: "default", prefix: "s/", methods: ["GET"] },
      key,
    );
    expect(share.status, JSON.stringify(share.body)).toBe(201);
    const link = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/l.txt", method: "GET", delivery: "link" },
      key,
    );
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    const short = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/u.txt", method: "GET", short: true },
      key,
    );
    const plain = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/p.txt", method: "GET" },
      key,
    );
    expect((await api(a.url, "DELETE", `/v1/apikeys/${own.body.id as string}`)).status).toBe(204);
    const urls = {
      share: `${share.body.url as string}p.txt`,
      link: link.body.url as string,
      short: short.body.url as string,
      plain: plain.body.url as string,
    };
    for (const [what, url] of Object.entries(urls)) {
      const refused = await within(1000, async () => {
        const res = await fetch(url, { redirect: "manual" });
        await res.arrayBuffer();
        return res.status === 403;
      });
      expect(refused, `${what}: ${url}`).toBe(true);
    }
    const listed = await api(b.url, "GET", "/v1/shares");
    const mine = (listed.body.items as { id: string; revokedAt: string | null }[]).find(
      (s) => s.id === share.body.id,
    );
    expect(mine?.revokedAt).not.toBeNull();
    // Still refused to the key itself, on B too.
    const again = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/x.txt", method: "GET" },
      key,
    );
    expect(again.status).toBe(401);
  });
});
