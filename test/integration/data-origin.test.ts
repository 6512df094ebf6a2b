/** Served bytes can be given an origin of their own (SIGNET_DATA_URL / config dataUrl). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("a separate data origin", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { dataUrl: "https://data.example.test" } });
  });
  afterAll(() => h.close());

  it("puts direct URLs, links and shares on the data origin", async () => {
    const direct = await h.admin.presign({ bucket: "default", key: "a.txt", method: "GET" });
    expect(direct.url).toMatch(/^https:\/\/data\.example\.test\/o\/default\/a\.txt\?t=/);
    const link = await h.admin.presign({
      bucket: "default",
      key: "a.txt",
      method: "GET",
      delivery: "link",
    });
    expect(link.url).toMatch(/^https:\/\/data\.example\.test\/l\//);
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "p",
      methods: ["GET"],
    });
    expect(share.body.url).toMatch(/^https:\/\/data\.example\.test\/s\//);
    expect(h.signet.publicUrl).toBe(h.url);
  });

  it("the URLs still work when the data origin reaches this server", async () => {
    const put = await h.admin.presign({ bucket: "default", key: "b.txt", method: "PUT" });
    const local = (url: string) => url.replace("https://data.example.test", h.url);
    expect((await fetch(local(put.url), { method: "PUT", body: "bytes" })).status).toBe(200);
    const get = await h.admin.presign({ bucket: "default", key: "b.txt", method: "GET" });
    expect(await (await fetch(local(get.url))).text()).toBe("bytes");
  });
});
