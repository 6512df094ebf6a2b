/**
 * The embedded store's data plane: a request is served only when its token verifies and
 * the request lies inside the token's scope. Every use, allowed or refused, is audited.
 */
import type { Readable } from "node:stream";
import { SignetError } from "../core/errors.js";
import { assertInScope, type ScopedRequest } from "../core/scope.js";
import { type Claims, verifyToken } from "../core/token.js";
import type { EmbeddedStore, StoredObject } from "../store/embedded.js";
import type { AuditLog } from "./audit.js";
import type { Bucket, Buckets } from "./buckets.js";
import type { KeyringService } from "./keyring.js";
import type { Revocations } from "./revocations.js";

export type DataRequest = ScopedRequest;

export class ObjectService {
  constructor(
    private readonly keyring: KeyringService,
    private readonly revocations: Revocations,
    private readonly buckets: Buckets,
    readonly store: EmbeddedStore,
    private readonly audit: AuditLog,
  ) {}

  /** Integrity and time window of a token (the cheap checks, before the request's own). */
  verify(token: string | undefined): Claims {
    if (token === undefined || token === "")
      throw new SignetError("token_invalid", "this URL carries no token (t)");
    return verifyToken(this.keyring.current, token, this.revocations);
  }

  /** The request must lie inside the token's scope, on a bucket of the embedded store. */
  authorize(claims: Claims, request: DataRequest): Bucket {
    assertInScope(claims, request);
    const bucket = this.buckets.get(request.bucket);
    if (bucket === undefined || bucket.backend.kind !== "local")
      throw new SignetError("not_found", "bucket not found");
    return bucket;
  }

  head(bucket: string, key: string): Promise<StoredObject | undefined> {
    return this.store.head(bucket, key);
  }

  open(
    object: StoredObject,
    range?: { start: number; end: number },
  ): Promise<Readable | undefined> {
    return this.store.open(object, range);
  }

  put(
    bucket: Bucket,
    key: string,
    body: Readable,
    contentType: string,
    declaredLength: number | undefined,
  ): Promise<StoredObject> {
    const maxBytes = bucket.config.maxObjectSize;
    if (maxBytes !== undefined && declaredLength !== undefined && declaredLength > maxBytes)
      throw new SignetError(
        "payload_too_large",
        `this bucket takes objects of at most ${maxBytes} bytes`,
      );
    return this.store.put(bucket.name, key, body, {
      contentType,
      maxBytes,
      expectedBytes: declaredLength,
    });
  }

  delete(bucket: Bucket, key: string): Promise<boolean> {
    return this.store.delete(bucket.name, key);
  }

  /** One audit row per data-plane request; never the token itself. */
  async recordUse(
    request: DataRequest,
    status: number,
    claims: Claims | undefined,
    error?: SignetError,
  ): Promise<void> {
    await this.audit.record({
      event: "object.use",
      principal: claims?.p ?? null,
      tokenId: claims?.i ?? null,
      bucket: request.bucket,
      key: request.key,
      method: request.method,
      status,
      ip: request.ip,
      detail: error === undefined ? undefined : { error: error.code, message: error.message },
    });
  }
}
