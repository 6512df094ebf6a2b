/**
 * Signet's own tokens (the embedded store's direct URLs, and links).
 *
 *   t = base64url(JSON claims) "." base64url(HMAC-SHA256(key[kid], payload))
 *
 * Example claims: {"v":1,"k":"k3f9a…","i":"Zt3…","p":"key:ab12…","m":["GET"],"b":"default",
 * "o":"reports/q3.pdf","e":1767225600}. base64url is canonical (no padding, no stray bits):
 * a payload that decodes but does not re-encode to itself is refused, so one scope has one
 * spelling. Verification refuses cheapest first: malformed, unknown or retired key, MAC
 * (constant time), time window, revocation; the request itself is checked against the
 * claims by core/scope.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ScopeConstraints } from "./constraints.js";
import { SignetError } from "./errors.js";
import type { Keyring } from "./keyring.js";
import type { Method } from "./methods.js";

export interface Claims {
  v: 1;
  /** signing key id */
  k: string;
  /** token id (revocation, audit) */
  i: string;
  /** issuing principal */
  p: string;
  /** methods allowed */
  m: Method[];
  /** bucket */
  b: string;
  /** the bucket's generation, for buckets made over HTTP (service/buckets.ts) */
  bg?: string;
  /** one object key, or… */
  o?: string;
  /** …one folder (already through the folder rule; "" is the whole bucket) */
  f?: string;
  /** expiry, unix seconds */
  e: number;
  /** not before, unix seconds */
  n?: number;
  /** client address ranges (CIDR) */
  ip?: string[];
  /** origins the Referer must come from */
  rf?: string[];
  /** Content-Type of an upload: exact, or for a form upload a pattern like "image/*" */
  ct?: string;
  /** exact length of an upload */
  cl?: number;
  /** inclusive bounds on an upload's length */
  clr?: [number, number];
  /** base64 SHA-256 of an upload */
  sha?: string;
  /** the one byte range a download serves, inclusive */
  r?: [number, number];
  /** required request headers (lower-case names) */
  h?: Record<string, string>;
  /** response overrides: Content-Disposition, Content-Type */
  rcd?: string;
  rct?: string;
  /** form upload: success_action_status, success_action_redirect */
  fs?: number;
  fr?: string;
  /** a link: verified by Signet, then redirected ("r") or proxied ("p") */
  l?: "r" | "p";
  /** the version of the object served (a file's committed blob): other bytes are 409 */
  ver?: string;
  /** a multipart part: upload id and part number */
  u?: string;
  pn?: number;
}

export type UnsignedClaims = Omit<Claims, "v" | "k" | "i"> & { i?: string };

/** The claims a scope's constraints become, and back. */
export function constraintsToClaims(c: ScopeConstraints): Partial<UnsignedClaims> {
  const claims: Partial<UnsignedClaims> = {};
  if (c.ip !== undefined) claims.ip = c.ip;
  if (c.referrers !== undefined) claims.rf = c.referrers;
  if (c.contentType !== undefined) claims.ct = c.contentType;
  if (c.contentLength !== undefined) claims.cl = c.contentLength;
  if (c.contentLengthRange !== undefined) claims.clr = c.contentLengthRange;
  if (c.checksumSha256 !== undefined) claims.sha = c.checksumSha256;
  if (c.range !== undefined) claims.r = [c.range.start, c.range.end];
  if (c.headers !== undefined) claims.h = c.headers;
  if (c.responseContentDisposition !== undefined) claims.rcd = c.responseContentDisposition;
  if (c.responseContentType !== undefined) claims.rct = c.responseContentType;
  return claims;
}

export function claimsToConstraints(claims: Claims): ScopeConstraints {
  const c: ScopeConstraints = {};
  if (claims.ip !== undefined) c.ip = claims.ip;
  if (claims.rf !== undefined) c.referrers = claims.rf;
  if (claims.ct !== undefined) c.contentType = claims.ct;
  if (claims.cl !== undefined) c.contentLength = claims.cl;
  if (claims.clr !== undefined) c.contentLengthRange = claims.clr;
  if (claims.sha !== undefined) c.checksumSha256 = claims.sha;
  if (claims.r !== undefined) c.range = { start: claims.r[0], end: claims.r[1] };
  if (claims.h !== undefined) c.headers = claims.h;
  if (claims.rcd !== undefined) c.responseContentDisposition = claims.rcd;
  if (claims.rct !== undefined) c.responseContentType = claims.rct;
  return c;
}

