import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

/** A POST whose answer is kept as bytes: its text, exactly as sent. */
async function postBytes(base: string, path: string, body: string, extra = {}) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      "content-type": "application/json",
      ...extra,
    },
    body,
  });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The answer is one JSON document, typed and measured, and exactly JSON.stringify's text. */
function expectStringifyBytes(res: Response, bytes: Buffer) {
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(res.headers.get("content-length")).toBe(String(bytes.length));
  const text = bytes.toString("utf8");
  expect(bytes.equals(Buffer.from(JSON.stringify(JSON.parse(text))))).toBe(true);
  return JSON.parse(text);
}

describe("POST /v1/presign", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, short: { backend: "local", maxExpiresIn: 300 } },
      },
    });
  });
  afterAll(() => h.close());
  const presign = (body: unknown, key?: string | null) =>
    api(h.url, "POST", "/v1/presign", body, key);

  it("answers the signed request of DESIGN.md", async () => {
    const before = Date.now();
    const { status, body } = await presign({
      bucket: "default",
      key: "a/b.txt",
      method: "GET",
      expiresIn: 120,
    });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      "enforcedBy",
      "expiresAt",
      "expiresIn",
      "headers",
      "id",
      "method",
      "url",
    ]);
    expect(body.method).toBe("GET");
    expect(body.headers).toEqual({});
    expect(body.expiresIn).toBe(120);
    expect(body.url).toMatch(
      new RegExp(`^${h.url}/o/default/a/b\\.txt\\?t=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`),
    );
    const expiresAt = Date.parse(body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 120_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(body.enforcedBy).toEqual({ method: "backend", key: "backend", expiresAt: "backend" });
  });

  it("encodes each key segment in the URL", async () => {
    const { body } = await presign({
      bucket: "default",
      key: "dir with space/é?#%.txt",
      method: "GET",
    });
    expect(new URL(body.url).pathname).toBe("/o/default/dir%20with%20space/%C3%A9%3F%23%25.txt");
  });

  it("defaults expiresIn to the smaller of 900 s and the bucket's maximum", async () => {
    expect((await presign({ bucket: "default", key: "k", method: "GET" })).body.expiresIn).toBe(
      900,
    );
    expect((await presign({ bucket: "short", key: "k", method: "GET" })).body.expiresIn).toBe(300);
  });

  it("refuses an expiresIn above the bucket's maximum, never clamping it", async () => {
    const res = await presign({ bucket: "short", key: "k", method: "GET", expiresIn: 301 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "expiry_too_long", field: "expiresIn" });
    const week = await presign({
      bucket: "default",
      key: "k",
      method: "GET",
      expiresIn: 7 * 86400 + 1,
    });
    expect(week.body.error.code).toBe("expiry_too_long");
    expect(
      (await presign({ bucket: "default", key: "k", method: "GET", expiresIn: 7 * 86400 })).status,
    ).toBe(200);
  });

  it("401 without, with a malformed or with an unknown credential, before anything else", async () => {
    for (const key of [null, "nope", "sg_0123456789abcdef_" + "A".repeat(43)]) {
      const res = await presign({ bucket: "nope", key: "//", method: "GET" }, key);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
    const basic = await fetch(`${h.url}/v1/presign`, {
      method: "POST",
      headers: { authorization: "Basic abc" },
    });
    expect(basic.status).toBe(401);
  });

  it.each([
    [{ key: "k", method: "GET" }, "bucket"],
    [{ bucket: "default", method: "GET" }, "key"],
    [{ bucket: "default", key: "k", method: "PATCH" }, "method"],
    [{ bucket: "default", key: "k", method: "GET", expiresIn: 0 }, "expiresIn"],
    [{ bucket: "default", key: "k", method: "GET", expiresIn: 1.5 }, "expiresIn"],
    [{ bucket: "default", key: "k", method: "GET", expiresIn: "60" }, "expiresIn"],
    [{ bucket: "default", key: "k", method: "GET", ip: "10.0.0.300/8" }, "ip"],
    [{ bucket: "default", key: "k", method: "GET", region: "eu" }, "region"],
    [{ bucket: "default", key: "k", method: "GET", contentLength: -1 }, "contentLength"],
    [{ bucket: "default", key: "k", method: "PUT", contentType: "not a type" }, "contentType"],
    [{ bucket: "default", key: "k", method: "GET", contentType: "text/plain" }, "contentType"],
  ])("400 invalid_request naming the field: %j", async (body, field) => {
    const res = await presign(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", field });
  });

  it("400 for a body that is not JSON or not an object", async () => {
    for (const body of ["{nope", "[]", "null", '"text"']) {
      const res = await presign(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
  });

  it.each(["", "/abs", "a//b", "../x", "a/./b", "trailing/", "nul\u0000", "x".repeat(1025)])(
    "400 invalid_key for %j",
    async (key) => {
      const res = await presign({ bucket: "default", key, method: "PUT" });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "invalid_key", field: "key" });
    },
  );

  it("400 invalid_key for a lone surrogate sent as a JSON escape", async () => {
    const res = await presign('{"bucket":"default","key":"a\\ud800b","method":"GET"}');
    expect(res.body.error.code).toBe("invalid_key");
  });

  // Header names are case-insensitive: the last spelling silently replaced the first.
  it("400 for a required header named twice in two spellings", async () => {
    const res = await presign({
      bucket: "default",
      key: "h.txt",
      method: "PUT",
      headers: { "X-Tenant": "a", "x-tenant": "b" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", field: "headers" });
    expect(res.body.error.message).toMatch(/x-tenant twice/);
  });

  it("404 for an unknown bucket; an invalid key wins over it (precedence)", async () => {
    const res = await presign({ bucket: "missing", key: "k", method: "GET" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
    expect((await presign({ bucket: "missing", key: "a//b", method: "GET" })).status).toBe(400);
  });

  it("records each issuance in the audit trail, without the token", async () => {
    const { body } = await presign({ bucket: "default", key: "audited", method: "PUT" });
    const audit = await api(h.url, "GET", `/v1/audit?tokenId=${encodeURIComponent(body.id)}`);
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      event: "presign",
      bucket: "default",
      key: "audited",
      method: "PUT",
      tokenId: body.id,
      principal: "env:admin",
    });
    expect(JSON.stringify(audit.body)).not.toContain(
      new URL(body.url).searchParams.get("t")!.split(".")[1],
    );
  });
});

describe("POST /v1/presign/batch", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("answers each request in input order, failures in place", async () => {
    const res = await api(h.url, "POST", "/v1/presign/batch", {
      requests: [
        { bucket: "default", key: "one", method: "GET" },
        { bucket: "default", key: "a//b", method: "GET" },
        { bucket: "missing", key: "k", method: "GET" },
        { bucket: "default", key: "k", method: "GET", extra: true },
        { bucket: "default", key: "two", method: "PUT" },
      ],
    });
    expect(res.status).toBe(200);
    const results = res.body.results;
    expect(results.map((r: any) => r.ok)).toEqual([true, false, false, false, true]);
    expect(results[0].url).toContain("/o/default/one?");
    expect(results[1].error.code).toBe("invalid_key");
    expect(results[2].error.code).toBe("not_found");
    expect(results[3].error).toMatchObject({ code: "invalid_request", field: "extra" });
    expect(results[4].method).toBe("PUT");
    expect(results[0].id).not.toBe(results[4].id);
  });

  it("answers a batch across serialization slices as JSON.stringify's bytes", async () => {
    // Across 32-item slices (http/json-bytes.ts): successes and refusals, non-ASCII keys, and
    // a lone surrogate echoed in a refusal's field (a JSON escape in the request).
    const requests: string[] = [];
    for (let i = 0; i < 70; i++)
      requests.push(
        [
          `{"bucket":"default","key":"ключ/€😀/${i}","method":"GET"}`,
          `{"bucket":"default","key":"k","method":"GET","\\ud800x${i}":1}`,
          `{"bucket":"missing","key":"k","method":"GET"}`,
          `{"bucket":"default","prefix":"p/é/","method":"GET"}`,
        ][i % 4]!,
      );
    const { res, bytes } = await postBytes(
      h.url,
      "/v1/presign/batch",
      `{"requests":[${requests.join(",")}]}`,
    );
    expect(res.status).toBe(200);
    const { results } = expectStringifyBytes(res, bytes);
    expect(results).toHaveLength(70);
    expect(results[33].error.field).toBe("\ud800x33");
    expect(results[68].url).toContain("/o/default/%D0%BA");
  });

  it("answers a part plan across serialization slices as JSON.stringify's bytes", async () => {
    const put = await h.admin.presign({ bucket: "default", key: "é/plan.bin", method: "PUT" });
    expect((await fetch(put.url, { method: "PUT", body: Buffer.alloc(40) })).status).toBe(200);
    const body = JSON.stringify({ bucket: "default", key: "é/plan.bin", partSize: 1 });
    const { res, bytes } = await postBytes(h.url, "/v1/presign/parts", body);
    expect(res.status).toBe(200);
    const plan = expectStringifyBytes(res, bytes);
    expect(Object.keys(plan)).toEqual(["size", "etag", "parts"]);
    expect(plan.parts).toHaveLength(40);
  });

  it("answers a multipart upload intent (parts nested in upload) as JSON.stringify's bytes", async () => {
    const body = JSON.stringify({
      bucket: "default",
      key: "é/intent.bin",
      size: 400,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    const once = { "idempotency-key": "json-bytes-intent" };
    const first = await postBytes(h.url, "/v1/uploads", body, once);
    expect(first.res.status).toBe(201);
    const intent = expectStringifyBytes(first.res, first.bytes);
    expect(intent.upload.parts).toHaveLength(40);
    // The replay of a stored answer takes the same path.
    const again = await postBytes(h.url, "/v1/uploads", body, once);
    expect(again.res.status).toBe(201);
    expect(again.bytes.equals(first.bytes)).toBe(true);
  });

  it("takes at most 1,000 requests", async () => {
    const one = { bucket: "default", key: "k", method: "GET" };
    const ok = await api(h.url, "POST", "/v1/presign/batch", { requests: Array(1000).fill(one) });
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(1000);
    // Serialized in slices (http/json-bytes.ts): still one JSON document, typed and measured.
    expect(ok.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const length = Number(ok.headers.get("content-length"));
    expect(length).toBe(Buffer.byteLength(JSON.stringify(ok.body)));
    const tooMany = await api(h.url, "POST", "/v1/presign/batch", {
      requests: Array(1001).fill(one),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ code: "invalid_request", field: "requests" });
    expect((await api(h.url, "POST", "/v1/presign/batch", { requests: [] })).status).toBe(400);
  });
});
