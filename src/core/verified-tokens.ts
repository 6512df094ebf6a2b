/**
 * Tokens already verified, so that one used again (a page's images, a player's range requests,
 * a client's retries) skips the base64 and JSON decoding and the HMAC. Bounded by
 * SIGNET_CACHE_TOKEN_BYTES (store/cache.ts); 0 turns it off.
 *
 * Kept by payload, the token's public half, with the MAC text that verified it: a use matches
 * only when its MAC equals that one, compared in constant time as `verifyToken` compares, and
 * only while the keyring still verifies with the very key object that signed it (a retired or
 * replaced key misses, and the full check answers). What can change between uses is checked on
 * every use: time window and revocation (`checkTokenUse`). Anything that misses goes through
 * `verifyToken`, which also gives every refusal its own message.
 */
import { timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Keyring, SigningKey } from "./keyring.js";
import { type Claims, checkTokenUse, type RevocationCheck, verifyToken } from "./token.js";

interface Verified {
  claims: Claims;
  /** the MAC's base64url text, as UTF-8 bytes (every character its own: no other text matches) */
  mac: Buffer;
  key: SigningKey;
}

/** Per entry beyond the payload's characters: the MAC, the claims object, the LRU's node. */
const ENTRY_OVERHEAD_BYTES = 256;

export class VerifiedTokens {
  readonly #verified: LRUCache<string, Verified> | undefined;

  /** `maxBytes`: the bound on what is kept (payload text counted twice, for its claims). */
  constructor(maxBytes: number) {
    if (maxBytes > 0)
      this.#verified = new LRUCache({
        maxSize: maxBytes,
        sizeCalculation: (_value, payload) => 2 * payload.length + ENTRY_OVERHEAD_BYTES,
      });
  }

  /** `verifyToken`'s answer and errors, from memory when this exact token verified before. */
  verify(
    keyring: Keyring,
    token: string,
    revocations: RevocationCheck,
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Claims {
    const dot = token.indexOf(".");
    const payload = dot > 0 ? token.slice(0, dot) : undefined;
    const hit = payload === undefined ? undefined : this.#verified?.get(payload);
    if (hit !== undefined) {
      // UTF-8, not Latin-1: Latin-1 keeps a character's low byte only, so another spelling of
      // the MAC (a character 256 above one of its own) would match it.
      const given = Buffer.from(token.slice(dot + 1), "utf8");
      if (
        given.length === hit.mac.length &&
        timingSafeEqual(given, hit.mac) &&
        keyring.verifying(hit.claims.k) === hit.key
      ) {
        checkTokenUse(hit.claims, revocations, nowSeconds);
        return hit.claims;
      }
    }
    const claims = verifyToken(keyring, token, revocations, nowSeconds);
    if (this.#verified !== undefined)
      this.#verified.set(payload!, {
        claims,
        mac: Buffer.from(token.slice(dot + 1), "utf8"),
        key: keyring.verifying(claims.k)!,
      });
    return claims;
  }

  /** entries kept */
  get size(): number {
    return this.#verified?.size ?? 0;
  }
}
