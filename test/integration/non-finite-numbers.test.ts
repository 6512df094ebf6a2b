/**
 * JSON.parse turns a number literal too large for a double (1e309) into Infinity, which
 * JSON.stringify writes back as null. Such a number must be 400 invalid_request wherever a body
 * takes a number, never stored: a grant whose quota was 1e309 was kept as `perMinute: null`,
 * and every URL its principal then asked for was 500.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { validateConfig } from "../../src/service/config.js";

describe("numbers that are not finite", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { compat: { fenceBucket: "default" } } });
  });
  afterAll(() => h.close());

  const bodies: [string, string][] = [
    [
      "/v1/grants",
      '{"principal":"role:q","buckets":["default"],"prefix":"q/","actions":["read"],"quota":{"perMinute":1e309}}',
    ],
    [
      "/v1/grants",
      '{"principal":"role:q","buckets":["default"],"prefix":"q/","actions":["read"],"maxExpiresIn":1e309}',
    ],
    [
      "/v1/grants",
      '{"principal":"role:q","buckets":["default"],"prefix":"q/","actions":["write"],"require":{"contentLengthMax":1e309}}',
    ],
    ["/v1/presign", '{"bucket":"default","key":"q/a.txt","method":"PUT","contentLength":1e309}'],
    [
      "/v1/presign",
      '{"bucket":"default","key":"q/a.txt","method":"PUT","contentLengthRange":[0,1e309]}',
    ],
    ["/v1/presign", '{"bucket":"default","key":"q/a.txt","method":"GET","expiresIn":-1e309}'],
    ["/data/multipart/init", '{"file_name":"a.txt","expires_in":1e309}'],
  ];

  for (const [path, body] of bodies)
    it(`POST ${path} ${body.match(/"(\w+)":\[?[^"]*1e309/)![1]}: 1e309 is 400 invalid_request`, async () => {
      const res = await api(h.url, "POST", path, body);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({
        status: 400,
        code: "invalid_request",
      });
    });

  it("nothing was stored, and the principal's URLs are still served", async () => {
    const grants = await api(h.url, "GET", "/v1/grants");
    expect(JSON.stringify(grants.body)).not.toContain("role:q");
    const ok = await api(
      h.url,
      "POST",
      "/v1/grants",
      '{"principal":"role:q","buckets":["default"],"prefix":"q/","actions":["read"],"quota":{"perMinute":100}}',
    );
    expect(ok.status).toBe(201);
    const key = await api(h.url, "POST", "/v1/apikeys", { name: "q", role: "q" });
    const presign = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "q/a.txt", method: "GET" },
      key.body.key,
    );
    expect(presign.status).toBe(200);
  });

  it("the config file refuses one too", () => {
    expect(() =>
      validateConfig(JSON.parse('{"quotas":{"principal":{"perMinute":1e309}}}') as unknown),
    ).toThrow(/perMinute/);
  });
});

describe("numbers that are not finite, in query strings", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { compat: { presignBucket: "default" } } });
  });
  afterAll(() => h.close());

  for (const path of [
    "/presign/a/b.txt?method=PUT&contentLength=Infinity",
    "/presign/a/b.txt?method=PUT&contentLength=1e309",
    "/v1/files?bucket=default&limit=Infinity",
    "/v1/audit?limit=1e309",
  ])
    it(`GET ${path} is 400 invalid_request`, async () => {
      const res = await api(h.url, "GET", path);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({
        status: 400,
        code: "invalid_request",
      });
    });
});
