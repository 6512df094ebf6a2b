/**
 * The SDK's webhook check (src/client/webhooks.ts) against the server's own signing
 * (service/webhooks.ts `signature`): what the server signs verifies, anything else does not.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { verifyWebhook, WebhookSignatureError } from "../../src/client/index.js";
import { signature } from "../../src/service/webhooks.js";

const SECRET = "whsec-test-0123456789";
const NOW = 1_790_000_000;
const body = JSON.stringify({ id: "e1", type: "file.committed", data: { id: "f_1" } });
const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof WebhookSignatureError) return err.reason;
    throw err;
  }
  return "verified";
};

describe("verifyWebhook", () => {
  it("answers the event the server signed, with either secret of a rotation", () => {
    const header = signature(SECRET, body, NOW);
    expect(verifyWebhook(body, header, SECRET, { now: NOW * 1000 })).toEqual(JSON.parse(body));
    expect(verifyWebhook(Buffer.from(body), header, ["old", SECRET], { now: NOW * 1000 })).toEqual(
      JSON.parse(body),
    );
  });

  it("refuses another secret, a malformed header, and a time outside the window", () => {
    const header = signature(SECRET, body, NOW);
    const at = (s: number) => ({ now: s * 1000 });
    expect(reason(() => verifyWebhook(body, header, "other", at(NOW)))).toBe("mismatch");
    for (const bad of [
      undefined,
      "",
      "v1=00",
      `t=${NOW}`,
      header.replace("v1=", "v2="),
      `${header},x`,
    ])
      expect(reason(() => verifyWebhook(body, bad, SECRET, at(NOW)))).toBe("malformed");
    expect(reason(() => verifyWebhook(body, header, SECRET, at(NOW + 301)))).toBe("too_old");
    expect(reason(() => verifyWebhook(body, header, SECRET, at(NOW - 301)))).toBe("too_new");
    expect(
      reason(() =>
        verifyWebhook(body, header, SECRET, { now: (NOW + 3600) * 1000, toleranceSeconds: 3600 }),
      ),
    ).toBe("verified");
  });

  it("says so when given a parsed body instead of the bytes received", () => {
    const header = signature(SECRET, body, NOW);
    expect(() =>
      verifyWebhook(JSON.parse(body) as unknown as string, header, SECRET, { now: NOW * 1000 }),
    ).toThrow(/body as received/);
  });

  it("refuses any change to the body or the signed time", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (text, position, flip) => {
          const sent = JSON.stringify({ text });
          const header = signature(SECRET, sent, NOW);
          const bytes = Buffer.from(sent);
          const i = position % bytes.length;
          bytes[i] = bytes[i]! ^ flip;
          expect(reason(() => verifyWebhook(bytes, header, SECRET, { now: NOW * 1000 }))).toBe(
            "mismatch",
          );
          const shifted = header.replace(`t=${NOW}`, `t=${NOW + 1}`);
          expect(reason(() => verifyWebhook(sent, shifted, SECRET, { now: NOW * 1000 }))).toBe(
            "mismatch",
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
