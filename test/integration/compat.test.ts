/** Issue 10: compatibility routes, each exercised by a client of its exact shape. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const auth = { authorization: `Bearer ${ADMIN_KEY}` };

describe("compatibility routes", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        compat: { presignBucket: "default" },
        grants: [
          { principal: "role:viewer", buckets: ["default"], prefix: "open", actions: ["read"] },
        ],
      },
    });
  });
  afterAll(() => h.close());

  describe("the AWS SDK presign example service", () => {
    it("GET /presign/{key}?method=PUT&contentLength=N signs the length in Go's http.Header form", async () => {
      const res = await fetch(`${h.url}/presign/uploads/a%20b.bin?method=PUT&contentLength=5`, {
        headers: auth,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        URL: string;
        Method: string;
        Header: Record<string, string[]>;
      };
      expect(body.Method).toBe("PUT");
      expect(body.Header).toEqual({ "Content-Length": ["5"] });
      expect(body.URL).toContain("/o/default/uploads/a%20b.bin?");
      expect((await fetch(body.URL, { method: "PUT", body: "12345" })).status).toBe(200);
      expect((await fetch(body.URL, { method: "PUT", body: "123456" })).status).toBe(403);
    });

    it("GET defaults to a download URL; refuses bad input and missing credentials", async () => {
      const body = (await (
        await fetch(`${h.url}/presign/uploads/a%20b.bin`, { headers: auth })
      ).json()) as { URL: string; Method: string; Header: object };
      expect(body.Method).toBe("GET");
      expect(body.Header).toEqual({});
      expect(await (await fetch(body.URL)).text()).toBe("12345");
      expect((await fetch(`${h.url}/presign/x?method=POST`, { headers: auth })).status).toBe(400);
      expect(
        (await fetch(`${h.url}/presign/x?method=GET&contentLength=3`, { headers: auth })).status,
      ).toBe(400);
      expect((await fetch(`${h.url}/presign/a%2Fb`, { headers: auth })).status).toBe(400);
      expect((await fetch(`${h.url}/presign/x`)).status).toBe(401);
    });
  });

  describe("GA4GH DRS 1.4", () => {
    let fileId: string;
    const bytes = Buffer.from("genome chunk");
    beforeAll(async () => {
      const sha = createHash("sha256").update(bytes).digest("base64");
      const intent = await api(h.url, "POST", "/v1/uploads", {
        bucket: "default",
        key: "open/sample.bam",
        size: bytes.length,
        sha256: sha,
        contentType: "application/octet-stream",
      });
      await fetch(intent.body.upload.url, {
        method: "PUT",
        body: bytes,
        headers: { "content-type": "application/octet-stream" },
      });
      await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {});
      fileId = intent.body.file.id;
    });

    it("describes an object with a hex sha-256 and an access method, and signs access URLs", async () => {
      const object = (await (
        await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}`, { headers: auth })
      ).json()) as any;
      expect(object).toMatchObject({
        id: fileId,
        size: bytes.length,
        name: "sample.bam",
        access_methods: [{ type: "https", access_id: "https" }],
      });
      expect(object.self_uri).toBe(`drs://${new URL(h.url).host}/${fileId}`);
      expect(object.checksums).toEqual([
        { type: "sha-256", checksum: createHash("sha256").update(bytes).digest("hex") },
      ]);
      const access = (await (
        await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}/access/https`, { headers: auth })
      ).json()) as any;
      expect(access.headers).toEqual([]);
      expect(Buffer.from(await (await fetch(access.url)).arrayBuffer()).equals(bytes)).toBe(true);
    });

    it("answers errors as { msg, status_code }, and grants decide who sees what", async () => {
      const missing = await fetch(`${h.url}/ga4gh/drs/v1/objects/f_AAAAAAAAAAAAAAAAAAAAAA`, {
        headers: auth,
      });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ status_code: 404, msg: expect.any(String) });
      expect(
        ((await (await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}`)).json()) as any)
          .status_code,
      ).toBe(401);
      expect(
        (await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}/access/s3`, { headers: auth }))
          .status,
      ).toBe(404);
      const viewer = await h.admin.apiKeys.create({ name: "v", role: "viewer" });
      expect(
        (
          await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}`, {
            headers: { authorization: `Bearer ${viewer.key}` },
          })
        ).status,
      ).toBe(200);
      const stranger = await h.admin.apiKeys.create({ name: "s", role: "nobody" });
      expect(
        (
          await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}`, {
            headers: { authorization: `Bearer ${stranger.key}` },
          })
        ).status,
      ).toBe(404);
    });

    it("serves service-info", async () => {
      const info = (await (await fetch(`${h.url}/ga4gh/drs/v1/service-info`)).json()) as any;
      expect(info.type).toEqual({ group: "org.ga4gh", artifact: "drs", version: "1.4.0" });
    });
  });
});
