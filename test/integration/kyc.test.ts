/**
 * Issue 3's acceptance: the KYC case study. Users A and B sign in with JWTs from a JWKS on
 * 127.0.0.1; role `user` may read and write under kyc/${sub}/ (kyc/sub:A/ for subject A), at most 5 minutes, at most
 * 5 MB, image/* only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { type Issuer, startIssuer } from "../helpers/jwks.js";

const MB = 1024 * 1024;

describe("the KYC case study", () => {
  let h: Harness;
  let idp: Issuer;
  let a: string;
  let b: string;
  let ab: string;
  beforeAll(async () => {
    idp = await startIssuer();
    h = await startSignet({
      config: {
        auth: { jwt: { jwksUrl: idp.jwksUrl, issuer: idp.issuer, audience: idp.audience } },
        grants: [
          {
            principal: "role:user",
            buckets: ["default"],
            prefix: "kyc/${sub}/",
            actions: ["read", "write"],
            maxExpiresIn: 300,
            require: { contentLengthMax: 5 * MB, contentTypes: ["image/*"] },
          },
        ],
      },
    });
    [a, b, ab] = await Promise.all([idp.token("A"), idp.token("B"), idp.token("AB")]);
  });
  afterAll(async () => {
    await h.close();
    await idp.close();
  });

  const presign = (jwt: string, body: Record<string, unknown>) =>
    api(h.url, "POST", "/v1/presign", { bucket: "default", ...body }, jwt);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(4096, 1)]);

  it("A uploads kyc/sub:A/id.png with its exact length and type, and reads the same bytes back", async () => {
    const put = await presign(a, {
      key: "kyc/sub:A/id.png",
      method: "PUT",
      contentType: "image/png",
      contentLength: png.length,
    });
    expect(put.status).toBe(200);
    expect(put.body.headers).toEqual({
      "content-type": "image/png",
      "content-length": String(png.length),
    });
    expect(put.body.enforcedBy).toMatchObject({ contentType: "backend", contentLength: "backend" });
    expect(put.body.expiresIn).toBe(300);
    // fetch sets Content-Length from the body itself, as a browser does.
    const { "content-length": length, ...rest } = put.body.headers;
    expect(Number(length)).toBe(png.length);
    const up = await fetch(put.body.url, { method: "PUT", body: png, headers: rest });
    expect(up.status).toBe(200);

    const get = await presign(a, { key: "kyc/sub:A/id.png", method: "GET" });
    expect(get.status).toBe(200);
    const down = await fetch(get.body.url);
    expect(Buffer.from(await down.arrayBuffer()).equals(png)).toBe(true);
    expect(down.headers.get("content-type")).toBe("image/png");
  });

  it("the signed length and type are enforced: other bytes are refused and nothing is kept", async () => {
    const put = await presign(a, {
      key: "kyc/sub:A/selfie.png",
      method: "PUT",
      contentType: "image/png",
      contentLength: 10,
    });
    const longer = await fetch(put.body.url, {
      method: "PUT",
      body: "x".repeat(11),
      headers: { "content-type": "image/png" },
    });
    expect(longer.status).toBe(403);
    expect(((await longer.json()) as any).error).toMatchObject({
      code: "outside_scope",
      message: expect.stringMatching(/^contentLength/),
    });
    const otherType = await fetch(put.body.url, {
      method: "PUT",
      body: "x".repeat(10),
      headers: { "content-type": "text/html" },
    });
    expect(((await otherType.json()) as any).error.message).toMatch(/^contentType/);
    expect(await h.signet.objects.store.head("default", "kyc/sub:A/selfie.png")).toBeUndefined();
  });

  it("a 6 MB or text/plain request is refused, as is one that states no length or type", async () => {
    const big = await presign(a, {
      key: "kyc/sub:A/big.png",
      method: "PUT",
      contentType: "image/png",
      contentLength: 6 * MB,
    });
    expect(big.status).toBe(403);
    expect(big.body.error.code).toBe("forbidden");
    expect(big.body.error.message).toMatch(/contentLength .* above the grant's maximum/);
    const text = await presign(a, {
      key: "kyc/sub:A/notes.txt",
      method: "PUT",
      contentType: "text/plain",
      contentLength: 10,
    });
    expect(text.status).toBe(403);
    expect(text.body.error.message).toMatch(/contentType 'text\/plain' is not one of image\/\*/);
    const vague = await presign(a, { key: "kyc/sub:A/vague.png", method: "PUT" });
    expect(vague.status).toBe(403);
    expect(vague.body.error.message).toMatch(/requires content(Length|Type)/);
  });

  it("B asking for a GET URL for A's file gets 403", async () => {
    const res = await presign(b, { key: "kyc/sub:A/id.png", method: "GET" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(JSON.stringify(res.body)).not.toContain("kyc/sub:B");
  });

  it("a subject A never reaches kyc/sub:AB/, nor AB kyc/sub:A/", async () => {
    expect((await presign(a, { key: "kyc/sub:AB/id.png", method: "GET" })).status).toBe(403);
    expect((await presign(a, { key: "kyc/sub:A", method: "GET" })).status).toBe(403);
    expect((await presign(ab, { key: "kyc/sub:A/id.png", method: "GET" })).status).toBe(403);
    expect((await presign(ab, { key: "kyc/sub:AB/id.png", method: "GET" })).status).toBe(200);
  });

  it("A asking for a 1-hour URL gets 403; no expiresIn gets the grant's 5 minutes", async () => {
    const hour = await presign(a, { key: "kyc/sub:A/id.png", method: "GET", expiresIn: 3600 });
    expect(hour.status).toBe(403);
    expect(hour.body.error.message).toMatch(/above the grant's maximum of 300 seconds/);
    expect((await presign(a, { key: "kyc/sub:A/id.png", method: "GET" })).body.expiresIn).toBe(300);
  });

  it("actions outside the grant are 403, buckets outside it 404", async () => {
    expect((await presign(a, { key: "kyc/sub:A/id.png", method: "DELETE" })).status).toBe(403);
    await h.admin.buckets.create("private", { backend: "local" });
    const other = await presign(a, { bucket: "private", key: "kyc/sub:A/id.png", method: "GET" });
    expect(other.status).toBe(404);
    expect(other.body).toEqual(
      (await presign(a, { bucket: "nope", key: "kyc/sub:A/id.png", method: "GET" })).body,
    );
  });

  it("an API key revoked by an admin stops working on its next request, and so do the URLs it issued", async () => {
    await h.admin.grants.create({
      principal: "role:uploader",
      buckets: ["default"],
      prefix: "batch",
      actions: ["read", "write"],
    });
    const created = await h.admin.apiKeys.create({ name: "batch job", role: "uploader" });
    const put = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "batch/r.txt", method: "PUT" },
      created.key,
    );
    expect(put.status).toBe(200);
    expect((await fetch(put.body.url, { method: "PUT", body: "report" })).status).toBe(200);
    const get = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "batch/r.txt", method: "GET" },
      created.key,
    );
    expect((await fetch(get.body.url)).status).toBe(200);

    await h.admin.apiKeys.revoke(created.id);
    const after = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "batch/r.txt", method: "GET" },
      created.key,
    );
    expect(after.status).toBe(401);
    const used = await fetch(get.body.url);
    expect(used.status).toBe(403);
    expect(((await used.json()) as any).error.code).toBe("token_revoked");
    expect(
      (await h.admin.apiKeys.list()).find((k) => k.id === created.id)?.revokedAt,
    ).not.toBeNull();
  });
});
