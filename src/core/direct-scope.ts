/**
 * A scope already checked against the caller's grants and the bucket's limits, as handed to a
 * backend to sign (a direct URL) or to Signet's own token codec (a link). It lives in core
 * because both backends/ and service/ build and read it.
 */
import type { ScopeConstraints } from "./constraints.js";
import type { Method } from "./methods.js";
import { constraintsToClaims, type UnsignedClaims } from "./token.js";

export interface DirectScope {
  /** Signet's bucket name */
  bucket: string;
  /** which incarnation of that bucket (Signet's own tokens only; service/buckets.ts) */
  generation?: string;
  /** the methods the URL allows; the first is the reply's `method` */
  methods: Method[];
  key?: string;
  /** a folder after the folder rule ("" is the whole bucket) */
  folder?: string;
  expiresAt: Date;
  notBefore?: Date;
  principal: string;
  tokenId: string;
  constraints: ScopeConstraints;
  /** a multipart part: the URL uploads exactly this part of this upload */
  part?: { uploadId: string; partNumber: number };
  /** serve only this version of the object (ObjectInfo.version; Signet's own tokens only) */
  version?: string;
  /** set by `Backend.revocation.prepare`: the provider can revoke this URL by its token id */
  revocable?: true;
}

/** The claims a scope becomes: the same for direct URLs and for links. */
export function scopeClaims(scope: DirectScope): UnsignedClaims {
  const claims: UnsignedClaims = {
    i: scope.tokenId,
    p: scope.principal,
    m: scope.methods,
    b: scope.bucket,
    e: Math.floor(scope.expiresAt.getTime() / 1000),
    ...constraintsToClaims(scope.constraints),
  };
  if (scope.generation !== undefined) claims.bg = scope.generation;
  if (scope.key !== undefined) claims.o = scope.key;
  if (scope.folder !== undefined) claims.f = scope.folder;
  if (scope.notBefore !== undefined) claims.n = Math.floor(scope.notBefore.getTime() / 1000);
  if (scope.version !== undefined) claims.ver = scope.version;
  if (scope.part !== undefined) {
    claims.u = scope.part.uploadId;
    claims.pn = scope.part.partNumber;
  }
  return claims;
}
