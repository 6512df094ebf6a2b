/** Issue 4: every constraint from both sides on the embedded store (inside works, outside is refused). */
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresignInput } from "../../src/client/index.js";
import { OFFLOAD_MIN } from "../../src/store/spool.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("scopes and constraints on the embedded store", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
    for (const [key, body] of [
      ["p/o1", "one"],
      ["p/o2", "two"],
      ["p/p2/o3", "three"],
      ["o4", "four"],
      ["p3/o5", "five"],
      ["pp", "pp"],
    ]) {
      const put = await h.admin.presign({ bucket: "default", key: key!, method: "PUT" });
      await fetch(put.url, { method: "PUT", body });
    }
  });
  afterAll(() => h.close());

  const presign = (input: Partial<PresignInput>) =>
    api(h.url, "POST", "/v1/presign", { bucket: "default", ...input });
  const signed = async (input: Partial<PresignInput>) => {
    const res = await presign(input);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const errorOf = async (res: Response) => ((await res.json()) as any).error;
  const objectUrl = (template: string, key: string) =>
    template.replace("{key}", key.split("/").map(encodeURIComponent).join("/"));

  describe("folder scope", () => {
    it("one GET URL for p reads p/o1 and p/p2/o3, never o4, p3/o5 or pp", async () => {
      const folder = await signed({ prefix: "p", method: "GET" });
      expect(folder.url).toMatch(/\/o\/default\/p\/\?t=/);
      expect(folder.enforcedBy).toMatchObject({ folder: "backend", method: "backend" });
      expect(await (await fetch(objectUrl(folder.objectUrlTemplate, "p/o1"))).text()).toBe("one");
      expect(await (await fetch(objectUrl(folder.objectUrlTemplate, "p/p2/o3"))).text()).toBe(
        "three",
      );
      for (const key of ["o4", "p3/o5", "pp"]) {
        const res = await fetch(objectUrl(folder.objectUrlTemplate, key));
        expect(res.status).toBe(403);
        expect((await errorOf(res)).message).toMatch(/^folder/);
      }
    });

    it("covers objects added after signing, and PUT uploads anywhere under the folder", async () => {
      const get = await signed({ prefix: "p/", method: "GET" });
      const put = await signed({ prefix: "p", method: "PUT" });
      expect(
        (
          await fetch(objectUrl(put.objectUrlTemplate, "p/new/deep.txt"), {
            method: "PUT",
            body: "later",
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await fetch(objectUrl(put.objectUrlTemplate, "q/escape.txt"), {
            method: "PUT",
            body: "x",
          })
        ).status,
      ).toBe(403);
      expect(await (await fetch(objectUrl(get.objectUrlTemplate, "p/new/deep.txt"))).text()).toBe(
        "later",
      );
    });

    it("lists only with LIST among the methods: JSON, paginated, HTML for browsers", async () => {
      const noList = await signed({ prefix: "p", method: "GET" });
      expect((await fetch(noList.url)).status).toBe(403);
      const list = await signed({ prefix: "p", methods: ["LIST", "GET"] });
      expect(list.methods).toEqual(["LIST", "GET"]);
      const page = (await (await fetch(list.url)).json()) as any;
      expect(page.items.map((i: any) => i.key)).toEqual(["p/o1", "p/o2"]);
      expect(page.prefixes).toEqual(["p/new/", "p/p2/"]);
      expect(page.nextCursor).toBeNull();
      const url = new URL(list.url);
      url.searchParams.set("limit", "2");
      const first = (await (await fetch(url)).json()) as any;
      expect(first.items.length + first.prefixes.length).toBe(2);
      url.searchParams.set("cursor", first.nextCursor);
      const second = (await (await fetch(url)).json()) as any;
      expect([...first.items, ...second.items].map((i: any) => i.key)).toEqual(["p/o1", "p/o2"]);
      expect([...first.prefixes, ...second.prefixes]).toEqual(["p/new/", "p/p2/"]);
      expect(second.nextCursor).toBeNull();
      const sub = new URL(list.url);
      sub.pathname += "p2/";
      expect(((await (await fetch(sub)).json()) as any).items.map((i: any) => i.key)).toEqual([
        "p/p2/o3",
      ]);
      const html = await fetch(list.url, { headers: { accept: "text/html" } });
      expect(html.headers.get("content-type")).toMatch(/^text\/html/);
      expect(html.headers.get("content-security-policy")).toBe("sandbox");
      expect(await html.text()).toContain("o1</a>");
    });

    it("escapes listings: a key with markup stays text", async () => {
      const put = await signed({ key: "p/<script>alert(1)<", method: "PUT" });
      await fetch(put.url, { method: "PUT", body: "x" });
      const list = await signed({ prefix: "p", method: "LIST" });
      const page = await (await fetch(list.url, { headers: { accept: "text/html" } })).text();
      expect(page).not.toContain("<script>");
      expect(page).toContain("&lt;script&gt;");
    });

    it("the whole bucket is the empty prefix", async () => {
      const all = await signed({ prefix: "", method: "LIST" });
      expect(new URL(all.url).pathname).toBe("/o/default/");
      const page = (await (await fetch(all.url)).json()) as any;
      expect(page.items.map((i: any) => i.key)).toEqual(["o4", "pp"]);
    });
  });

  it("several methods in one URL: GET+HEAD, PUT+DELETE", async () => {
    const read = await signed({ key: "p/o1", methods: ["GET", "HEAD"] });
    expect((await fetch(read.url, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(read.url)).status).toBe(200);
    expect((await fetch(read.url, { method: "DELETE" })).status).toBe(403);
    const write = await signed({ key: "tmp/x", methods: ["PUT", "DELETE"] });
    expect((await fetch(write.url, { method: "PUT", body: "x" })).status).toBe(200);
    expect((await fetch(write.url, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(write.url)).status).toBe(403);
  });

  describe("range", () => {
    it("serves the bound range with no Range header, the same range, and refuses others", async () => {
      const part = await signed({ key: "p/p2/o3", method: "GET", range: "bytes=1-3" });
      expect(part.headers).toEqual({ range: "bytes=1-3" });
      const bare = await fetch(part.url);
      expect(bare.status).toBe(206);
      expect(await bare.text()).toBe("hre");
      expect(await (await fetch(part.url, { headers: { range: "bytes=1-3" } })).text()).toBe("hre");
      const other = await fetch(part.url, { headers: { range: "bytes=0-3" } });
      expect(other.status).toBe(403);
      expect((await errorOf(other)).message).toMatch(/^range/);
    });

    it("416 when the bound range starts past the end", async () => {
      const past = await signed({ key: "p/o1", method: "GET", range: "bytes=10-20" });
      expect((await fetch(past.url)).status).toBe(416);
    });
  });

  describe("uploads", () => {
    it("contentLengthRange: inside is stored, outside refused and nothing kept", async () => {
      const put = await signed({ key: "sized", method: "PUT", contentLengthRange: [3, 5] });
      expect((await fetch(put.url, { method: "PUT", body: "ab" })).status).toBe(403);
      expect((await fetch(put.url, { method: "PUT", body: "abcdef" })).status).toBe(403);
      expect(await h.signet.objects.store.head("default", "sized")).toBeUndefined();
      expect((await fetch(put.url, { method: "PUT", body: "abcd" })).status).toBe(200);
    });

    it.each([
      { name: "a small body", key: "checked", body: Buffer.from("checked bytes") },
      // A declared length of OFFLOAD_MIN or more: hashed on the spool worker (store/spool.ts).
      { name: "a large body", key: "checked-large", body: randomBytes(2 * OFFLOAD_MIN) },
    ])(
      "checksumSha256, $name: the right bytes are stored, others refused and nothing kept",
      async ({ key, body }) => {
        const sha = createHash("sha256").update(body).digest("base64");
        const put = await signed({ key, method: "PUT", checksumSha256: sha });
        const other = Buffer.from(body);
        other[other.length - 1]! ^= 1;
        const wrong = await fetch(put.url, { method: "PUT", body: other });
        expect(wrong.status).toBe(403);
        expect((await errorOf(wrong)).message).toMatch(/^checksumSha256/);
        expect(await h.signet.objects.store.head("default", key)).toBeUndefined();
        expect(await readdir(join(h.dataDir, "tmp"))).toEqual([]);
        const right = await fetch(put.url, { method: "PUT", body });
        expect(right.status).toBe(200);
        expect(((await right.json()) as any).sha256).toBe(sha);
      },
    );

    it("required headers must be sent exactly", async () => {
      const put = await signed({ key: "hdr", method: "PUT", headers: { "X-Tenant": "acme" } });
      expect(put.headers).toEqual({ "x-tenant": "acme" });
      expect((await fetch(put.url, { method: "PUT", body: "x" })).status).toBe(403);
      expect(
        (await fetch(put.url, { method: "PUT", body: "x", headers: { "x-tenant": "evil" } }))
          .status,
      ).toBe(403);
      expect(
        (await fetch(put.url, { method: "PUT", body: "x", headers: { "x-tenant": "acme" } }))
          .status,
      ).toBe(200);
    });
  });

  it("response overrides apply; active types still get the safety headers", async () => {
    const put = await signed({ key: "page.html", method: "PUT" });
    await fetch(put.url, {
      method: "PUT",
      body: "<h1>hi</h1>",
      headers: { "content-type": "text/html" },
    });
    const get = await signed({
      key: "page.html",
      method: "GET",
      responseContentDisposition: 'inline; filename="x.html"',
      responseContentType: "text/html; charset=utf-8",
    });
    const res = await fetch(get.url);
    expect(res.headers.get("content-disposition")).toBe('inline; filename="x.html"');
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe("sandbox");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("notBefore: refused before, served after", async () => {
    const notBefore = new Date(Date.now() + 2000).toISOString();
    const get = await signed({ key: "p/o1", method: "GET", notBefore });
    expect(get.enforcedBy.notBefore).toBe("backend");
    const early = await fetch(get.url);
    expect(early.status).toBe(403);
    expect((await errorOf(early)).message).toMatch(/not valid yet/);
    await new Promise((r) => setTimeout(r, 2600));
    expect((await fetch(get.url)).status).toBe(200);
  });

  it("an edited constraint invalidates the URL", async () => {
    const get = await signed({ key: "p/o1", method: "GET", range: "bytes=0-0" });
    const t = new URL(get.url).searchParams.get("t")!;
    const [payload, mac] = t.split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const widened = Buffer.from(JSON.stringify({ ...claims, r: [0, 100] })).toString("base64url");
    const res = await fetch(get.url.replace(t, `${widened}.${mac}`));
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("token_invalid");
  });

  it("revocable URLs can be revoked by their issuer, at once", async () => {
    const get = await signed({ key: "p/o1", method: "GET", revocable: true });
    expect(get.enforcedBy.revocable).toBe("backend");
    expect((await fetch(get.url)).status).toBe(200);
    expect((await api(h.url, "POST", "/v1/revocations", { tokenId: get.id })).status).toBe(201);
    const res = await fetch(get.url);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("token_revoked");
    expect(
      (await api(h.url, "POST", "/v1/revocations", { tokenId: "AAAAAAAAAAAAAAAA" })).status,
    ).toBe(404);
  });

  it("delivery link gives a link that Signet checks; auto and direct give direct URLs here", async () => {
    const link = await signed({ key: "p/o1", method: "GET", delivery: "link" });
    expect(link.url).toMatch(/\/l\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(link.enforcedBy).toEqual({ method: "signet", key: "signet", expiresAt: "signet" });
    expect(
      (await signed({ key: "p/o1", method: "GET", delivery: "direct", ip: "127.0.0.1" })).enforcedBy
        .ip,
    ).toBe("backend");
  });

  it.each([
    [{ key: "a", prefix: "b", method: "GET" }, "prefix"],
    [{ method: "GET" }, "key"],
    [{ key: "a" }, "method"],
    [{ key: "a", method: "GET", methods: ["GET"] }, "methods"],
    [{ key: "a", methods: [] }, "methods"],
    [{ key: "a", methods: ["GET", "GET"] }, "methods"],
    [{ key: "a", method: "LIST" }, "methods"],
    [{ key: "a", methods: ["POST", "PUT"] }, "methods"],
    [{ prefix: "/abs", method: "GET" }, "prefix"],
    [{ prefix: "a/../b", method: "GET" }, "prefix"],
    [{ key: "a", method: "GET", range: "bytes=5-1" }, "range"],
    [{ key: "a", method: "GET", range: "bytes=0-" }, "range"],
    [{ key: "a", method: "GET", range: "items=0-1" }, "range"],
    [{ key: "a", method: "PUT", range: "bytes=0-1" }, "range"],
    [{ key: "a", method: "GET", ip: "10.0.0.0/40" }, "ip"],
    [{ key: "a", method: "GET", ip: [] }, "ip"],
    [
      { key: "a", method: "PUT", contentLength: 5, contentLengthRange: [1, 9] },
      "contentLengthRange",
    ],
    [{ key: "a", method: "PUT", contentLengthRange: [9, 1] }, "contentLengthRange"],
    [{ key: "a", method: "PUT", checksumSha256: "nope" }, "checksumSha256"],
    [{ key: "a", method: "GET", checksumSha256: "n".repeat(43) + "=" }, "checksumSha256"],
    [{ key: "a", method: "PUT", responseContentType: "text/plain" }, "responseContentType"],
    [{ key: "a", method: "PUT", headers: { host: "x" } }, "headers"],
    [{ key: "a", method: "PUT", headers: { "bad name": "x" } }, "headers"],
    [{ key: "a", method: "GET", notBefore: "tomorrow" }, "notBefore"],
    [{ key: "a", method: "GET", successActionStatus: 201 }, "successActionStatus"],
    [{ key: "a", method: "GET", delivery: "carrier-pigeon" }, "delivery"],
  ])("400 naming the field for %j", async (input, field) => {
    const res = await presign(input as any);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });
});
