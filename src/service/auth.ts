/** Who is calling: an API key (or SIGNET_ADMIN_KEY), else a JWT when JWT auth is configured. */
import type { Principal } from "../core/principal.js";
import { type ApiKeys, unauthorized } from "./apikeys.js";
import type { JwtVerifier } from "./jwt.js";

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export class Authenticator {
  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly jwt: JwtVerifier | undefined,
  ) {}

  async authenticate(presented: string): Promise<Principal> {
    const principal = await this.apiKeys.authenticate(presented);
    if (principal !== undefined) return principal;
    if (this.jwt !== undefined && JWT_SHAPE.test(presented)) return this.jwt.verify(presented);
    throw unauthorized();
  }
}
