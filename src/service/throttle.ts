/**
 * Throttling through `rate-limiter-flexible`: one small wrapper around any of its limiters
 * (RateLimiterMemory here; a Redis-backed one shares the counts across instances), so callers
 * never touch the library and a refusal is always the API's 429 `rate_limited` with a
 * `Retry-After` in whole seconds.
 *
 * `FailedAuthThrottle` counts failed authentications per client address and per API key id:
 * once either has failed `points` times within `duration` seconds, further attempts from that
 * address (or on that key id) are refused with 429 before any credential is checked, until the
 * window (or the block) ends. A success does not reset the count, so a guesser cannot reset it
 * by interleaving a valid key of its own.
 */
import { RateLimiterMemory, type RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import { SignetError } from "../core/errors.js";

/** 429 `rate_limited` after `msBeforeNext`, rounded up to whole seconds (at least 1). */
export function rateLimited(message: string, msBeforeNext: number): SignetError {
  const error = new SignetError("rate_limited", message);
  error.retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return error;
}

/** A named counter over one limiter: `check` refuses once it is spent, `hit` spends a point. */
export class Throttle {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly what: string,
  ) {}

  /** 429 when `key` has used all its points in the current window (or is blocked). */
  async check(key: string): Promise<void> {
    const state = await this.limiter.get(key);
    if (state !== null && state.consumedPoints >= this.limiter.points)
      throw rateLimited(`too many ${this.what}; try again later`, state.msBeforeNext);
  }

  /** Spends one point; never throws for the spending itself (the next `check` refuses). */
  async hit(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
    }
  }
}

export interface FailedAuthLimits {
  /** failures allowed per client address within the window */
  perAddress: number;
  /** failures allowed per API key id within the window */
  perKey: number;
  /** the window, in seconds */
  windowSeconds: number;
}

export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthLimits = {
  perAddress: 30,
  perKey: 10,
  windowSeconds: 60,
};

/** Failed-authentication throttling per client address and per key id. */
export class FailedAuthThrottle {
  /** when this instance last recorded a failure, ms since the epoch */
  private lastFailureAt = -Infinity;

  /**
   * `localWindowMs`: set only when the limiters count this instance's failures alone (in
   * memory) and forget each count within that many ms; then `mayRefuse` can answer no.
   */
  constructor(
    private readonly byAddress: Throttle,
    private readonly byKey: Throttle,
    private readonly localWindowMs?: number,
  ) {}

  /** In-memory limiters for one instance. */
  static inMemory(limits: FailedAuthLimits = DEFAULT_FAILED_AUTH_LIMITS): FailedAuthThrottle {
    const limiter = (points: number, keyPrefix: string) =>
      new RateLimiterMemory({ points, duration: limits.windowSeconds, keyPrefix });
    return new FailedAuthThrottle(
      new Throttle(limiter(limits.perAddress, "auth-addr"), "failed authentications"),
      new Throttle(limiter(limits.perKey, "auth-key"), "failed authentications for this key"),
      // a second's margin over the window, for the limiters' own timer rounding
      (limits.windowSeconds + 1) * 1000,
    );
  }

  /**
   * Whether `check` could refuse anyone now: false only for in-memory limiters with no failure
   * recorded within their window (every count has expired), so that the usual request, from a
   * client that has never failed, skips the limiters' lookups altogether.
   */
  mayRefuse(now = Date.now()): boolean {
    return this.localWindowMs === undefined || now - this.lastFailureAt <= this.localWindowMs;
  }

  /** 429 when the address or the key id has failed too often. */
  async check(address: string | undefined, keyId: string | undefined): Promise<void> {
    if (address !== undefined) await this.byAddress.check(address);
    if (keyId !== undefined) await this.byKey.check(keyId);
  }

  async failed(address: string | undefined, keyId: string | undefined): Promise<void> {
    this.lastFailureAt = Date.now();
    if (address !== undefined) await this.byAddress.hit(address);
    if (keyId !== undefined) await this.byKey.hit(keyId);
  }
}
