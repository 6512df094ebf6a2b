/**
 * A browser form upload (`method: "POST"`) answered `enforcedBy` with every
 * constraint of the scope as `backend`, but the embedded store's form token carried only the
 * key or folder, length range, type and sha256: the client addresses (the caller's own, or the
 * ones a grant requires), the allowed referrers, required headers and notBefore were dropped,
 * so the form was accepted from anywhere, at any time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  startSignet,
  UNREACHABLE_S3_ENV,
  unreachableS3,
} from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const postForm = async (signed: { url: string; fields: Record<string, string> }, bytes = "hi") => {
  const form = new FormData();
  for (const [name, value] of Object.entries(signed.fields)) form.append(name, value);
  form.append("file", new Blob([bytes], { type: "text/plain" }), "f.txt");
  // Sent as one buffer: a refused POST is answered and closed before its body is read, and
  // Node 24's fetch fails with EPIPE (no answer) when a streamed body is still being written.
  const encoded = new Response(form);
  return fetch(signed.url, {
    method: "POST",
    body: Buffer.from(await encoded.arrayBuffer()),
    headers: { "content-type": encoded.headers.get("content-type")! },
  });
};

describe("form uploads keep every constraint they claim", () => {
  let h: Harness;
  let user: string;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" } },
        grants: [
          {
            principal: "role:office",
            buckets: ["default"],
            actions: ["read", "write"],
            // URLs of this grant work only from the office network
            require: { ip: ["10.20.0.0/16"] },
          },
        ],
      },
    });
    user = (await api(h.url, "POST", "/v1/apikeys", { name: "office", role: "office" })).body
      .key as string;
  });
  afterAll(() => h.close());

  it("a grant's required client addresses hold for a form upload too", async () => {
    const signed = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "forms/a.txt", method: "POST" },
      user,
    );
    expect(signed.status).toBe(200);
    expect(signed.body.enforcedBy.ip).toBe("backend");
    // This test's client is 127.0.0.1, outside 10.20.0.0/16.
    expect((await postForm(signed.body)).status).toBe(403);
  });

  it("the caller's own ip, referrers, headers and notBefore hold for a form upload", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ip: "10.9.9.9/32" }, "ip"],
      [{ referrers: ["https://app.example"] }, "referrers"],
      [{ headers: { "x-app": "yes" } }, "headers"],
      [{ notBefore: new Date(Date.now() + 3_600_000).toISOString(), expiresIn: 7200 }, "notBefore"],
    ];
    for (const [extra, name] of cases) {
      const signed = await api(h.url, "POST", "/v1/presign", {
        bucket: "default",
        key: `forms/${name}.txt`,
        method: "POST",
        ...extra,
      });
      if (signed.status !== 200) {
        // refusing what the form cannot carry is honest too
        expect(signed.status, name).toBe(400);
        continue;
      }
      expect(signed.body.enforcedBy[name], name).toBe("backend");
      expect((await postForm(signed.body)).status, name).toBe(403);
    }
  });
});

describe("a provider's form upload refuses what its POST policy cannot bind", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { cloud: unreachableS3("cloud") },
        grants: [
          {
            principal: "role:office",
            buckets: ["cloud"],
            actions: ["read", "write"],
            require: { ip: ["10.20.0.0/16"] },
          },
        ],
      },
      env: UNREACHABLE_S3_ENV,
    });
  });
  afterAll(() => h.close());

  it("ip, referrers, headers, notBefore and revocable are 400, never a silent `backend`", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ip: "10.9.9.9/32" }, "ip"],
      [{ referrers: ["https://app.example"] }, "referrers"],
      [{ headers: { "x-app": "yes" } }, "headers"],
      [{ notBefore: new Date(Date.now() + 60_000).toISOString(), expiresIn: 600 }, "notBefore"],
      [{ revocable: true }, "revocable"],
    ];
    for (const [extra, name] of cases) {
      const signed = await api(h.url, "POST", "/v1/presign", {
        bucket: "cloud",
        key: `forms/${name}.txt`,
        method: "POST",
        ...extra,
      });
      expect(signed.status, `${name}: ${JSON.stringify(signed.body)}`).toBe(400);
      expect(signed.body.error.code, name).toBe("constraint_not_enforceable");
    }
  });

  it("so does a grant's required ip", async () => {
    const user = (await api(h.url, "POST", "/v1/apikeys", { name: "office", role: "office" })).body
      .key as string;
    const signed = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "cloud", key: "forms/g.txt", method: "POST" },
      user,
    );
    expect(signed.status, JSON.stringify(signed.body)).toBe(400);
    expect(signed.body.error.code).toBe("constraint_not_enforceable");
  });
});
