import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";

describe("smoke: presign, PUT, GET on the embedded store", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("round-trips bytes through signed URLs", async () => {
    const put = await h.admin.presign({ bucket: "default", key: "docs/hello.txt", method: "PUT" });
    const up = await fetch(put.url, {
      method: "PUT",
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expect(up.status).toBe(200);
    const get = await h.admin.presign({ bucket: "default", key: "docs/hello.txt", method: "GET" });
    const down = await fetch(get.url);
    expect(down.status).toBe(200);
    expect(await down.text()).toBe("hello");
    expect(down.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
