/**
 * The presign use case: a request is checked against the caller's grants and the bucket's
 * limits, in DESIGN.md's order of refusals, then signed by the bucket's backend.
 */
import type { DirectRequest } from "../backends/types.js";
import { parseIpList } from "../core/cidr.js";
import { type Constraint, constraintsOf, type ScopeConstraints } from "../core/constraints.js";
import { SignetError, notFound } from "../core/errors.js";
import type { Action, Allowed, GrantSet } from "../core/grants.js";
import { assertValidKey } from "../core/keys.js";
import type { ObjectMethod } from "../core/methods.js";
import { isAdmin, type Principal } from "../core/principal.js";
import { newTokenId } from "../core/token.js";
import type { AuditEvent, AuditLog } from "./audit.js";
import type { Buckets } from "./buckets.js";

export const DEFAULT_EXPIRES_IN = 900;

export interface PresignInput {
  bucket: string;
  key: string;
  method: ObjectMethod;
  expiresIn?: number;
  contentType?: string;
  contentLength?: number;
  ip?: string | string[];
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

const UPLOAD_ONLY: Constraint[] = ["contentType", "contentLength"];

export class PresignService {
  constructor(
    private readonly buckets: Buckets,
    private readonly grants: () => GrantSet,
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
    // 400: malformed requests and invalid keys, before anything is looked up.
    assertValidKey(input.key);
    const asked: ScopeConstraints = {
      contentType: input.contentType,
      contentLength: input.contentLength,
    };
    if (input.ip !== undefined) asked.ip = parseIpList(input.ip);
    if (input.method !== "PUT")
      for (const name of UPLOAD_ONLY)
        if (asked[name] !== undefined)
          throw new SignetError("invalid_request", `${name} applies only to uploads (PUT)`, name);

    // 404 then 403: the caller's grants.
    const bucket = this.buckets.get(input.bucket);
    if (bucket === undefined) throw notFound("bucket");
    const allowed: Omit<Allowed, "grantId"> = isAdmin(principal)
      ? { maxExpiresIn: undefined, ...asked }
      : this.grants().authorize(principal, {
          bucket: bucket.name,
          actions: [ACTION_OF[input.method]],
          key: input.key,
          expiresIn: input.expiresIn,
          ...asked,
        });

    // 400: the bucket's own limits and what its backend can enforce.
    const expiresIn =
      input.expiresIn ??
      Math.min(DEFAULT_EXPIRES_IN, allowed.maxExpiresIn ?? Infinity, bucket.maxExpiresIn);
    if (expiresIn > bucket.maxExpiresIn)
      throw new SignetError(
        "expiry_too_long",
        `expiresIn is above this bucket's maximum of ${bucket.maxExpiresIn} seconds`,
        "expiresIn",
      );
    const constraints: ScopeConstraints = {};
    if (allowed.contentType !== undefined) constraints.contentType = allowed.contentType;
    if (allowed.contentLength !== undefined) constraints.contentLength = allowed.contentLength;
    if (allowed.ip !== undefined) constraints.ip = allowed.ip;
    const enforcedBy: Record<string, Enforcer> = {
      method: "backend",
      key: "backend",
      expiresAt: "backend",
    };
    for (const name of constraintsOf(constraints)) {
      if (!bucket.backend.binds.has(name))
        throw new SignetError(
          "constraint_not_enforceable",
          `this bucket's backend cannot enforce ${name}`,
          name,
        );
      enforcedBy[name] = "backend";
    }

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
      constraints,
    });
    const signed: SignedRequest = {
      id: tokenId,
      ...direct,
      expiresAt: expiresAt.toISOString(),
      expiresIn,
      enforcedBy,
    };
    const event: AuditEvent = {
      event: "presign",
      principal: principal.id,
      tokenId,
      bucket: bucket.name,
      key: input.key,
      method: input.method,
      detail: { expiresAt: signed.expiresAt, constraints },
    };
    return { signed, event };
  }
}
