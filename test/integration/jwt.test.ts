/** JWT bearer tokens: bad input of every kind gets a clear 401, a JWKS that is down a 503. */
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { type Issuer, startIssuer } from "../helpers/jwks.js";

const GRANTS = [
  { principal: "role:user", buckets: ["default"], prefix: "u/${sub}", actions: ["read", "write"] },
];
const body = (key: string) => ({ bucket: "default", key, method: "GET" });

describe("JWT via JWKS", () => {
  let h: Harness;
  let idp: Issuer;
  beforeAll(async () => {
    idp = await startIssuer();
    h = await startSignet({
      config: {
        auth: {
          jwt: {
            jwksUrl: idp.jwksUrl,
            issuer: idp.issuer,
            audience: idp.audience,
            jwksCooldownSeconds: 1,
          },
        },
        grants: GRANTS,
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await idp.close();
  });
  const presign = (jwt: string, key = "u/sub:alice/f") =>
    api(h.url, "POST", "/v1/presign", body(key), jwt);

  it("accepts a valid token and uses its subject and roles", async () => {
    const res = await presign(await idp.token("alice"));
    expect(res.status).toBe(200);
    const audit = await h.admin.audit({ tokenId: res.body.id });
    expect(audit.items[0]?.principal).toBe("sub:alice");
    expect((await presign(await idp.token("alice", { roles: ["guest"] }))).status).toBe(404);
  });

  it.each([
    ["garbage", "not.a.jwt"],
    ["two parts", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0"],
    ["bad base64", "eyJhbGciOiJSUzI1NiJ9.!!!.sig"],
  ])("401 for a malformed token (%s)", async (_name, token) => {
    const res = await presign(token);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
  });

  it("401 for alg: none", async () => {
    const unsecured = new UnsecuredJWT({ roles: ["user"] })
      .setSubject("alice")
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime("5m")
      .encode();
    expect((await presign(unsecured)).status).toBe(401);
  });

  it("401 for HS/RS confusion: an HS256 token keyed with the RSA public key", async () => {
    const jwks = (await (await fetch(idp.jwksUrl)).json()) as { keys: { n: string }[] };
    const forged = await new SignJWT({ roles: ["user"] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject("alice")
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(jwks.keys[0]!.n));
    const res = await presign(forged);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/algorithm/);
  });

  it("401 for an expired token, a wrong issuer or audience, a tampered signature, no subject", async () => {
    expect(
      (await presign(await idp.token("alice", { expiresIn: Math.floor(Date.now() / 1000) - 120 })))
        .body.error.message,
    ).toMatch(/expired/);
    expect(
      (await presign(await idp.token("alice", { issuer: "https://evil.test" }))).body.error.message,
    ).toMatch(/iss/);
    expect(
      (await presign(await idp.token("alice", { audience: "other" }))).body.error.message,
    ).toMatch(/aud/);
    const good = await idp.token("alice");
    const tampered = `${good.slice(0, -4)}${good.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    expect((await presign(tampered)).status).toBe(401);
    const [header, payload, sig] = good.split(".") as [string, string, string];
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "bob" }),
    ).toString("base64url");
    expect((await presign(`${header}.${other}.${sig}`, "u/sub:bob/f")).status).toBe(401);
  });

  it("fetches the JWKS again when an unknown kid appears", async () => {
    await idp.addKey("k2");
    // jose refetches at most once per cooldown (here 1 s), so a flood of random kids cannot
    // turn into a flood of fetches.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await presign(await idp.token("alice", { kid: "k2" }))).status).toBe(200);
  });

  it("401 for a kid the JWKS does not have", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const stranger = await new SignJWT({ roles: ["user"] })
      .setProtectedHeader({ alg: "RS256", kid: "nobody" })
      .setSubject("alice")
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime("5m")
      .sign(privateKey);
    const res = await presign(stranger);
    expect(res.status).toBe(401);
  });

  it("a subject with path or wildcard characters is refused for ${sub} grants", async () => {
    // ("..", namespaced as "sub:..", is one plain segment: see the unit tests)
    for (const sub of ["a/b", "*", "a?b"]) {
      const res = await presign(await idp.token(sub), `u/sub:${sub}/f`);
      expect([400, 403]).toContain(res.status);
    }
    // A control character is refused earlier, as a credential: subjects are printable names.
    expect((await presign(await idp.token("x\u0001"), "u/sub:x/f")).status).toBe(401);
  });
});

describe("JWT via JWKS when the JWKS server is down", () => {
  const start = (idp: Issuer, timings: Record<string, number>) =>
    startSignet({
      config: {
        auth: {
          jwt: { jwksUrl: idp.jwksUrl, issuer: idp.issuer, audience: idp.audience, ...timings },
        },
        grants: GRANTS,
      },
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("answers 503 backend_unavailable with no keys yet, asks again after the cooldown, and recovers", async () => {
    const idp = await startIssuer();
    const h = await start(idp, { jwksCooldownSeconds: 1 });
    try {
      const token = await idp.token("alice");
      await idp.setDown(true);
      const res = await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("backend_unavailable");
      await idp.setDown(false);
      // Within the cooldown the endpoint is not asked again: still 503, no fetch.
      expect((await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token)).status).toBe(
        503,
      );
      expect(idp.fetches()).toBe(0);
      await sleep(1100);
      expect((await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token)).status).toBe(
        200,
      );
    } finally {
      await h.close();
      await idp.close();
    }
  });

  // jose's remote set waited for a fetch once its keys were 10 minutes old and answered 503 while
  // the provider was down: an outage of the identity provider stopped every JWT caller.
  it("keeps verifying with the keys in hand through an outage, up to jwksMaxStaleSeconds", async () => {
    const idp = await startIssuer();
    const h = await start(idp, {
      jwksRefreshSeconds: 1,
      jwksCooldownSeconds: 0,
      jwksMaxStaleSeconds: 3,
    });
    try {
      const token = await idp.token("alice");
      const presign = () => api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token);
      expect((await presign()).status).toBe(200);
      await idp.setDown(true);
      await sleep(1500);
      // Past the refresh age, the endpoint down: the keys in hand still verify, and the instance
      // stays ready (an identity provider's outage must not take every instance out).
      expect((await presign()).status).toBe(200);
      const ready = await api(h.url, "GET", "/readyz", undefined, null);
      expect(ready.status).toBe(200);
      expect(ready.body.checks.jwks).toMatch(/^degraded: unreachable; verifying with the keys/);
      await sleep(2000);
      // Past the most they may be used without a good fetch: not trusted any more.
      const stale = await presign();
      expect(stale.status).toBe(503);
      expect(stale.body.error.code).toBe("backend_unavailable");
      await idp.setDown(false);
      expect((await presign()).status).toBe(200);
    } finally {
      await h.close();
      await idp.close();
    }
  });

  it("refreshes in the background: a rotated key verifies without waiting, made-up kids fetch once a cooldown", async () => {
    const idp = await startIssuer();
    const h = await start(idp, { jwksRefreshSeconds: 1, jwksCooldownSeconds: 1 });
    try {
      const presign = async (kid: string) =>
        (
          await api(
            h.url,
            "POST",
            "/v1/presign",
            body("u/sub:alice/f"),
            await idp.token("alice", { kid }),
          )
        ).status;
      expect(await presign("k1")).toBe(200);
      expect(idp.fetches()).toBe(1);
      // Made-up key ids: one fetch at most within the cooldown, each of them 401.
      for (let i = 0; i < 5; i++) {
        const forged = await idp.token("alice", { kid: "k1" });
        const [head, payload, sig] = forged.split(".");
        const header = JSON.parse(Buffer.from(head!, "base64url").toString()) as object;
        const other = Buffer.from(JSON.stringify({ ...header, kid: `nope-${i}` })).toString(
          "base64url",
        );
        expect(
          (
            await api(
              h.url,
              "POST",
              "/v1/presign",
              body("u/sub:alice/f"),
              `${other}.${payload}.${sig}`,
            )
          ).status,
        ).toBe(401);
      }
      expect(idp.fetches()).toBeLessThanOrEqual(2);
      await sleep(1100);
      // A key the provider added since: fetched for it at once (past the cooldown).
      await idp.addKey("k2");
      expect(await presign("k2")).toBe(200);
    } finally {
      await h.close();
      await idp.close();
    }
  });
});

describe("JWT with a shared secret or a PEM public key", () => {
  it("verifies HS256 with a secret named by ${ENV}", async () => {
    const secret = "s".repeat(40);
    const h = await startSignet({
      config: { auth: { jwt: { secret: "${JWT_SECRET}" } }, grants: GRANTS },
      env: { JWT_SECRET: secret },
    });
    try {
      const token = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
      expect((await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token)).status).toBe(
        200,
      );
      const wrong = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode("t".repeat(40)));
      expect((await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), wrong)).status).toBe(
        401,
      );
    } finally {
      await h.close();
    }
  });

  it("verifies RS256 with a PEM public key file and refuses HS256 signed with that PEM", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = publicKey.export({ type: "spki", format: "pem" }) as string;
    const file = join(await mkdtemp(join(tmpdir(), "signet-pem-")), "public.pem");
    await writeFile(file, pem);
    const h = await startSignet({
      config: { auth: { jwt: { publicKeyFile: file, audience: "signet" } }, grants: GRANTS },
    });
    try {
      const token = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "RS256" })
        .setSubject("alice")
        .setAudience("signet")
        .setExpirationTime("5m")
        .sign(privateKey);
      // The same provider's token for another app.
      const elsewhere = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "RS256" })
        .setSubject("alice")
        .setAudience("another-app")
        .setExpirationTime("5m")
        .sign(privateKey);
      expect(
        (await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), elsewhere)).status,
      ).toBe(401);
      expect((await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), token)).status).toBe(
        200,
      );
      const confused = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(pem));
      expect(
        (await api(h.url, "POST", "/v1/presign", body("u/sub:alice/f"), confused)).status,
      ).toBe(401);
    } finally {
      await h.close();
    }
  });

  it("refuses at start-up: a missing secret variable, two key sources, HS with a key file, no audience", async () => {
    await expect(
      startSignet({ config: { auth: { jwt: { secret: "${NOT_SET_ANYWHERE}" } } }, env: {} }),
    ).rejects.toThrow(/auth\.jwt\.secret names \$\{NOT_SET_ANYWHERE\}/);
    await expect(
      startSignet({
        config: { auth: { jwt: { secret: "${A}", jwksUrl: "http://127.0.0.1:1/x" } } },
      }),
    ).rejects.toThrow(/exactly one of/);
    await expect(
      startSignet({
        config: {
          auth: {
            jwt: { publicKeyFile: "/nonexistent.pem", audience: "a", algorithms: ["HS256"] },
          },
        },
      }),
    ).rejects.toThrow(/HS only with a secret/);
    // An identity provider's keys sign for every app it serves: the audience is required.
    for (const source of [{ jwksUrl: "https://idp.example/jwks.json" }, { publicKeyFile: "k.pem" }])
      await expect(startSignet({ config: { auth: { jwt: source } } })).rejects.toThrow(
        /auth\.jwt\.audience is required/,
      );
    await expect(
      startSignet({ config: { auth: { jwt: { secret: "plain-text-secret" } } } }),
    ).rejects.toThrow(/auth\.jwt\.secret/);
  });
});
