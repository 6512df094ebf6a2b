/**
 * A link or share in redirect mode on a bucket made over the API: the 302 target is a direct
 * URL of the same bucket, and must carry its generation (a bucket deleted and made again under
 * the same name is another bucket), or every use of the link ends in 404 "bucket not found".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("redirect links on a bucket made over the API", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({});
    expect(
      (await api(h.url, "POST", "/v1/buckets", { name: "made", config: { backend: "local" } }))
        .status,
    ).toBe(201);
    const put = await api(h.url, "POST", "/v1/presign", {
      bucket: "made",
      key: "p/a.txt",
      method: "PUT",
      contentLength: 3,
    });
    expect((await fetch(put.body.url, { method: "PUT", body: "abc" })).status).toBe(200);
  });
  afterAll(() => h.close());

  const follow = async (url: string) => {
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(302);
    const target = await fetch(first.headers.get("location")!);
    return { status: target.status, body: await target.text() };
  };

  it("a share's 302 target serves the object", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "made",
      prefix: "p",
      methods: ["GET"],
      expiresIn: 600,
    });
    expect(share.body.mode).toBe("redirect");
    expect(await follow(`${share.body.url}a.txt`)).toEqual({ status: 200, body: "abc" });
  });

  it("a link's 302 target serves the object", async () => {
    const link = await api(h.url, "POST", "/v1/presign", {
      bucket: "made",
      key: "p/a.txt",
      method: "GET",
      delivery: "link",
    });
    expect(await follow(link.body.url)).toEqual({ status: 200, body: "abc" });
  });

  it("after the bucket is deleted and made again, the old link is refused, not redirected", async () => {
    await api(h.url, "POST", "/v1/buckets", { name: "again", config: { backend: "local" } });
    const link = await api(h.url, "POST", "/v1/presign", {
      bucket: "again",
      key: "p/a.txt",
      method: "GET",
      delivery: "link",
    });
    expect((await api(h.url, "DELETE", "/v1/buckets/again")).status).toBe(204);
    await api(h.url, "POST", "/v1/buckets", { name: "again", config: { backend: "local" } });
    const res = await fetch(link.body.url, { redirect: "manual" });
    expect(res.status).toBe(404);
  });
});
