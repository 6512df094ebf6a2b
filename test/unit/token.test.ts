import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Keyring, newSecret, type SigningKey } from "../../src/core/keyring.js";
import { METHODS, type Method } from "../../src/core/methods.js";
import { assertInScope } from "../../src/core/scope.js";
import {
  type Claims,
  newTokenId,
  signToken,
  TOKEN_ID_PATTERN,
  verifyToken,
} from "../../src/core/token.js";

const NOW = 1_800_000_000;
const key = (kid: string, status: SigningKey["status"]): SigningKey => ({
  kid,
  secret: newSecret(),
  status,
  createdAt: new Date(),
  retiredAt: null,
});
const active = key("k000000000001", "active");
const older = key("k000000000002", "verifying");
const ring = new Keyring([active, older]);
const none = { isRevoked: () => false };
const claims = {
  p: "key:0123456789abcdef",
  m: ["GET" as Method],
  b: "default",
  o: "a/b.txt",
  e: NOW + 60,
};
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const failsWith = (fn: () => unknown, code: string) =>
  expect(fn).toThrowError(expect.objectContaining({ code }));

describe("token codec and verifier", () => {
  it("round-trips its claims", () => {
    const { token, claims: signed } = signToken(ring, claims);
    const verified = verifyToken(ring, token, none, NOW);
    expect(verified).toEqual(signed);
    expect(verified.k).toBe(active.kid);
    expect(verified.i).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it("gives every token its own id", () => {
    const ids = new Set(Array.from({ length: 2000 }, () => signToken(ring, claims).claims.i));
    expect(ids.size).toBe(2000);
  });

  it("orders token ids by issue time, as SQLite's binary collation compares them", () => {
    // Time-first ids are what keeps the `issued` index's inserts at its end (service/audit.ts).
    const ms = fc.integer({ min: 0, max: 63 ** 8 - 1 });
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        fc.pre(a !== b);
        const [x, y] = [newTokenId(a), newTokenId(b)];
        expect(Buffer.compare(Buffer.from(x), Buffer.from(y))).toBe(a < b ? -1 : 1);
        expect(x).toMatch(new RegExp(TOKEN_ID_PATTERN));
        expect(x[0]).not.toBe("-");
      }),
    );
  });

  it("draws a fresh random part for ids issued in the same millisecond", () => {
    const ids = Array.from({ length: 500 }, () => newTokenId(NOW * 1000));
    expect(new Set(ids).size).toBe(500);
    expect(new Set(ids.map((id) => id.slice(0, 8))).size).toBe(1);
  });

  it("refuses malformed tokens", () => {
    const { token } = signToken(ring, claims);
    const [payload, mac] = token.split(".") as [string, string];
    for (const bad of [
      "",
      ".",
      "abc",
      `${payload}.`,
      `.${mac}`,
      `${payload}.${mac}.x`,
      `${payload}.${mac.slice(1)}`,
      `${payload}!.${mac}`,
      `${payload}.${mac}=`,
      "x".repeat(9000),
    ])
      failsWith(() => verifyToken(ring, bad, none, NOW), "token_invalid");
  });

  it("refuses a non-canonical encoding of the same bytes", () => {
    const { token } = signToken(ring, claims);
    const [payload, mac] = token.split(".") as [string, string];
    // Flip the unused low bits of the last character: same bytes, another spelling.
    const last = B64URL.indexOf(mac.at(-1)!);
    const sibling = B64URL[last ^ 1]!;
    failsWith(
      () => verifyToken(ring, `${payload}.${mac.slice(0, -1)}${sibling}`, none, NOW),
      "token_invalid",
    );
  });

  it("refuses a forged payload, another key's MAC, unknown and retired keys", () => {
    const { token } = signToken(ring, claims);
    const [, mac] = token.split(".") as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...claims, v: 1, k: active.kid, i: "x", o: "other" }),
    ).toString("base64url");
    failsWith(() => verifyToken(ring, `${forged}.${mac}`, none, NOW), "token_invalid");
    const other = new Keyring([{ ...active, secret: newSecret() }]);
    failsWith(() => verifyToken(other, token, none, NOW), "token_invalid");
    failsWith(() => verifyToken(new Keyring([older]), token, none, NOW), "token_invalid");
    failsWith(
      () => verifyToken(new Keyring([{ ...active, status: "retired" }]), token, none, NOW),
      "token_invalid",
    );
  });

  it("keeps verifying with an older key until it is retired", () => {
    const { token } = signToken(new Keyring([{ ...older, status: "active" }]), claims);
    expect(verifyToken(ring, token, none, NOW).k).toBe(older.kid);
    failsWith(
      () => verifyToken(new Keyring([active, { ...older, status: "retired" }]), token, none, NOW),
      "token_invalid",
    );
  });

  it("checks the time window", () => {
    const { token } = signToken(ring, { ...claims, n: NOW + 10 });
    failsWith(() => verifyToken(ring, token, none, NOW), "token_invalid");
    expect(verifyToken(ring, token, none, NOW + 10).e).toBe(NOW + 60);
    failsWith(() => verifyToken(ring, token, none, NOW + 60), "token_expired");
  });

  it("refuses revoked tokens and principals", () => {
    const { token, claims: signed } = signToken(ring, claims);
    failsWith(
      () => verifyToken(ring, token, { isRevoked: (id) => id === signed.i }, NOW),
      "token_revoked",
    );
    failsWith(
      () => verifyToken(ring, token, { isRevoked: (_id, p) => p === claims.p }, NOW),
      "token_revoked",
    );
  });

  it("does not say anything secret when refusing", () => {
    const { token } = signToken(ring, claims);
    try {
      verifyToken(ring, `${token.slice(0, -2)}AA`, none, NOW);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(token.split(".")[1]!.slice(0, 10));
      expect((err as Error).message).not.toContain(
        active.secret.toString("base64url").slice(0, 10),
      );
    }
  });
});

