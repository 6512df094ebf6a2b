/** The presign use case: check a request against the caller and the bucket, then sign it. */
import type { DirectRequest } from "../backends/types.js";
import { SignetError, notFound } from "../core/errors.js";
import { assertValidKey } from "../core/keys.js";
import type { ObjectMethod } from "../core/methods.js";
import type { Principal } from "../core/principal.js";
import { newTokenId } from "../core/token.js";
import { type Action, authorize } from "./access.js";
import type { AuditEvent, AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";

export const DEFAULT_EXPIRES_IN = 900;

export interface PresignInput {
  bucket: string;
  key: string;
  method: ObjectMethod;
  expiresIn?: number;
}

/** Who checks each part of a scope: the backend's own signature check, Signet, or complete. */
export type Enforcer = "backend" | "signet" | "complete";

export interface SignedRequest extends DirectRequest {
  id: string;
  expiresAt: string;
  expiresIn: number;
  enforcedBy: Record<string, Enforcer>;
}

export type BatchResult =
  ({ ok: true } & SignedRequest) | { ok: false; error: ReturnType<SignetError["toBody"]> };

const ACTION_OF: Record<ObjectMethod, Action> = {
  GET: "read",
  HEAD: "read",
  PUT: "write",
  DELETE: "delete",
};

export class PresignService {
  constructor(
    private readonly buckets: Buckets,
    private readonly audit: AuditLog,
  ) {}

  async presign(principal: Principal, input: PresignInput): Promise<SignedRequest> {
    const { signed, event } = this.sign(principal, input, Date.now());
    await this.audit.record(event);
    return signed;
  }

  /** Each request is judged on its own; the answer keeps the input order. */
  async presignBatch(
    principal: Principal,
    inputs: unknown[],
    parse: (raw: unknown) => PresignInput,
  ): Promise<BatchResult[]> {
    const now = Date.now();
    const events: AuditEvent[] = [];
    const results = inputs.map((raw): BatchResult => {
      try {
        const { signed, event } = this.sign(principal, parse(raw), now);
        events.push(event);
        return { ok: true, ...signed };
      } catch (err) {
        if (err instanceof SignetError) return { ok: false, error: err.toBody() };
        throw err;
      }
    });
    await this.audit.record(...events);
    return results;
  }

  private sign(
    principal: Principal,
    input: PresignInput,
    now: number,
  ): { signed: SignedRequest; event: AuditEvent } {
    assertValidKey(input.key);
    const bucket = this.buckets.get(input.bucket);
    if (bucket === undefined) throw notFound("bucket");
    authorize(principal, bucket, ACTION_OF[input.method], input.key);
    const expiresIn = input.expiresIn ?? Math.min(DEFAULT_EXPIRES_IN, bucket.maxExpiresIn);
    if (expiresIn > bucket.maxExpiresIn)
      throw new SignetError(
        "expiry_too_long",
        `expiresIn is above this bucket's maximum of ${bucket.maxExpiresIn} seconds`,
        "expiresIn",
      );
    // Whole seconds: the token carries seconds, and the reply must not promise more.
    const expiresAt = new Date((Math.floor(now / 1000) + expiresIn) * 1000);
    const tokenId = newTokenId();
    const direct = bucket.backend.presign({
      bucket: bucket.name,
      methods: [input.method],
      key: input.key,
      expiresAt,
      principal: principal.id,
      tokenId,
    });
    const signed: SignedRequest = {
      id: tokenId,
      ...direct,
      expiresAt: expiresAt.toISOString(),
      expiresIn,
      enforcedBy: { method: "backend", key: "backend", expiresAt: "backend" },
    };
    const event: AuditEvent = {
      event: "presign",
      principal: principal.id,
      tokenId,
      bucket: bucket.name,
      key: input.key,
      method: input.method,
      detail: { expiresAt: signed.expiresAt },
    };
    return { signed, event };
  }
}
