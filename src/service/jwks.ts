/**
 * An identity provider's JSON Web Key Set (RFC 7517 §5), fetched from its `jwksUrl` and held,
 * for verifying JWTs. jose's `createRemoteJWKSet` waits for a fetch on every request once its
 * keys are older than their cache age, and answers an error while the endpoint is down, so a
 * provider's outage of a few minutes would stop every JWT caller of Signet. Here:
 * - Keys older than `refreshMs` keep verifying while one fetch runs in the background.
 * - While the endpoint cannot be reached, the keys in hand keep verifying for up to `maxStaleMs`
 *   after the last good fetch; past that they are not trusted (503 until a fetch succeeds).
 * - A fetch is tried at most once per `cooldownMs`, whatever asks for it (an unknown `kid`, no
 *   keys yet, keys too old): an outage or a flood of made-up key ids cannot become a fetch per
 *   request. Meanwhile an unknown `kid` is 401 and a request with no keys to use is 503.
 * Parsing and key selection are jose's (`createLocalJWKSet`); each key verifies only its pinned
 * algorithm (`pinnedAlgorithm` in jwt.ts).
 */
import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";

/** Timings of a held key set, in milliseconds. */
export interface JwksTimings {
  /** how long one fetch may take */
  timeoutMs: number;
  /** the least time between two fetches */
  cooldownMs: number;
  /** the age past which keys are fetched again (in the background) */
  refreshMs: number;
  /** the age past which keys are no longer used when the endpoint cannot be reached */
  maxStaleMs: number;
}

export class HeldJwks {
  private local: ReturnType<typeof createLocalJWKSet> | undefined;
  private keys: JWK[] = [];
  /** `Date.now()` of the last good fetch (0: none yet) and of the last attempt */
  private fetchedAt = 0;
  private attemptedAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly url: URL,
    private readonly timings: JwksTimings,
    private readonly pinned: (jwk: JWK) => string | undefined,
  ) {}

  /** Whether keys are in hand that may still verify (fetched within `maxStaleMs`). */
  held(now = Date.now()): boolean {
    return this.local !== undefined && now - this.fetchedAt <= this.timings.maxStaleMs;
  }

  /** The key for a JWT's protected header, for jose's `jwtVerify`; throws jose's errors. */
  readonly resolve: JWTVerifyGetKey = async (header, token) => {
    const now = Date.now();
    if (!this.held(now)) await this.fetchOrRefuse(now);
    else if (now - this.fetchedAt > this.timings.refreshMs && this.mayFetch(now))
      void this.fetch().catch(() => undefined);
    let key;
    try {
      key = await this.local!(header, token);
    } catch (err) {
      // A key the provider added since the last fetch (a rotation): fetch again, once.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !this.mayFetch(now)) throw err;
      await this.fetch();
      key = await this.local!(header, token);
    }
    const matching = this.keys.filter((jwk) => header.kid === undefined || jwk.kid === header.kid);
    if (!matching.some((jwk) => this.pinned(jwk) === header.alg))
      throw new errors.JOSEAlgNotAllowed("the key does not verify this algorithm");
    return key;
  };

  private mayFetch(now: number): boolean {
    return this.pending !== undefined || now - this.attemptedAt >= this.timings.cooldownMs;
  }

  /** Waits for a fetch, or answers the endpoint unavailable when one was tried too recently. */
  private async fetchOrRefuse(now: number): Promise<void> {
    if (!this.mayFetch(now))
      throw new errors.JWKSTimeout("the JWKS endpoint failed recently; not asked again yet");
    await this.fetch();
  }

  /** One fetch at a time; the keys change only when it succeeds. */
  private fetch(): Promise<void> {
    this.pending ??= (async () => {
      this.attemptedAt = Date.now();
      // As jose's own fetch: no redirects, JSON only, bounded in time.
      const res = await fetch(this.url, {
        redirect: "manual",
        headers: { accept: "application/json, application/jwk-set+json" },
        signal: AbortSignal.timeout(this.timings.timeoutMs),
      });
      if (res.status !== 200)
        throw new errors.JOSEError(`the JWKS endpoint answered HTTP ${res.status}`);
      const set = (await res.json()) as JSONWebKeySet;
      // createLocalJWKSet refuses what is not a key set (JWKSInvalid).
      this.local = createLocalJWKSet(set);
      this.keys = set.keys;
      this.fetchedAt = Date.now();
    })().finally(() => (this.pending = undefined));
    return this.pending;
  }
}
