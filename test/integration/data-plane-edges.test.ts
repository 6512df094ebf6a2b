/**
 * Edges of the embedded store's data plane through every surface: empty bodies through a proxy
 * link, byte ranges at the object's ends, HEAD and GET agreeing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";

describe("data-plane edges", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("an empty body PUT through a proxy link stores an empty object", async () => {
    const link = await h.admin.presign({
      bucket: "default",
      key: "edge/empty-link.bin",
      method: "PUT",
      delivery: "link",
      contentType: "application/octet-stream",
    });
    expect(link.url).toContain("/l/");
    const res = await fetch(link.url, {
      method: "PUT",
      body: Buffer.alloc(0),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(200);
    const head = await h.signet.objects.store.head("default", "edge/empty-link.bin");
    expect(head?.size).toBe(0);
  });

  for (const via of ["direct", "link"] as const)
    it(`byte ranges at the edges (${via})`, async () => {
      const key = `edge/range-${via}.bin`;
      const put = await h.admin.presign({ bucket: "default", key, method: "PUT" });
      expect((await fetch(put.url, { method: "PUT", body: "01234" })).status).toBe(200);
      const empty = `edge/empty-${via}.bin`;
      const put0 = await h.admin.presign({ bucket: "default", key: empty, method: "PUT" });
      expect((await fetch(put0.url, { method: "PUT", body: "" })).status).toBe(200);
      const get = async (k: string, range?: string, method = "GET") => {
        const signed = await h.admin.presign({
          bucket: "default",
          key: k,
          method: method as "GET",
          delivery: via,
          ...(via === "link" ? { ip: "127.0.0.1/32" } : {}),
        });
        const res = await fetch(signed.url, {
          method,
          headers: range === undefined ? {} : { range },
        });
        return {
          status: res.status,
          body: await res.text(),
          length: res.headers.get("content-length"),
          contentRange: res.headers.get("content-range"),
          etag: res.headers.get("etag"),
        };
      };
      expect(await get(key, "bytes=0-0")).toMatchObject({ status: 206, body: "0", length: "1" });
      expect(await get(key, "bytes=4-100")).toMatchObject({
        status: 206,
        body: "4",
        contentRange: "bytes 4-4/5",
      });
      expect(await get(key, "bytes=-100")).toMatchObject({ status: 206, body: "01234" });
      expect(await get(key, "bytes=-1")).toMatchObject({ status: 206, body: "4" });
      expect((await get(key, "bytes=5-")).status).toBe(416);
      expect((await get(key, "bytes=99999999999999999999-")).status).toBe(416);
      expect(await get(key, "bytes=0-99999999999999999999")).toMatchObject({
        status: 206,
        body: "01234",
      });
      expect((await get(key, "bytes=-0")).status).toBe(416);
      expect(await get(key, "bytes=3-1")).toMatchObject({ status: 200, body: "01234" });
      expect(await get(key, "bytes=0-1,3-4")).toMatchObject({ status: 200, body: "01234" });
      expect(await get(empty)).toMatchObject({ status: 200, body: "", length: "0" });
      expect((await get(empty, "bytes=0-")).status).toBe(416);
      expect((await get(empty, "bytes=-1")).status).toBe(416);
      // HEAD answers what GET does, without the body.
      for (const range of [undefined, "bytes=1-2"]) {
        const g = await get(key, range);
        const hd = await get(key, range, "HEAD");
        expect([hd.status, hd.length, hd.contentRange, hd.etag]).toEqual([
          g.status,
          g.length,
          g.contentRange,
          g.etag,
        ]);
      }
    });
});
