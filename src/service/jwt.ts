/**
 * JWT bearer tokens, verified with jose against a JWKS URL (held, refreshed in the background,
 * fetched again when an unknown kid appears, and kept through an outage: jwks.ts), a shared
 * secret, or a PEM public key. Issuer,
 * audience, the algorithm allow-list and clock skew are checked; `alg: none` never passes,
 * and HS algorithms are allowed only with a secret, so an RSA public key can never be used
 * as an HMAC secret.
 *
 * Claims (RFC 7519 §4.1): `exp` is required (a token without one would never expire); `nbf`
 * and `iat` may not lie in the future by more than the leeway (`clockToleranceSeconds`,
 * default 30 s). Each key verifies one algorithm only: a secret or PEM key the one configured
 * (or its type's default), a JWKS key its own `alg`, or its type's default when it has none
 * (an RSA key without `alg` verifies RS256, never PS256 or RS512).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { errors, type JWK, jwtVerify, type JWTVerifyGetKey } from "jose";
import { SignetError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import { isPrintable } from "../core/schema.js";
import { resolveSecret } from "../core/config-schema.js";
import type { JwtConfig } from "./config.js";
import { HeldJwks } from "./jwks.js";

const ASYMMETRIC = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

const unauthorized = (why: string) => new SignetError("unauthorized", why);

/** The leeway on exp, nbf and iat when the config names none, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE = 30;

/** The one algorithm a JWK verifies: its own `alg`, else its key type's default. */
export function pinnedAlgorithm(jwk: JWK): string | undefined {
  if (typeof jwk.alg === "string") return jwk.alg;
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC")
    return ({ "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" } as Record<string, string>)[
      jwk.crv ?? ""
    ];
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  return undefined;
}

export class JwtVerifier {
  private constructor(
    private readonly key: JWTVerifyGetKey | KeyObject | Uint8Array,
    private readonly config: JwtConfig,
    private readonly algorithms: string[],
    private readonly jwks?: HeldJwks,
  ) {}

  /** Whether JWTs can be verified now: a secret or PEM key, or a JWKS with keys in hand. */
  keysHeld(): boolean {
    return this.jwks?.held() ?? true;
  }

  static async create(config: JwtConfig, env: NodeJS.ProcessEnv): Promise<JwtVerifier> {
    if (
      (config.secret !== undefined || config.publicKeyFile !== undefined) &&
      (config.algorithms?.length ?? 0) > 1
    )
      throw new Error(
        "invalid config: auth.jwt.algorithms: a secret or a public key verifies one algorithm only",
      );
    if (config.secret !== undefined) {
      const secret = resolveSecret(config.secret, env, "auth.jwt.secret");
      if (Buffer.byteLength(secret) < 32)
        throw new Error("invalid config: auth.jwt.secret must be at least 32 bytes");
      return new JwtVerifier(
        new TextEncoder().encode(secret),
        config,
        config.algorithms ?? ["HS256"],
      );
    }
    if (config.publicKeyFile !== undefined) {
      let key: KeyObject;
      try {
        key = createPublicKey(await readFile(config.publicKeyFile, "utf8"));
      } catch (err) {
        throw new Error(`invalid config: auth.jwt.publicKeyFile: ${(err as Error).message}`);
      }
      const byType: Record<string, string[]> = {
        rsa: ["RS256"],
        "rsa-pss": ["PS256"],
        ec: ["ES256"],
        ed25519: ["EdDSA"],
      };
      return new JwtVerifier(
        key,
        config,
        config.algorithms ?? byType[key.asymmetricKeyType ?? ""] ?? ASYMMETRIC,
      );
    }
    const jwks = new HeldJwks(
      new URL(config.jwksUrl!),
      {
        timeoutMs: 5000,
        cooldownMs: (config.jwksCooldownSeconds ?? 30) * 1000,
        refreshMs: (config.jwksRefreshSeconds ?? 600) * 1000,
        maxStaleMs: (config.jwksMaxStaleSeconds ?? 86_400) * 1000,
      },
      pinnedAlgorithm,
    );
    return new JwtVerifier(jwks.resolve, config, config.algorithms ?? ASYMMETRIC, jwks);
  }

  private get leeway(): number {
    return this.config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE;
  }

  async verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        algorithms: this.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.leeway,
        requiredClaims: ["exp"],
      }));
      // jose checks iat's type only: one from the future is refused like a future nbf.
      if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + this.leeway)
        throw new errors.JWTClaimValidationFailed(
          "iat is in the future",
          payload,
          "iat",
          "check_failed",
        );
    } catch (err) {
      throw this.refusal(err);
    }
    const subject = payload[this.config.subjectClaim ?? "sub"];
    if (typeof subject !== "string" || subject === "") throw unauthorized("the JWT has no subject");
    // The subject is printed (audit, owners, tables) like a typed name: the same rule.
    if (!isPrintable(subject))
      throw unauthorized("the JWT's subject holds control characters or line breaks");
    const rolesClaim = payload[this.config.rolesClaim ?? "roles"];
    const roles =
      typeof rolesClaim === "string"
        ? [rolesClaim]
        : Array.isArray(rolesClaim)
          ? rolesClaim.filter((r): r is string => typeof r === "string")
          : [];
    // jose required `exp`; the token is accepted until then plus the clock tolerance.
    return {
      id: `sub:${subject}`,
      subject,
      roles,
      expiresAt: ((payload.exp as number) + this.leeway) * 1000,
    };
  }

  /** A clear 401 for a bad token, 503 when the JWKS endpoint cannot be reached. */
  private refusal(err: unknown): SignetError {
    // jose reports a JWKS it cannot fetch or parse as these; a fetch that fails outright
    // (connection refused) surfaces as a plain TypeError.
    const code = (err as { code?: string }).code;
    const remote = this.config.jwksUrl !== undefined;
    if (
      remote &&
      (code === "ERR_JWKS_TIMEOUT" ||
        code === "ERR_JOSE_GENERIC" ||
        code === "ERR_JWKS_INVALID" ||
        !(err instanceof errors.JOSEError))
    )
      return new SignetError("backend_unavailable", "the JWKS endpoint is unavailable");
    if (err instanceof errors.JWTExpired) return unauthorized("the JWT has expired");
    if (err instanceof errors.JWTClaimValidationFailed)
      return unauthorized(`the JWT's ${err.claim} claim is not accepted`);
    if (err instanceof errors.JOSEAlgNotAllowed)
      return unauthorized("the JWT's algorithm is not allowed");
    if (err instanceof errors.JWKSNoMatchingKey)
      return unauthorized("no key of the JWKS matches the JWT");
    if (err instanceof errors.JWSSignatureVerificationFailed)
      return unauthorized("the JWT's signature does not verify");
    return unauthorized("the JWT is malformed or not accepted");
  }
}
