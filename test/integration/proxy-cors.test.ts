/** Issue 4: uploads and deletes through proxy links, and CORS preflights on the data plane. */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("proxy links and CORS", () => {
  let h: Harness;
  const origin = "https://app.example.test";
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: {
          default: {
            backend: "local",
            cors: { origins: [origin], methods: ["GET", "PUT"], headers: ["x-extra"] },
          },
        },
      },
    });
  });
  afterAll(() => h.close());

  it("a proxy share takes uploads under its folder, spooled and checked, and deletes", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "drop",
      methods: ["PUT", "GET", "DELETE"],
      mode: "proxy",
    });
    expect(share.status).toBe(201);
    const put = await fetch(`${share.body.url}in/file.txt`, {
      method: "PUT",
      body: "dropped",
      headers: { "content-type": "text/plain" },
      redirect: "manual",
    });
    expect(put.status).toBe(200);
    expect((await h.signet.objects.store.head("default", "drop/in/file.txt"))?.contentType).toBe(
      "text/plain",
    );
    expect(await (await fetch(`${share.body.url}in/file.txt`)).text()).toBe("dropped");
    expect((await fetch(`${share.body.url}in/file.txt`, { method: "DELETE" })).status).toBe(204);
    expect(await h.signet.objects.store.head("default", "drop/in/file.txt")).toBeUndefined();
    expect(await readdir(join(h.dataDir, "spool", "tmp"))).toEqual([]);
  });

  it("a redirect link keeps an upload's method and body (307) and its target still checks the sha256", async () => {
    const sha = createHash("sha256").update("exact").digest("base64");
    const link = await h.admin.presign({
      bucket: "default",
      key: "checked/x",
      method: "PUT",
      checksumSha256: sha,
      delivery: "link",
    });
    const redirected = await fetch(link.url, { method: "PUT", body: "exact", redirect: "manual" });
    expect(redirected.status).toBe(307);
    const target = redirected.headers.get("location")!;
    expect((await fetch(target, { method: "PUT", body: "other" })).status).toBe(403);
    expect((await fetch(target, { method: "PUT", body: "exact" })).status).toBe(200);
  });

  it("answers preflights for allowed origins and methods, and refuses others", async () => {
    const signed = await h.admin.presign({ bucket: "default", key: "c.txt", method: "PUT" });
    const ok = await fetch(signed.url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type, x-tenant",
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(origin);
    expect(ok.headers.get("access-control-allow-methods")).toBe("GET, PUT");
    expect(ok.headers.get("access-control-allow-headers")).toBe("x-extra, content-type, x-tenant");
    expect(
      (
        await fetch(signed.url, {
          method: "OPTIONS",
          headers: { origin: "https://evil.test", "access-control-request-method": "PUT" },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await fetch(signed.url, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "DELETE" },
        })
      ).status,
    ).toBe(403);
    const put = await fetch(signed.url, { method: "PUT", body: "x", headers: { origin } });
    expect(put.headers.get("access-control-allow-origin")).toBe(origin);
    expect(put.headers.get("access-control-expose-headers")).toContain("ETag");
    const other = await fetch(signed.url, {
      method: "PUT",
      body: "x",
      headers: { origin: "https://evil.test" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "drop",
      methods: ["GET"],
    });
    expect(
      (
        await fetch(`${share.body.url}a`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "GET" },
        })
      ).status,
    ).toBe(204);
  });
});
