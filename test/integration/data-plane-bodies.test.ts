/**
 * Every data-plane answer with a JSON (or HTML) body ends with a newline: PUTs on /o and links,
 * multipart parts, form uploads, listings and refusals on /o, /l, /s, /u and /r; object bytes
 * are never touched (a zero-byte object stays empty).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("data-plane bodies", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  const text = async (res: Response) => ({
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: await res.text(),
  });
  const endsWithNewline = (reply: { status: number; type: string; body: string }) => {
    expect(reply.body, `${reply.status} ${reply.type}`).toMatch(/\n$/);
    expect(reply.body.slice(0, -1)).not.toContain("\n");
    if (reply.type.startsWith("application/json")) JSON.parse(reply.body);
  };

  it("JSON replies to PUT on /o, a link, a share and a multipart part end with a newline", async () => {
    const put = await h.admin.presign({ bucket: "default", key: "nl/a.txt", method: "PUT" });
    endsWithNewline(await text(await fetch(put.url, { method: "PUT", body: "a" })));
    const link = await h.admin.presign({
      bucket: "default",
      key: "nl/b.txt",
      method: "PUT",
      delivery: "link",
    });
    expect(link.url).toContain("/l/");
    endsWithNewline(await text(await fetch(link.url, { method: "PUT", body: "b" })));
    const share = await h.admin.shares.create({
      bucket: "default",
      prefix: "nl/",
      methods: ["PUT", "GET", "LIST"],
      mode: "proxy",
    });
    endsWithNewline(await text(await fetch(`${share.url}c.txt`, { method: "PUT", body: "c" })));
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "nl/parts.bin",
      size: 10,
      multipart: { partSize: 10 },
    });
    const part = intent.body.upload.parts[0];
    endsWithNewline(await text(await fetch(part.url, { method: "PUT", body: "0123456789" })));
  });

  it("listings (JSON and HTML) and refusals on every data-plane route end with a newline", async () => {
    const list = await h.admin.presign({
      bucket: "default",
      prefix: "nl/",
      methods: ["GET", "LIST"],
    });
    endsWithNewline(await text(await fetch(list.url)));
    endsWithNewline(await text(await fetch(list.url, { headers: { accept: "text/html" } })));
    for (const path of [
      "/o/default/nl/a.txt?t=not-a-token",
      "/l/not-a-token",
      "/s/not-a-token/a.txt",
      "/u/not-an-id",
      "/r/f_AAAAAAAAAAAAAAAAAAAAAA",
    ]) {
      const refused = await text(await fetch(`${h.url}${path}`));
      expect(refused.status, path).toBeGreaterThanOrEqual(400);
      endsWithNewline(refused);
    }
  });

  it("object bytes are served as stored: no newline added", async () => {
    for (const body of ["", "no newline", '{"json":true}']) {
      const put = await h.admin.presign({ bucket: "default", key: "nl/raw.json", method: "PUT" });
      await fetch(put.url, {
        method: "PUT",
        body,
        headers: { "content-type": "application/json" },
      });
      const get = await h.admin.presign({ bucket: "default", key: "nl/raw.json", method: "GET" });
      expect(await (await fetch(get.url)).text()).toBe(body);
    }
  });
});
