/**
 * A URL is no wider than its caller's permission in time either: nothing issued to an API key
 * that expires, or to a JWT, outlives that credential (a presigned URL made with temporary AWS
 * credentials stops working when they do). A default expiry is cut to what the credential has
 * left; an explicit one past it is 400 `expiry_too_long`. Every route issues through the one
 * check, so presign, batch, shares and upload intents are each tried.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const SECRET = "s".repeat(40);
/** seconds the short-lived credentials below have left */
const LEFT = 120;

describe("URLs never outlive the credential that asked for them", () => {
  let h: Harness;
  let expiringKey: string;
  let lastingKey: string;
  let jwt: string;
  /** the JWT's exp plus the configured clock tolerance, in seconds since the epoch */
  let jwtEnd: number;
  let keyEnd: number;

  beforeAll(async () => {
    h = await startSignet({
      config: {
        auth: { jwt: { secret: "${JWT_SECRET}", clockToleranceSeconds: 5 } },
        grants: [
          {
            principal: "role:app",
            buckets: ["default"],
            actions: ["read", "write", "share", "list"],
          },
        ],
      },
      env: { JWT_SECRET: SECRET },
    });
    const made = await api(h.url, "POST", "/v1/apikeys", {
      name: "expiring",
      role: "app",
      expiresIn: LEFT,
    });
    expiringKey = made.body.key as string;
    keyEnd = Date.parse(made.body.expiresAt as string) / 1000;
    lastingKey = (await api(h.url, "POST", "/v1/apikeys", { name: "lasting", role: "app" })).body
      .key as string;
    const exp = Math.floor(Date.now() / 1000) + LEFT;
    jwtEnd = exp + 5;
    jwt = await new SignJWT({ roles: ["app"] })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("carol")
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(SECRET));
  });
  afterAll(() => h.close());

  const seconds = (iso: unknown) => Date.parse(iso as string) / 1000;

  it("cuts the default expiry of a presign to what an expiring API key or a JWT has left", async () => {
    for (const [credential, end] of [
      [expiringKey, () => keyEnd],
      [jwt, () => jwtEnd],
    ] as const) {
      const res = await api(
        h.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: "a.txt", method: "GET" },
        credential,
      );
      expect(res.status).toBe(200);
      expect(seconds(res.body.expiresAt)).toBeLessThanOrEqual(end());
      const expiresAt = seconds(res.body.expiresAt);
      const token = new URL(res.body.url as string).searchParams.get("t")!;
      const claims = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as {
        e: number;
      };
      // The token itself carries the cut expiry, not only the reply.
      expect(claims.e).toBe(expiresAt);
    }
  });

  it("refuses an explicit expiry past the credential's, and keeps it for a lasting key", async () => {
    for (const credential of [expiringKey, jwt]) {
      const res = await api(
        h.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: "a.txt", method: "GET", expiresIn: 3600 },
        credential,
      );
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("expiry_too_long");
      expect(res.body.error.field).toBe("expiresIn");
    }
    const lasting = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "a.txt", method: "GET", expiresIn: 3600 },
      lastingKey,
    );
    expect(lasting.status).toBe(200);
    expect(seconds(lasting.body.expiresAt) - Date.now() / 1000).toBeGreaterThan(3500);
  });

  it("holds for batch entries, shares and upload intents too", async () => {
    const batch = await api(
      h.url,
      "POST",
      "/v1/presign/batch",
      {
        requests: [
          { bucket: "default", key: "b.txt", method: "GET" },
          { bucket: "default", key: "c.txt", method: "GET", expiresIn: 3600 },
        ],
      },
      expiringKey,
    );
    expect(batch.status).toBe(200);
    expect(seconds(batch.body.results[0].expiresAt)).toBeLessThanOrEqual(keyEnd);
    expect(batch.body.results[1].error.code).toBe("expiry_too_long");

    const share = await api(
      h.url,
      "POST",
      "/v1/shares",
      { bucket: "default", prefix: "shared/", methods: ["GET"] },
      expiringKey,
    );
    expect(share.status).toBe(201);
    expect(seconds(share.body.expiresAt)).toBeLessThanOrEqual(keyEnd);

    const intent = await api(
      h.url,
      "POST",
      "/v1/uploads",
      { bucket: "default", key: "up.bin", size: 3 },
      jwt,
    );
    expect(intent.status).toBe(201);
    expect(seconds(intent.body.upload.expiresAt)).toBeLessThanOrEqual(jwtEnd);
  });
});
