/**
 * The data plane's checks: a request is served only when its token verifies and the request
 * lies inside the token's scope. Direct tokens work only on /o, link tokens only on /l and /s.
 * Every use, allowed or refused, is audited.
 */
import type { Readable } from "node:stream";
import { SignetError } from "../core/errors.js";
import { assertInScope, type ScopedRequest } from "../core/scope.js";
import type { Claims } from "../core/token.js";
import { VerifiedTokens } from "../core/verified-tokens.js";
import type {
  CommitGuard,
  EmbeddedStore,
  StoredObject,
  WriteCondition,
} from "../store/embedded.js";
import type { WriteLimits } from "../store/blobs.js";
import type { AuditLog } from "./audit.js";
import type { Bucket, Buckets } from "./buckets.js";
import type { KeyGuard } from "./key-guard.js";
import type { KeyringService } from "./keyring.js";
import type { Revocations } from "./revocations.js";

export type DataRequest = ScopedRequest;

const outside = (claim: string, why: string) =>
  new SignetError("outside_scope", `${claim}: ${why}`);

/** The streaming limits and final checks an upload must meet: the bucket's and the token's. */
export function uploadLimits(
  bucket: Bucket,
  claims: Claims,
  declaredLength: number | undefined,
): WriteLimits {
  const bucketMax = bucket.config.maxObjectSize;
  if (bucketMax !== undefined && declaredLength !== undefined && declaredLength > bucketMax)
    throw new SignetError(
      "payload_too_large",
      `this bucket takes objects of at most ${bucketMax} bytes`,
    );
  const limits: WriteLimits = { expectedBytes: declaredLength };
  const scopeMax = claims.cl ?? claims.clr?.[1];
  if (scopeMax !== undefined && (bucketMax === undefined || scopeMax < bucketMax)) {
    limits.maxBytes = scopeMax;
    limits.tooLarge = () =>
      outside(
        claims.cl !== undefined ? "contentLength" : "contentLengthRange",
        `the body is longer than ${scopeMax} bytes`,
      );
  } else if (bucketMax !== undefined) {
    limits.maxBytes = bucketMax;
  }
  limits.verify = ({ size, sha256 }) => {
    if (claims.cl !== undefined && size !== claims.cl)
      throw outside("contentLength", `the body must be ${claims.cl} bytes`);
    if (claims.clr !== undefined && size < claims.clr[0])
      throw outside("contentLengthRange", `the body must be at least ${claims.clr[0]} bytes`);
    if (claims.sha !== undefined && sha256 !== claims.sha)
      throw outside("checksumSha256", "the body does not have the signed SHA-256");
  };
  return limits;
}

export class ObjectService {
  constructor(
    private readonly keyring: KeyringService,
    private readonly revocations: Revocations,
    private readonly buckets: Buckets,
    readonly store: EmbeddedStore,
    private readonly audit: AuditLog,
    private readonly keyGuard: KeyGuard,
    private readonly verified = new VerifiedTokens(0),
  ) {}

  /**
   * Integrity and time window of a token (the cheap checks, before the request's own).
   * `seen` is told the claims once they are known to be authentic, also when the token is then
   * refused as expired or revoked (so that the refusal's audit row names the token).
   */
  verify(
    token: string | undefined,
    surface: "direct" | "link",
    seen?: (claims: Claims) => void,
  ): Claims {
    if (token === undefined || token === "")
      throw new SignetError("token_invalid", "this URL carries no token");
    let claims: Claims;
    try {
      claims = this.verified.verify(this.keyring.current, token, this.revocations);
    } catch (err) {
      // Both are judged only after the MAC has matched: the payload is authentic.
      if (err instanceof SignetError && ["token_expired", "token_revoked"].includes(err.code))
        seen?.(
          JSON.parse(
            Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"),
          ) as Claims,
        );
      throw err;
    }
    seen?.(claims);
    if ((claims.l !== undefined) !== (surface === "link"))
      throw new SignetError(
        "token_invalid",
        surface === "link" ? "this token is not a link" : "a link token is not a direct URL",
      );
    return claims;
  }

  /** The request must lie inside the token's scope, on a bucket that exists. */
  authorize(claims: Claims, request: DataRequest, surface: "direct" | "link"): Bucket {
    assertInScope(claims, request);
    const bucket = this.buckets.get(request.bucket);
    // A bucket deleted and made again under the same name is another bucket.
    if (
      bucket === undefined ||
      (surface === "direct" && !bucket.backend.capabilities.signetVerified) ||
      claims.bg !== bucket.generation
    )
      throw new SignetError("not_found", "bucket not found");
    return bucket;
  }

  put(
    bucket: Bucket,
    key: string,
    body: Readable,
    contentType: string,
    limits: WriteLimits,
    claims: Claims,
    condition?: WriteCondition,
  ): Promise<StoredObject> {
    return this.store.put(bucket.name, key, body, {
      contentType,
      ...limits,
      condition,
      guard: this.writeGuard(bucket.name, key, claims),
    });
  }

  /**
   * What must still hold when a data-plane write's body is in, however slowly it came: the token
   * is not revoked, and no file holds the key (files stay true). Run in the write's commit
   * transaction where the store has one (`tx`), else just before the write.
   */
  writeGuard(bucket: string, key: string, claims: Claims): CommitGuard {
    return async (tx) => {
      if (this.revocations.isRevoked(claims.i, claims.p))
        throw new SignetError("token_revoked", "this token was revoked during the upload");
      await this.keyGuard.checkUse(bucket, key, "PUT", tx);
    };
  }

  /** One audit row per data-plane request, with a refusal's code; never the token itself. */
  async recordUse(
    event: string,
    request: DataRequest,
    status: number,
    claims: Claims | undefined,
    reason?: string,
  ): Promise<void> {
    await this.audit.record({
      reason: reason ?? null,
      event,
      principal: claims?.p ?? null,
      tokenId: claims?.i ?? null,
      bucket: request.bucket,
      key: request.key,
      method: request.method,
      status,
      ip: request.ip,
    });
  }
}
