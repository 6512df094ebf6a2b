/**
 * Issuance quotas (service/quotas.ts), per principal, per bucket and per grant, on every path
 * that issues a URL (presign, batch, shares, upload intents); 429 rate_limited with
 * Retry-After; the metrics and /readyz that come with them; the data dir's lock.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSignet } from "../../src/service/signet.js";
import { validateConfig } from "../../src/service/config.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const metric = async (url: string, line: RegExp) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split("\n").find((l) => line.test(l));
  return found === undefined ? 0 : Number(found.split(" ").pop());
};

describe("issuance quotas", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, small: { backend: "local" } },
        quotas: { principal: { perMinute: 4 }, buckets: { small: { perMinute: 2 } } },
        grants: [
          {
            principal: "role:user",
            buckets: ["default", "small"],
            actions: ["read", "write", "share"],
          },
          {
            principal: "role:capped",
            buckets: ["default"],
            actions: ["read"],
            quota: { perDay: 1 },
          },
        ],
      },
    });
  });
  afterAll(() => h.close());

  const user = async (role = "user") => {
    const created = await api(h.url, "POST", "/v1/apikeys", { name: role, role });
    return created.body.key as string;
  };

  it("a principal's quota counts every issuing path, then answers 429 with Retry-After", async () => {
    const key = await user();
    const presign = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "a.txt", method: "GET" },
      key,
    );
    expect(presign.status).toBe(200);
    const batch = await api(
      h.url,
      "POST",
      "/v1/presign/batch",
      { requests: [{ bucket: "default", key: "b.txt", method: "GET" }] },
      key,
    );
    expect(batch.body.results[0].ok).toBe(true);
    const share = await api(
      h.url,
      "POST",
      "/v1/shares",
      { bucket: "default", prefix: "folder", methods: ["GET"] },
      key,
    );
    expect(share.status).toBe(201);
    const intent = await api(
      h.url,
      "POST",
      "/v1/uploads",
      { bucket: "default", key: "c.txt", size: 1, contentType: "text/plain" },
      key,
    );
    expect(intent.status).toBe(201);
    const before = await metric(
      h.url,
      /^signet_quota_rejections_total\{scope="principal",window="minute"\}/,
    );
    const refused = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "d.txt", method: "GET" },
      key,
    );
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const inBatch = await api(
      h.url,
      "POST",
      "/v1/presign/batch",
      { requests: [{ bucket: "default", key: "e.txt", method: "GET" }] },
      key,
    );
    expect(inBatch.body.results[0]).toMatchObject({ ok: false, error: { code: "rate_limited" } });
    expect(
      await metric(h.url, /^signet_quota_rejections_total\{scope="principal",window="minute"\}/),
    ).toBe(before + 2);
    // Another principal still has its own quota.
    const other = await user();
    expect(
      (
        await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "default", key: "a.txt", method: "GET" },
          other,
        )
      ).status,
    ).toBe(200);
  });

  it("a bucket's quota counts every principal together", async () => {
    const [k1, k2] = [await user(), await user()];
    const ask = (key: string) =>
      api(h.url, "POST", "/v1/presign", { bucket: "small", key: "x", method: "GET" }, key);
    expect((await ask(k1)).status).toBe(200);
    expect((await ask(k2)).status).toBe(200);
    const third = await ask(k1);
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/bucket/);
  });

  it("a grant's quota holds for the principals it admits", async () => {
    const key = await user("capped");
    const ask = () =>
      api(h.url, "POST", "/v1/presign", { bucket: "default", key: "y", method: "GET" }, key);
    expect((await ask()).status).toBe(200);
    const second = await ask();
    expect(second.status).toBe(429);
    expect(second.body.error.message).toMatch(/grant quota per day/);
    // A day's window: the retry is hours away, not seconds.
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(3600);
  });

  it("a refusal that is not a quota's does not spend one (the check comes last)", async () => {
    const key = await user();
    for (let i = 0; i < 6; i++)
      expect(
        (await api(h.url, "POST", "/v1/presign", { bucket: "nope", key: "y", method: "GET" }, key))
          .status,
      ).toBe(404);
    expect(
      (await api(h.url, "POST", "/v1/presign", { bucket: "default", key: "y", method: "GET" }, key))
        .status,
    ).toBe(200);
  });

  it("counts issued URLs by backend, method and delivery", async () => {
    const line = (delivery: string) =>
      new RegExp(
        `^signet_urls_issued_total\\{backend="local",method="GET",delivery="${delivery}"\\}`,
      );
    const [direct, link] = [await metric(h.url, line("direct")), await metric(h.url, line("link"))];
    await h.admin.presign({ bucket: "default", key: "m.txt", method: "GET" });
    await h.admin.presign({ bucket: "default", key: "m.txt", method: "GET", delivery: "link" });
    expect(await metric(h.url, line("direct"))).toBe(direct + 1);
    expect(await metric(h.url, line("link"))).toBe(link + 1);
    expect(await metric(h.url, /^signet_refusals_total\{reason="rate_limited"\}/)).toBeGreaterThan(
      0,
    );
    expect(await metric(h.url, /^signet_intents\{status="pending"\}/)).toBeGreaterThan(0);
  });

  it("/readyz reports the database", async () => {
    const ready = await api(h.url, "GET", "/readyz", undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: "ready",
      checks: { database: "ok", "bucket:default": "ok", "bucket:small": "ok" },
    });
  });

  it("the data dir is opened by one Signet at a time, with a message that says why", async () => {
    await expect(
      openSignet({ dataDir: h.dataDir, config: validateConfig({}), env: {} }),
    ).rejects.toThrow(/in use by another Signet process.*one process at a time/s);
  });
});

describe("quota counters that cannot be reached", () => {
  it("refuse to start rather than issue without the quotas they claim", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "signet-noredis-"));
    try {
      await expect(
        openSignet({
          dataDir,
          config: validateConfig({}),
          env: {},
          redisUrl: "redis://127.0.0.1:9/0",
        }),
      ).rejects.toThrow(/cannot reach Redis/);
      // Everything it opened was closed again: the data dir is free.
      const again = await openSignet({ dataDir, config: validateConfig({}), env: {} });
      await again.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("/readyz with a JWKS endpoint that does not answer", () => {
  it("is 503 and names the JWKS check", async () => {
    const h = await startSignet({
      config: { auth: { jwt: { jwksUrl: "http://127.0.0.1:9/jwks.json", audience: "x" } } },
    });
    try {
      const ready = await api(h.url, "GET", "/readyz", undefined, null);
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe("unavailable");
      expect(ready.body.checks.database).toBe("ok");
      expect(ready.body.checks.jwks).toMatch(/^unavailable/);
    } finally {
      await h.close();
    }
  });
});
