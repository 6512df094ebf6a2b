/**
 * Issue 17: API key rows are kept in memory for at most a second. A revocation through this
 * instance is refused at once; a change made by another instance (here: straight in the
 * database) is seen once the second has passed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("API keys kept in memory", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { grants: [{ principal: "role:reader", buckets: ["default"], actions: ["read"] }] },
    });
  });
  afterAll(() => h.close());

  const presignAs = (key: string) =>
    api(h.url, "POST", "/v1/presign", { bucket: "default", key: "x", method: "GET" }, key);
  const newKey = async () =>
    (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" })).body as {
      key: string;
      id: string;
    };

  it("a key revoked here is refused on its very next use", async () => {
    const { key, id } = await newKey();
    expect((await presignAs(key)).status).toBe(200);
    expect((await presignAs(key)).status).toBe(200);
    expect((await api(h.url, "DELETE", `/v1/apikeys/${id}`)).status).toBe(204);
    expect((await presignAs(key)).status).toBe(401);
  });

  it("a key revoked by another instance is refused within a second", async () => {
    const { key, id } = await newKey();
    expect((await presignAs(key)).status).toBe(200);
    await h.signet.db
      .updateTable("api_keys")
      .set({ revoked_at: new Date().toISOString() })
      .where("id", "=", id)
      .execute();
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await presignAs(key)).status).toBe(401);
  });

  it("a wrong secret for a kept key is refused", async () => {
    const { key } = await newKey();
    expect((await presignAs(key)).status).toBe(200);
    const wrong = key.slice(0, -4) + (key.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await presignAs(wrong)).status).toBe(401);
  });
});

// Each case on a fresh instance: one failed attempt anywhere sends every request through the
// throttle's counts for a minute.
describe("API keys decided in memory (Authenticator.cached)", () => {
  const fresh = () =>
    startSignet({
      config: { grants: [{ principal: "role:reader", buckets: ["default"], actions: ["read"] }] },
    });
  const setUp = async (f: Harness) => {
    const created = (await api(f.url, "POST", "/v1/apikeys", { name: "r", role: "reader" }))
      .body as { key: string; id: string };
    const presign = (key: string) =>
      api(f.url, "POST", "/v1/presign", { bucket: "default", key: "x", method: "GET" }, key);
    expect((await presign(created.key)).status).toBe(200);
    return { ...created, presign };
  };

  it("a kept good key is; a wrong secret is not, nor any key once a failure was counted", async () => {
    const f = await fresh();
    try {
      const { key, id, presign } = await setUp(f);
      expect(f.signet.auth.cached(key)).toMatchObject({ id: `key:${id}`, roles: ["reader"] });
      const wrong = key.slice(0, -4) + (key.endsWith("AAAA") ? "BBBB" : "AAAA");
      expect(f.signet.auth.cached(wrong)).toBeUndefined();
      expect((await presign(wrong)).status).toBe(401);
      expect(f.signet.auth.cached(key)).toBeUndefined();
      expect((await presign(key)).status).toBe(200);
    } finally {
      await f.close();
    }
  });

  it("a key revoked here is not", async () => {
    const f = await fresh();
    try {
      const { key, id, presign } = await setUp(f);
      expect(f.signet.auth.cached(key)).toBeDefined();
      expect((await api(f.url, "DELETE", `/v1/apikeys/${id}`)).status).toBe(204);
      expect(f.signet.auth.cached(key)).toBeUndefined();
      expect((await presign(key)).status).toBe(401);
    } finally {
      await f.close();
    }
  });
});
