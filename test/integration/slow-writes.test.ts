/**
 * What held when a slow upload began must still hold when its body is in: a committed file at
 * the key (files stay true), a revocation, a precondition. Each write below sends half its body,
 * lets the state change, then sends the rest (found by a review: the checks ran on arrival only).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

/** A PUT whose body arrives in two halves, `between` running in the gap. */
async function halfThenRest(
  url: string,
  body: Buffer,
  between: () => Promise<void>,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "PUT",
        headers: { "content-length": String(body.length), ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on("error", reject);
    req.write(body.subarray(0, body.length / 2));
    // The first half is on its way before the state changes.
    setTimeout(() => {
      between()
        .then(() => req.end(body.subarray(body.length / 2)))
        .catch(reject);
    }, 100);
  });
}

/** A file committed at `key` through an upload intent, with its bytes. */
async function commit(h: Harness, key: string, bytes: Buffer): Promise<string> {
  const created = await api(h.url, "POST", "/v1/uploads", {
    bucket: "default",
    key,
    size: bytes.length,
    contentType: "text/plain",
  });
  expect(created.status).toBe(201);
  const upload = created.body.upload as { url: string; headers: Record<string, string> };
  // fetch sets Content-Length itself (and refuses it as a header)
  const headers = Object.fromEntries(
    Object.entries(upload.headers).filter(([name]) => name !== "content-length"),
  );
  const put = await fetch(upload.url, { method: "PUT", headers, body: bytes });
  expect(put.status).toBe(200);
  const done = await api(h.url, "POST", `/v1/uploads/${created.body.file.id}/complete`);
  expect(done.status).toBe(200);
  return created.body.file.id as string;
}

const stored = async (h: Harness, key: string) => {
  const get = await h.admin.presign({ bucket: "default", key, method: "GET" });
  return Buffer.from(await (await fetch(get.url)).arrayBuffer()).toString();
};

describe("slow writes are judged again once their body is in", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("a folder PUT on /o cannot overwrite a file committed while it was uploading", async () => {
    const folder = await h.admin.presign({ bucket: "default", prefix: "race", method: "PUT" });
    const url = folder.objectUrlTemplate!.replace("{key}", "race/o.txt");
    const res = await halfThenRest(url, Buffer.from("EVIL-BYTES"), async () => {
      await commit(h, "race/o.txt", Buffer.from("committed"));
    });
    expect(res.status, res.text).toBe(409);
    expect(JSON.parse(res.text).error.code).toBe("conflict");
    expect(await stored(h, "race/o.txt")).toBe("committed");
  });

  it("a proxy share cannot overwrite a file committed while it was uploading", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "race-s",
      methods: ["PUT"],
      mode: "proxy",
    });
    expect(share.status).toBe(201);
    const res = await halfThenRest(`${share.body.url}s.txt`, Buffer.from("EVIL-BYTES"), () =>
      commit(h, "race-s/s.txt", Buffer.from("committed")).then(() => undefined),
    );
    expect(res.status, res.text).toBe(409);
    expect(await stored(h, "race-s/s.txt")).toBe("committed");
  });

  it("a token revoked during its upload stores nothing", async () => {
    const put = await h.admin.presign({ bucket: "default", key: "late.txt", method: "PUT" });
    const res = await halfThenRest(put.url, Buffer.from("LATE-BYTES"), async () => {
      expect((await api(h.url, "POST", "/v1/revocations", { tokenId: put.id })).status).toBe(201);
    });
    expect(res.status, res.text).toBe(403);
    expect(JSON.parse(res.text).error.code).toBe("token_revoked");
    const get = await h.admin.presign({ bucket: "default", key: "late.txt", method: "GET" });
    expect((await fetch(get.url)).status).toBe(404);
  });

  it("If-None-Match: * through a proxy link holds against a write made meanwhile", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "race-c",
      methods: ["PUT"],
      mode: "proxy",
    });
    const res = await halfThenRest(
      `${share.body.url}c.txt`,
      Buffer.from("LINK-BYTES"),
      async () => {
        const raw = await h.admin.presign({
          bucket: "default",
          key: "race-c/c.txt",
          method: "PUT",
        });
        expect((await fetch(raw.url, { method: "PUT", body: "first" })).status).toBe(200);
      },
      { "if-none-match": "*" },
    );
    expect(res.status, res.text).toBe(412);
    expect(await stored(h, "race-c/c.txt")).toBe("first");
  });
});
