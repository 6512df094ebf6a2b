/**
 * Issue 17: a token verified once is answered from memory on its next uses, with every check
 * that can change still made: MAC (the exact one that verified), the signing key, the time
 * window and revocation; and the memory is bounded.
 */
import { describe, expect, it } from "vitest";
import { Keyring, newSecret, type SigningKey } from "../../src/core/keyring.js";
import type { Method } from "../../src/core/methods.js";
import { signToken } from "../../src/core/token.js";
import { VerifiedTokens } from "../../src/core/verified-tokens.js";

const NOW = 1_800_000_000;
const active: SigningKey = {
  kid: "k000000000001",
  secret: newSecret(),
  status: "active",
  createdAt: new Date(),
  retiredAt: null,
};
const ring = new Keyring([active]);
const none = { isRevoked: () => false };
const claims = { p: "key:0123", m: ["GET" as Method], b: "default", o: "a.txt", e: NOW + 60 };

const failsWith = (fn: () => unknown, code: string) =>
  expect(fn).toThrowError(expect.objectContaining({ code }));

describe("verified tokens", () => {
  it("answers a token seen before with the same claims", () => {
    const verified = new VerifiedTokens(1 << 20);
    const { token, claims: signed } = signToken(ring, claims);
    expect(verified.verify(ring, token, none, NOW)).toEqual(signed);
    expect(verified.size).toBe(1);
    expect(verified.verify(ring, token, none, NOW)).toEqual(signed);
  });

  it("still refuses another MAC on a kept payload, expiry, revocation and a retired key", () => {
    const verified = new VerifiedTokens(1 << 20);
    const { token, claims: signed } = signToken(ring, claims);
    verified.verify(ring, token, none, NOW);
    const [payload, mac] = token.split(".") as [string, string];
    const flipped = `${payload}.${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    failsWith(() => verified.verify(ring, flipped, none, NOW), "token_invalid");
    failsWith(() => verified.verify(ring, `${token}.x`, none, NOW), "token_invalid");
    failsWith(() => verified.verify(ring, token, none, signed.e), "token_expired");
    const revoked = { isRevoked: (id: string) => id === signed.i };
    failsWith(() => verified.verify(ring, token, revoked, NOW), "token_revoked");
    const retired = new Keyring([{ ...active, status: "retired" }]);
    failsWith(() => verified.verify(retired, token, none, NOW), "token_invalid");
    // A key of the same id with another secret is another key.
    const replaced = new Keyring([{ ...active, secret: newSecret() }]);
    failsWith(() => verified.verify(replaced, token, none, NOW), "token_invalid");
    expect(verified.verify(ring, token, none, NOW)).toEqual(signed);
  });

  it("refuses another spelling of the kept MAC (characters beyond Latin-1 are not its bytes)", () => {
    const verified = new VerifiedTokens(1 << 20);
    const { token } = signToken(ring, claims);
    verified.verify(ring, token, none, NOW);
    const [payload, mac] = token.split(".") as [string, string];
    // Each character 256 above one of the MAC's: the same low byte, another text.
    for (const at of [0, mac.length - 1]) {
      const respelled =
        mac.slice(0, at) + String.fromCharCode(mac.charCodeAt(at) + 0x100) + mac.slice(at + 1);
      failsWith(() => verified.verify(ring, `${payload}.${respelled}`, none, NOW), "token_invalid");
    }
  });

  it("keeps within its bound, and nothing at 0", () => {
    const small = new VerifiedTokens(4096);
    const off = new VerifiedTokens(0);
    for (let i = 0; i < 50; i++) {
      const { token } = signToken(ring, { ...claims, o: `k${i}` });
      small.verify(ring, token, none, NOW);
      off.verify(ring, token, none, NOW);
    }
    expect(small.size).toBeGreaterThan(0);
    expect(small.size).toBeLessThan(50);
    expect(off.size).toBe(0);
  });
});