export interface RevocationCheck {
  isRevoked(tokenId: string, principal: string): boolean;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const MAC_CHARS = 43; // 32 bytes of base64url without padding
export const MAX_TOKEN_CHARS = 8192;

// Token ids come from a pool of CSPRNG bytes: one randomBytes call per 340 ids keeps
// signing near the cost of its HMAC (Node's randomUUID pools the same way).
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * base64url's characters but '-', in ASCII order: a number written with them sorts as it counts,
 * and an id never starts with '-' (a command line would take it for an option).
 */
const SORTED_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const TIME_CHARS = 8; // 63^8 milliseconds: enough until the year 9850

let lastMs = -1;
let timePrefix = "";

/** `ms` in TIME_CHARS base-63 digits of SORTED_DIGITS, most significant first. */
function sortableTime(ms: number): string {
  let text = "";
  for (let rest = ms, i = 0; i < TIME_CHARS; i++, rest = Math.floor(rest / 63))
    text = SORTED_DIGITS[rest % 63]! + text;
  return text;
}

/** Token ids as the API takes them (revocation, shares): old 16-character ids included. */
export const TOKEN_ID_PATTERN = "^[A-Za-z0-9_-]{16,24}$";
/** TOKEN_ID_PATTERN in words, for refusals */
export const TOKEN_ID_SHAPE = "a token id (16 to 24 characters among A-Z, a-z, 0-9, _ and -)";

/**
 * A new token id, 24 base64url characters: the issue time in ms (8 characters that sort as the
 * time does, never '-') then 96 random bits. Not a secret (the MAC guards the token); time first so that
 * each new id lands at the end of the `issued` table's token-id index instead of at a random
 * page: random ids made each insert about three times dearer (BENCHMARKS.md, issue 14).
 */
export function newTokenId(now: number = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    timePrefix = sortableTime(now);
  }
  if (poolOffset + 12 > pool.length) {
    pool = randomBytes(4080);
    poolOffset = 0;
  }
  poolOffset += 12;
  return timePrefix + pool.toString("base64url", poolOffset - 12, poolOffset);
}

// Canonical unpadded base64url: the unused low bits of the last character must be zero
// (a length of 4n+1 is never valid). Checked on the text, without re-encoding.
const B64URL_VALUE = new Int8Array(128).fill(-1);
[..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"].forEach((c, i) => {
  B64URL_VALUE[c.charCodeAt(0)] = i;
});

function isCanonicalB64url(text: string): boolean {
  const tail = text.length % 4;
  if (tail === 1) return false;
  if (tail === 0) return true;
  const last = B64URL_VALUE[text.charCodeAt(text.length - 1)]!;
  return (last & (tail === 2 ? 0x0f : 0x03)) === 0;
}

function mac(secret: Buffer, payload: string): string {
  return createHmac("sha256", secret).update(payload).digest("base64url");
}

export function signToken(
  keyring: Keyring,
  claims: UnsignedClaims,
): { token: string; claims: Claims } {
  const key = keyring.active;
  const full: Claims = { v: 1, k: key.kid, ...claims, i: claims.i ?? newTokenId() };
  const payload = Buffer.from(JSON.stringify(full)).toString("base64url");
  return { token: `${payload}.${mac(key.secret, payload)}`, claims: full };
}

const invalid = (why: string) => new SignetError("token_invalid", why);

/** Checks a token's integrity and time window; returns its claims. */
export function verifyToken(
  keyring: Keyring,
  token: string,
  revocations: RevocationCheck,
  nowSeconds = Math.floor(Date.now() / 1000),
): Claims {
  if (token.length > MAX_TOKEN_CHARS) throw invalid("token is malformed");
  const dot = token.indexOf(".");
  if (dot <= 0 || dot !== token.lastIndexOf(".")) throw invalid("token is malformed");
  const payload = token.slice(0, dot);
  const givenMac = token.slice(dot + 1);
  if (givenMac.length !== MAC_CHARS || !B64URL.test(payload) || !B64URL.test(givenMac))
    throw invalid("token is malformed");
  if (!isCanonicalB64url(payload) || !isCanonicalB64url(givenMac))
    throw invalid("token encoding is not canonical");
  const bytes = Buffer.from(payload, "base64url");

  let claims: Claims;
  try {
    claims = JSON.parse(bytes.toString("utf8")) as Claims;
  } catch {
    throw invalid("token is malformed");
  }
  if (
    typeof claims !== "object" ||
    claims === null ||
    claims.v !== 1 ||
    typeof claims.k !== "string"
  )
    throw invalid("token is malformed");

  const key = keyring.verifying(claims.k);
  if (key === undefined) throw invalid("token's signing key is unknown or retired");
  const expected = Buffer.from(mac(key.secret, payload), "base64url");
  const given = Buffer.from(givenMac, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw invalid("token signature does not match");

  checkTokenUse(claims, revocations, nowSeconds);
  return claims;
}

/**
 * What is checked of authentic claims on every use, as the time and the revocation list move
 * on: the time window (expiry, notBefore) and revocation. Throws as `verifyToken` does.
 */
export function checkTokenUse(
  claims: Claims,
  revocations: RevocationCheck,
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  if (nowSeconds >= claims.e) throw new SignetError("token_expired", "token has expired");
  if (claims.n !== undefined && nowSeconds < claims.n)
    throw invalid("token is not valid yet (notBefore)");
  if (revocations.isRevoked(claims.i, claims.p))
    throw new SignetError("token_revoked", "token has been revoked");
}
