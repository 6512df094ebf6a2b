/**
 * Who is calling: an API key (or SIGNET_ADMIN_KEY), else a JWT when JWT auth is configured.
 * Failed attempts are throttled per client address and per API key id (429, Retry-After).
 */
import { SignetError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import { type ApiKeys, apiKeyIdOf, unauthorized } from "./apikeys.js";
import type { JwtVerifier } from "./jwt.js";
import type { FailedAuthThrottle } from "./throttle.js";

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export class Authenticator {
  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly jwt: JwtVerifier | undefined,
    private readonly throttle: FailedAuthThrottle,
  ) {}

  /** Whether JWT callers can be verified now (false when none are configured). */
  jwtKeysHeld(): boolean {
    return this.jwt?.keysHeld() ?? false;
  }

  /**
   * The caller's principal, or 401; 429 once `address` (the client address) or the presented
   * API key's id has failed too often. `address` is undefined only where there is no client.
   */
  async authenticate(presented: string, address?: string): Promise<Principal> {
    const keyId = apiKeyIdOf(presented);
    await this.throttle.check(address, undefined);
    // A key's id is public (every token it issues names it), so a spent key id must not lock
    // out the key's holder: it refuses wrong secrets only. A secret of 256 random bits cannot
    // be guessed; the throttle keeps guessers from even trying, and the right key still works.
    const keyThrottled = await this.throttle.check(undefined, keyId).then(
      () => undefined,
      (err: unknown) => err,
    );
    try {
      return await this.verify(presented);
    } catch (err) {
      if (err instanceof SignetError && err.code === "unauthorized") {
        await this.throttle.failed(address, keyThrottled === undefined ? keyId : undefined);
        if (keyThrottled !== undefined) throw keyThrottled;
      }
      throw err;
    }
  }

  /**
   * The caller's principal when it is decided in memory with nothing to refuse: no failure
   * could be throttled (see FailedAuthThrottle.mayRefuse) and the key is the env admin key or
   * a kept, good API key. Undefined otherwise (a JWT, a row to read, a bad credential): then
   * `authenticate` decides, refuses and counts the failure. The request path's fast way.
   */
  cached(presented: string): Principal | undefined {
    return this.throttle.mayRefuse() ? undefined : this.apiKeys.cached(presented);
  }

  private async verify(presented: string): Promise<Principal> {
    const principal = await this.apiKeys.authenticate(presented);
    if (principal !== undefined) return principal;
    if (this.jwt !== undefined && JWT_SHAPE.test(presented)) return this.jwt.verify(presented);
    throw unauthorized();
  }
}
