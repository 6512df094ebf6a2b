/** API keys, grants and buckets over HTTP and the CLI; IP constraints and trusted proxies. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { run } from "../helpers/process.js";

describe("API keys", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { grants: [{ principal: "role:reader", buckets: ["default"], actions: ["read"] }] },
    });
  });
  afterAll(() => h.close());

  it("create answers 201 with the secret once; list never shows it; only a hash is stored", async () => {
    const res = await api(h.url, "POST", "/v1/apikeys", {
      name: "ci",
      role: "reader",
      expiresIn: 3600,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "ci", role: "reader", revokedAt: null });
    expect(res.body.key).toMatch(new RegExp(`^sg_${res.body.id}_[A-Za-z0-9_-]{43}$`));
    const listed = await api(h.url, "GET", "/v1/apikeys");
    expect(JSON.stringify(listed.body)).not.toContain(res.body.key.slice(20));
    const row = await h.signet.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", res.body.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(res.body.key.slice(20));
    expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)).toBe(3_600_000);
  });

  it("a key's subject is its id and its role selects its grants", async () => {
    const { key, id } = (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" }))
      .body;
    const get = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "x", method: "GET" },
      key,
    );
    expect(get.status).toBe(200);
    expect((await h.admin.audit({ tokenId: get.body.id })).items[0]?.principal).toBe(`key:${id}`);
    const put = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "x", method: "PUT" },
      key,
    );
    expect(put.status).toBe(403);
    expect(put.body.error.message).toMatch(/no grant allows write/);
  });

  it("non-admins cannot manage keys, grants or buckets", async () => {
    const { key } = (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" })).body;
    for (const [method, path] of [
      ["GET", "/v1/apikeys"],
      ["POST", "/v1/apikeys"],
      ["GET", "/v1/grants"],
      ["GET", "/v1/buckets"],
      ["POST", "/v1/keys"],
      ["GET", "/v1/audit"],
    ] as const) {
      const res = await api(
        h.url,
        method,
        path,
        method === "POST" ? { name: "x", role: "admin" } : undefined,
        key,
      );
      expect(res.status).toBe(403);
    }
  });

  it("a wrong secret for a real id, or an expired key, is 401", async () => {
    const { key } = (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" })).body;
    const wrong = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    expect(
      (
        await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "default", key: "x", method: "GET" },
          wrong,
        )
      ).status,
    ).toBe(401);
    const created = await h.signet.apiKeys.create({ name: "old", role: "reader", expiresIn: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(
      (
        await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "default", key: "x", method: "GET" },
          created.key,
        )
      ).status,
    ).toBe(401);
  });

  it.each([
    [{ name: "", role: "reader" }, "name"],
    [{ name: "x", role: "Not A Role" }, "role"],
    [{ name: "x", role: "reader", expiresIn: 5 }, "expiresIn"],
    [{ name: "x", role: "reader", secret: "mine" }, "secret"],
  ])("400 for %j", async (body, field) => {
    const res = await api(h.url, "POST", "/v1/apikeys", body);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });

  it("revoking an unknown or malformed id is 404 / 400", async () => {
    expect((await api(h.url, "DELETE", "/v1/apikeys/0000000000000000")).status).toBe(404);
    expect((await api(h.url, "DELETE", "/v1/apikeys/nope")).status).toBe(400);
  });

  it("the CLI creates, lists and revokes keys", async () => {
    const env = { SIGNET_URL: h.url, SIGNET_KEY: ADMIN_KEY };
    const created = await run(
      ["apikeys", "create", "--name", "from cli", "--role", "reader", "--expires", "90d"],
      env,
    );
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(Date.parse(key.expiresAt) - Date.parse(key.createdAt)).toBe(90 * 86400 * 1000);
    // Piped, a list prints one JSON object per line.
    const listed = (await run(["apikeys", "list"], env)).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(listed.map((k: any) => k.id)).toContain(key.id);
    expect((await run(["apikeys", "revoke", key.id], env)).code).toBe(0);
    expect(
      (
        await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "default", key: "x", method: "GET" },
          key.key,
        )
      ).status,
    ).toBe(401);
  });
});

describe("grants and buckets over HTTP", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { grants: [{ principal: "role:a", buckets: ["default"], actions: ["read"] }] },
    });
  });
  afterAll(() => h.close());

  it("creates, lists and deletes grants; config grants cannot be deleted", async () => {
    const created = await api(h.url, "POST", "/v1/grants", {
      principal: "role:b",
      buckets: ["default"],
      prefix: "p/${sub}",
      actions: ["read"],
      require: { ip: "10.0.0.0/8" },
    });
    expect(created.status).toBe(201);
    expect(created.body.require.ip).toEqual(["10.0.0.0/8"]);
    const ids = (await api(h.url, "GET", "/v1/grants")).body.items.map((g: any) => g.id);
    expect(ids).toEqual(["config:0", created.body.id]);
    expect((await api(h.url, "DELETE", "/v1/grants/config:0")).status).toBe(409);
    expect((await api(h.url, "DELETE", `/v1/grants/${created.body.id}`)).status).toBe(204);
    expect((await api(h.url, "DELETE", `/v1/grants/${created.body.id}`)).status).toBe(404);
  });

  it.each([
    [{ principal: "b", buckets: ["default"], actions: ["read"] }, "grant.principal"],
    [{ principal: "role:b", buckets: ["default"], actions: ["fly"] }, "actions.0"],
    [
      { principal: "role:b", buckets: ["default"], actions: ["read"], prefix: "${who}" },
      "grant.prefix",
    ],
    [
      {
        principal: "role:b",
        buckets: ["default"],
        actions: ["read"],
        require: { ip: "10.0.0.0/33" },
      },
      "grant.require.ip",
    ],
  ])("400 for the invalid grant %j", async (body, field) => {
    const res = await api(h.url, "POST", "/v1/grants", body);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });

  it("creates buckets without secrets, refuses duplicates and unknown fields", async () => {
    const res = await api(h.url, "POST", "/v1/buckets", {
      name: "photos",
      config: { backend: "local", maxExpiresIn: 600 },
    });
    expect(res.status).toBe(201);
    expect(
      (await api(h.url, "POST", "/v1/buckets", { name: "photos", config: { backend: "local" } }))
        .status,
    ).toBe(409);
    const secret = await api(h.url, "POST", "/v1/buckets", {
      name: "s3",
      config: { backend: "local", secretAccessKey: "x" },
    });
    expect(secret.status).toBe(400);
    expect(
      (await api(h.url, "POST", "/v1/buckets", { name: "Bad Name", config: { backend: "local" } }))
        .status,
    ).toBe(400);
    const signed = await api(h.url, "POST", "/v1/presign", {
      bucket: "photos",
      key: "k",
      method: "GET",
      expiresIn: 601,
    });
    expect(signed.body.error.code).toBe("expiry_too_long");
    expect((await api(h.url, "DELETE", "/v1/buckets/default")).status).toBe(409);
    expect((await api(h.url, "DELETE", "/v1/buckets/photos")).status).toBe(204);
  });

  it("start-up fails naming an invalid grant in the config", async () => {
    await expect(
      startSignet({
        config: {
          grants: [
            { principal: "role:a", buckets: ["d"], actions: ["read"] },
            { principal: "role:a", buckets: ["d"], actions: ["read"], prefix: "x/${user}" },
          ],
        },
      }),
    ).rejects.toThrow(/grants\.1\.prefix/);
    await expect(
      startSignet({
        config: {
          grants: [
            {
              principal: "role:a",
              buckets: ["d"],
              actions: ["read"],
              require: { contentTypes: ["image"] },
            },
          ],
        },
      }),
    ).rejects.toThrow(/grants\.0\.require\.contentTypes/);
    await expect(
      startSignet({
        config: {
          grants: [
            {
              principal: "role:a",
              buckets: ["d"],
              actions: ["read"],
              require: { ip: "300.0.0.0/8" },
            },
          ],
        },
      }),
    ).rejects.toThrow(/grants\.0\.require\.ip/);
    await expect(startSignet({ config: { trustedProxies: ["nope"] } })).rejects.toThrow(
      /trustedProxies\.0/,
    );
  });
});

describe("ip constraints", () => {
  it("binds ip into the URL: inside works, outside is 403 naming ip", async () => {
    const h = await startSignet();
    try {
      await fetch(
        (await h.admin.presign({ bucket: "default", key: "net.txt", method: "PUT" })).url,
        { method: "PUT", body: "lan" },
      );
      const inside = await h.admin.presign({
        bucket: "default",
        key: "net.txt",
        method: "GET",
        ip: ["127.0.0.0/8", "::1"],
      });
      expect(inside.enforcedBy.ip).toBe("backend");
      expect(await (await fetch(inside.url)).text()).toBe("lan");
      const outside = await h.admin.presign({
        bucket: "default",
        key: "net.txt",
        method: "GET",
        ip: "10.0.0.0/8",
      });
      const res = await fetch(outside.url);
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error).toMatchObject({
        code: "outside_scope",
        message: expect.stringMatching(/^ip/),
      });
      // X-Forwarded-For is ignored when the peer is not a trusted proxy.
      expect(
        (await fetch(outside.url, { headers: { "x-forwarded-for": "10.1.2.3" } })).status,
      ).toBe(403);
    } finally {
      await h.close();
    }
  });

  it("takes the client address from X-Forwarded-For through trusted proxies only", async () => {
    const h = await startSignet({ config: { trustedProxies: ["127.0.0.1/32"] } });
    try {
      await fetch((await h.admin.presign({ bucket: "default", key: "p.txt", method: "PUT" })).url, {
        method: "PUT",
        body: "proxied",
      });
      const signed = await h.admin.presign({
        bucket: "default",
        key: "p.txt",
        method: "GET",
        ip: "10.0.0.0/8",
      });
      expect((await fetch(signed.url, { headers: { "x-forwarded-for": "10.1.2.3" } })).status).toBe(
        200,
      );
      expect(
        (await fetch(signed.url, { headers: { "x-forwarded-for": "192.0.2.1" } })).status,
      ).toBe(403);
      expect((await fetch(signed.url)).status).toBe(403);
    } finally {
      await h.close();
    }
  });
});
