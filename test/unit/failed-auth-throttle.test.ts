/**
 * FailedAuthThrottle.mayRefuse: the request path skips the limiters' lookups only while no
 * count could refuse anyone (in-memory limiters, no failure within the window).
 */
import { RateLimiterMemory } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { FailedAuthThrottle, Throttle } from "../../src/service/throttle.js";

const limits = { perAddress: 3, perKey: 2, windowSeconds: 60 };

describe("failed-authentication throttle: may it refuse?", () => {
  it("not before any failure, yes within the window after one, not once it has passed", async () => {
    const throttle = FailedAuthThrottle.inMemory(limits);
    expect(throttle.mayRefuse()).toBe(false);
    await throttle.failed("192.0.2.1", "0123456789abcdef");
    const now = Date.now();
    expect(throttle.mayRefuse(now)).toBe(true);
    expect(throttle.mayRefuse(now + 60_000)).toBe(true);
    expect(throttle.mayRefuse(now + 62_000)).toBe(false);
  });

  it("always, when the limiters are not this instance's own (shared counts)", () => {
    const limiter = new RateLimiterMemory({ points: 1, duration: 60 });
    const shared = new FailedAuthThrottle(new Throttle(limiter, "a"), new Throttle(limiter, "b"));
    expect(shared.mayRefuse()).toBe(true);
  });

  it("refuses a spent address after failures, as before", async () => {
    const throttle = FailedAuthThrottle.inMemory(limits);
    for (let i = 0; i < 3; i++) await throttle.failed("192.0.2.1", undefined);
    await expect(throttle.check("192.0.2.1", undefined)).rejects.toMatchObject({
      code: "rate_limited",
    });
  });
});
