import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresignInput } from "../../src/client/index.js";
import { OFFLOAD_MIN } from "../../src/store/spool.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { raw, statusOf } from "../helpers/http.js";

describe("the embedded store's data plane", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, small: { backend: "local", maxObjectSize: 10 } },
      },
    });
  });
  afterAll(() => h.close());

  const url = async (key: string, method: PresignInput["method"], bucket = "default") =>
    (await h.admin.presign({ bucket, key, method })).url;
  const put = async (key: string, body: string | Buffer, type = "application/octet-stream") =>
    fetch(await url(key, "PUT"), { method: "PUT", body, headers: { "content-type": type } });
  const errorOf = async (res: Response) =>
    ((await res.json()) as { error: { code: string; message: string } }).error;

  it("PUT stores, GET serves the same bytes with metadata and safety headers", async () => {
    const bytes = Buffer.from("the quick brown fox");
    const up = await put("docs/fox.txt", bytes, "text/plain; charset=utf-8");
    expect(up.status).toBe(200);
    const stored = (await up.json()) as { etag: string; size: number; sha256: string };
    expect(stored.size).toBe(bytes.length);
    expect(up.headers.get("etag")).toBe(stored.etag);
    const res = await fetch(await url("docs/fox.txt", "GET"));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(res.headers.get("etag")).toBe(stored.etag);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("last-modified")).toBeTruthy();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("sandbox");
    expect(res.headers.get("content-disposition")).toBe(
      `inline; filename="fox.txt"; filename*=UTF-8''fox.txt`,
    );
  });

  it("HEAD answers the headers without a body", async () => {
    await put("docs/head.bin", "12345");
    const res = await fetch(await url("docs/head.bin", "HEAD"), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("5");
    expect(await res.text()).toBe("");
  });

  it("serves active types as attachments, still sandboxed", async () => {
    await put("evil.html", "<script>alert(1)</script>", "text/html");
    await put("evil.svg", "<svg/>", "image/svg+xml");
    for (const key of ["evil.html", "evil.svg"]) {
      const res = await fetch(await url(key, "GET"));
      expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(res.headers.get("content-security-policy")).toBe("sandbox");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("serves single byte ranges: 206, and 416 past the end", async () => {
    await put("range.txt", "0123456789");
    const get = await url("range.txt", "GET");
    const part = await fetch(get, { headers: { range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(part.headers.get("content-length")).toBe("4");
    expect(await part.text()).toBe("2345");
    const suffix = await fetch(get, { headers: { range: "bytes=-3" } });
    expect(await suffix.text()).toBe("789");
    const past = await fetch(get, { headers: { range: "bytes=10-" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */10");
    expect((await errorOf(past)).code).toBe("range_not_satisfiable");
  });

  it("honours If-None-Match and If-Modified-Since", async () => {
    await put("cond.txt", "cached");
    const get = await url("cond.txt", "GET");
    const first = await fetch(get);
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    expect((await fetch(get, { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await fetch(get, { headers: { "if-none-match": `W/${etag}` } })).status).toBe(304);
    expect((await fetch(get, { headers: { "if-none-match": '"other"' } })).status).toBe(200);
    expect((await fetch(get, { headers: { "if-modified-since": lastModified } })).status).toBe(304);
    expect(
      (await fetch(get, { headers: { "if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT" } }))
        .status,
    ).toBe(200);
  });

  it("serves an empty object", async () => {
    await put("empty", "");
    const res = await fetch(await url("empty", "GET"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("0");
    expect(await res.text()).toBe("");
  });

  it("DELETE removes the object (204), then GET is 404", async () => {
    await put("gone.txt", "bye");
    const del = await fetch(await url("gone.txt", "DELETE"), { method: "DELETE" });
    expect(del.status).toBe(204);
    const res = await fetch(await url("gone.txt", "GET"));
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });

  it("replaces atomically and unlinks the replaced blob; blobs are named by id, never by key", async () => {
    await put("replace/me.txt", "first");
    await put("replace/me.txt", "second");
    expect(await (await fetch(await url("replace/me.txt", "GET"))).text()).toBe("second");
    const names: string[] = [];
    for (const shard of await readdir(join(h.dataDir, "blobs")))
      names.push(...(await readdir(join(h.dataDir, "blobs", shard))));
    const rows = await h.signet.db.selectFrom("objects").select("blob_id").execute();
    expect(names.sort()).toEqual(rows.map((r) => r.blob_id).sort());
    for (const name of names) expect(name).toMatch(/^[0-9a-f]{32}$/);
  });

  it("streams any content type and a large body (8 MiB) without a parser limit", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    for (const type of ["application/json", "multipart/form-data; boundary=x", "text/plain"]) {
      const up = await put(`big-${type.split("/")[0]}`, big, type);
      expect(up.status).toBe(200);
    }
    const res = await fetch(await url("big-application", "GET"));
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  });

  it("a PUT without Content-Type is stored as application/octet-stream", async () => {
    const res = await fetch(await url("untyped", "PUT"), { method: "PUT", body: new Blob(["x"]) });
    expect(res.status).toBe(200);
    expect((await fetch(await url("untyped", "GET"))).headers.get("content-type")).toBe(
      "application/octet-stream",
    );
  });

  it("enforces the bucket's maximum object size with 413, keeping nothing", async () => {
    const signed = await url("too/big", "PUT", "small");
    const declared = await fetch(signed, { method: "PUT", body: "x".repeat(11) });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("payload_too_large");
    // Chunked: no length declared, refused while streaming.
    const chunked = await fetch(signed, {
      method: "PUT",
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("x".repeat(20)));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await h.signet.objects.store.head("small", "too/big")).toBeUndefined();
    expect(await readdir(join(h.dataDir, "tmp"))).toEqual([]);
  });

  describe("refusals", () => {
    it("403 for a wrong method, key or bucket, naming the claim", async () => {
      await put("scoped.txt", "s");
      const get = await url("scoped.txt", "GET");
      const wrongMethod = await fetch(get, { method: "PUT", body: "overwrite" });
      expect(wrongMethod.status).toBe(403);
      expect(await errorOf(wrongMethod)).toMatchObject({
        code: "outside_scope",
        message: expect.stringMatching(/^method/),
      });
      expect((await fetch(get, { method: "DELETE" })).status).toBe(403);
      expect((await fetch(get, { method: "HEAD" })).status).toBe(403);
      const wrongKey = await fetch(get.replace("/scoped.txt?", "/other.txt?"));
      expect(await errorOf(wrongKey)).toMatchObject({
        code: "outside_scope",
        message: expect.stringMatching(/^key/),
      });
      const wrongBucket = await fetch(get.replace("/o/default/", "/o/small/"));
      expect(await errorOf(wrongBucket)).toMatchObject({
        code: "outside_scope",
        message: expect.stringMatching(/^bucket/),
      });
      expect(await (await fetch(await url("scoped.txt", "GET"))).text()).toBe("s");
    });

    it("403 token_invalid for a missing, tampered or repeated token", async () => {
      const get = await url("scoped.txt", "GET");
      const bare = get.split("?")[0]!;
      expect(await errorOf(await fetch(bare))).toMatchObject({ code: "token_invalid" });
      const t = new URL(get).searchParams.get("t")!;
      const tampered = `${bare}?t=${t.slice(0, 10)}${t[10] === "A" ? "B" : "A"}${t.slice(11)}`;
      const res = await fetch(tampered);
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("token_invalid");
      expect((await fetch(`${get}&t=${t}`)).status).toBe(400);
    });

    it("403 token_expired once the URL has expired", async () => {
      const signed = await h.admin.presign({
        bucket: "default",
        key: "scoped.txt",
        method: "GET",
        expiresIn: 1,
      });
      await new Promise((r) => setTimeout(r, 2100));
      const res = await fetch(signed.url);
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("token_expired");
    });

    it("400 for encoded slashes, NUL and invalid UTF-8 in the path; nothing outside the data dir is touched", async () => {
      const get = await url("a/b", "GET");
      const query = get.slice(get.indexOf("?"));
      for (const path of [
        "/o/default/a%2Fb",
        "/o/default/a%00b",
        "/o/default/a%FFb",
        "/o/default/%2e%2e/%2e%2e/etc/passwd",
        "/o/default/../../etc/passwd",
        "/o/default/a//b",
      ]) {
        const answer = await raw(
          h.url,
          `GET ${path}${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        expect([400, 403, 404]).toContain(statusOf(answer));
        expect(answer).not.toContain("root:");
        expect(answer).not.toContain(query.slice(3, 40));
      }
      const nul = await raw(
        h.url,
        `GET /o/default/a%00b${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(nul)).toBe(400);
      const slash = await raw(
        h.url,
        `GET /o/default/a%2Fb${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(slash)).toBe(400);
    });

    it.each([
      { name: "a small body", declared: 1000 },
      // Hashed and written on the spool worker (store/spool.ts).
      { name: "a large body", declared: 4 * OFFLOAD_MIN },
    ])(
      "a PUT whose body ends early ($name) stores nothing, the old object intact",
      async ({ declared }) => {
        await put("intact.txt", "original");
        const signed = new URL(await url("intact.txt", "PUT"));
        await raw(
          h.url,
          `PUT ${signed.pathname}${signed.search} HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\nContent-Type: text/plain\r\n\r\n${"only part of it".padEnd(declared / 2, ".")}`,
          { hangUp: true },
        );
        expect(await (await fetch(await url("intact.txt", "GET"))).text()).toBe("original");
        // The server notices the hang-up and removes its temporary file (bounded wait, not timed).
        await expect.poll(() => readdir(join(h.dataDir, "tmp")), { timeout: 10_000 }).toEqual([]);
      },
    );

    it("audits every use, allowed or refused", async () => {
      const signed = await h.admin.presign({ bucket: "default", key: "scoped.txt", method: "GET" });
      await fetch(signed.url);
      await fetch(signed.url, { method: "DELETE" });
      await new Promise((r) => setTimeout(r, 50));
      const { items } = await h.admin.audit({ tokenId: signed.id });
      const uses = items.filter((i) => i.event === "object.use");
      expect(uses.map((u) => [u.method, u.status]).sort()).toEqual([
        ["DELETE", 403],
        ["GET", 200],
      ]);
    });
  });
});