describe("properties", () => {
  const keyArb = fc
    .array(
      fc.stringMatching(/^[a-zA-Z0-9 é._-]{1,6}$/).filter((s) => s !== "." && s !== ".."),
      { minLength: 1, maxLength: 4 },
    )
    .map((s) => s.join("/"));
  const methodArb = fc.constantFrom(...METHODS.filter((m) => m !== "LIST"));

  it("any change to a token is refused", () => {
    const { token } = signToken(ring, claims);
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...B64URL, ".", "="),
        fc.constantFrom("replace", "delete", "insert"),
        (at, char, edit) => {
          const changed =
            edit === "replace"
              ? token.slice(0, at) + char + token.slice(at + 1)
              : edit === "delete"
                ? token.slice(0, at) + token.slice(at + 1)
                : token.slice(0, at) + char + token.slice(at);
          fc.pre(changed !== token);
          expect(() => verifyToken(ring, changed, none, NOW)).toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a request is inside a one-key scope exactly when bucket, key and method match", () => {
    fc.assert(
      fc.property(
        keyArb,
        keyArb,
        methodArb,
        methodArb,
        fc.constantFrom("default", "other"),
        (signedKey, askedKey, signedMethod, askedMethod, askedBucket) => {
          const { token } = signToken(ring, { ...claims, o: signedKey, m: [signedMethod] });
          const verified: Claims = verifyToken(ring, token, none, NOW);
          const inside =
            signedKey === askedKey && signedMethod === askedMethod && askedBucket === "default";
          const check = () =>
            assertInScope(verified, {
              method: askedMethod,
              bucket: askedBucket,
              key: askedKey,
              ip: "127.0.0.1",
            });
          if (inside) expect(check).not.toThrow();
          else expect(check).toThrowError(expect.objectContaining({ code: "outside_scope" }));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
