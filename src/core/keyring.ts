/**
 * Signing keys. One key is active and signs; older ones keep verifying until retired.
 * Secrets are kept encrypted at rest with the master key (AES-256-GCM); this module holds
 * the pure parts: the in-memory ring and the sealing of secrets.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { SignetError } from "./errors.js";

export type KeyStatus = "active" | "verifying" | "retired";

export interface SigningKey {
  kid: string;
  secret: Buffer;
  status: KeyStatus;
  createdAt: Date;
  retiredAt: Date | null;
}

export class Keyring {
  private readonly byKid = new Map<string, SigningKey>();
  private activeKey: SigningKey | undefined;

  constructor(keys: Iterable<SigningKey>) {
    for (const key of keys) {
      this.byKid.set(key.kid, key);
      if (key.status === "active") this.activeKey = key;
    }
  }

  get active(): SigningKey {
    if (this.activeKey === undefined)
      throw new SignetError("internal", "the keyring has no active key");
    return this.activeKey;
  }

  /** The key that may verify `kid`, or undefined when it is unknown or retired. */
  verifying(kid: string): SigningKey | undefined {
    const key = this.byKid.get(kid);
    return key !== undefined && key.status !== "retired" ? key : undefined;
  }

  list(): SigningKey[] {
    return [...this.byKid.values()];
  }
}

export function newKid(): string {
  return `k${randomBytes(6).toString("hex")}`;
}

export function newSecret(): Buffer {
  return randomBytes(32);
}

/** Turns the operator's master key (any string of at least 32 bytes) into an AES-256 key. */
export function masterKeyFrom(material: string): Buffer {
  if (Buffer.byteLength(material) < 32)
    throw new SignetError("invalid_request", "the master key must be at least 32 bytes");
  return createHash("sha256").update("signet master key v1\0").update(material).digest();
}

/** AES-256-GCM: iv (12) | tag (16) | ciphertext, base64. `context` is bound as AAD. */
export function seal(master: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", master, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function unseal(master: Buffer, sealed: string, context: string): Buffer {
  const raw = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", master, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    throw new SignetError(
      "internal",
      "a sealed secret does not open with this master key (was SIGNET_MASTER_KEY changed?)",
    );
  }
}
