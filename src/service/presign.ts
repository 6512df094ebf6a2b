/**
 * The presign use case. A request is checked in DESIGN.md's order of refusals (400 syntax,
 * 404 unknown or ungranted bucket, 403 outside the grants, 400 the bucket's limits), then
 * delivered: a direct URL when the backend's own signature binds the whole scope, else a link
 * that Signet verifies (redirecting when the 302 target can carry every request-level
 * constraint, proxying otherwise). `enforcedBy` says which path holds each part.
 */
import type { DirectRequest, DirectScope } from "../backends/types.js";
import { constraintsOf, MAX_PARTS, type ScopeConstraints } from "../core/constraints.js";
import { SignetError, notFound } from "../core/errors.js";
import type { GrantSet } from "../core/grants.js";
import { isAdmin, type Principal } from "../core/principal.js";
import {
  actionsOf,
  normalizeScope,
  type ScopeInput,
  type ScopeRequest,
} from "../core/scope-request.js";
import { newTokenId } from "../core/token.js";
import type { AuditEvent, AuditLog } from "./audit.js";
import type { Bucket, Buckets } from "./buckets.js";
import { linkMode, type LinkService } from "./links.js";
import type { Metrics } from "./metrics.js";
import type { Quotas } from "./quotas.js";

export const DEFAULT_EXPIRES_IN = 900;

export type PresignInput = ScopeInput;

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

/** A scope that passed every check, ready to be signed. */
export interface CheckedScope {
  bucket: Bucket;
  request: ScopeRequest;
  direct: DirectScope;
  expiresIn: number;
}

export class PresignService {
  constructor(
    private readonly buckets: Buckets,
    private readonly grants: () => GrantSet,
    private readonly audit: AuditLog,
    private readonly links: LinkService,
    /** issuance quotas and the URL counters (absent: no quota, nothing counted) */
    private readonly quotas?: Quotas,
    private readonly metrics?: Metrics,
  ) {}

  async presign(principal: Principal, input: PresignInput): Promise<SignedRequest> {
    const { signed, event } = await this.sign(principal, input, Date.now());
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
    const results: BatchResult[] = [];
    for (const raw of inputs) {
      try {
        const { signed, event } = await this.sign(principal, parse(raw), now);
        events.push(event);
        results.push({ ok: true, ...signed });
      } catch (err) {
        if (!(err instanceof SignetError)) throw err;
        results.push({ ok: false, error: err.toBody() });
      }
    }
    await this.audit.record(...events);
    return results;
  }

  /**
   * Syntax, bucket, grants, bucket limits and quotas: everything but the delivery. Each call
   * counts one issuance against the quotas (service/quotas.ts); a check that issues nothing
   * uses authorize().
   */
  async check(
    principal: Principal,
    input: PresignInput,
    now: number,
    extraActions: "share"[] = [],
    /** the lifetime when the caller names none (still capped by the grant and the bucket) */
    defaultExpiresIn = DEFAULT_EXPIRES_IN,
  ): Promise<CheckedScope> {
    const { grantId, ...checked } = this.authorize(
      principal,
      input,
      now,
      extraActions,
      defaultExpiresIn,
    );
    await this.quotas?.admit(principal, checked.bucket.name, grantId);
    return checked;
  }

  /** check() without counting an issuance: whether the caller may, and the scope it would get. */
  authorize(
    principal: Principal,
    input: PresignInput,
    now: number,
    extraActions: "share"[] = [],
    defaultExpiresIn = DEFAULT_EXPIRES_IN,
  ): CheckedScope & { grantId: string | undefined } {
    const request = normalizeScope(input, new Date(now));
    const bucket = this.buckets.get(request.bucket);
    if (bucket === undefined) throw notFound("bucket");
    const c = request.constraints;
    let maxExpiresIn: number | undefined;
    let grantId: string | undefined;
    if (isAdmin(principal)) {
      maxExpiresIn = undefined;
    } else {
      const allowed = this.grants().authorize(principal, {
        bucket: bucket.name,
        actions: [...actionsOf(request.methods), ...extraActions],
        key: request.key,
        folder: request.folder,
        expiresIn: request.expiresIn,
        contentType: c.contentType,
        contentLength: c.contentLength,
        contentLengthRange: c.contentLengthRange,
        ip: c.ip,
      });
      maxExpiresIn = allowed.maxExpiresIn;
      grantId = allowed.grantId;
      if (allowed.ip !== undefined) c.ip = allowed.ip;
    }
    // The bucket's limit holds for links too; a direct URL is also capped by its backend
    // (deliver()), which a link may outlive.
    const limit = bucket.maxExpiresIn;
    const expiresIn =
      request.expiresIn ?? Math.min(defaultExpiresIn, maxExpiresIn ?? Infinity, limit);
    if (expiresIn > limit)
      throw new SignetError(
        "expiry_too_long",
        `expiresIn is above this bucket's maximum of ${limit} seconds`,
        "expiresIn",
      );
    const direct: DirectScope = {
      bucket: bucket.name,
      methods: request.methods,
      expiresAt: new Date((Math.floor(now / 1000) + expiresIn) * 1000),
      principal: principal.id,
      tokenId: newTokenId(),
      constraints: c,
    };
    if (request.key !== undefined) direct.key = request.key;
    if (request.folder !== undefined) direct.folder = request.folder;
    if (request.notBefore !== undefined) direct.notBefore = request.notBefore;
    return { bucket, request, direct, expiresIn, grantId };
  }

  private async sign(
    principal: Principal,
    input: PresignInput,
    now: number,
  ): Promise<{ signed: SignedRequest; event: AuditEvent }> {
    const checked = await this.check(principal, input, now);
    await this.prepareRevocation(checked);
    const signed = this.deliver(checked);
    const { request, direct, bucket } = checked;
    const event: AuditEvent = {
      event: "presign",
      principal: principal.id,
      tokenId: direct.tokenId,
      bucket: bucket.name,
      key: request.key ?? request.folder ?? null,
      method: request.methods.join(","),
      detail: {
        expiresAt: signed.expiresAt,
        delivery: signed.enforcedBy.method === "signet" ? "link" : "direct",
        constraints: direct.constraints,
      },
    };
    return { signed, event };
  }

  /**
   * A revocable direct URL where the provider can revoke one (Azure's stored access policies):
   * the backend prepares the scope, and a full pool leaves the URL to a link instead.
   */
  private async prepareRevocation(checked: CheckedScope): Promise<void> {
    const { bucket, request, direct } = checked;
    const revocation = bucket.backend.revocation;
    if (!request.revocable || revocation === undefined || request.delivery === "link") return;
    if (request.form !== undefined || bucket.backend.unbound(direct).length > 0) return;
    try {
      checked.direct = await revocation.prepare(direct);
    } catch (err) {
      if (!(err instanceof SignetError && err.code === "conflict")) throw err;
    }
  }

  /**
   * Signs a checked scope: a direct URL or form when the backend binds it all and lets it live
   * that long, else a link.
   */
  deliver({ bucket, request, direct, expiresIn }: CheckedScope): SignedRequest {
    let reply: DirectRequest;
    let enforcer: Enforcer;
    const backendMax = bucket.backend.maxExpiresIn;
    const tooLongForDirect = () =>
      new SignetError(
        "expiry_too_long",
        `expiresIn is above the maximum of ${backendMax} seconds for a direct URL on this ` +
          "bucket's backend: ask for a link",
        "expiresIn",
      );
    if (request.form !== undefined) {
      if (expiresIn > backendMax) throw tooLongForDirect();
      const c = direct.constraints;
      const post = bucket.backend.presignPost({
        ...direct,
        ...request.form,
        contentLengthRange: c.contentLengthRange,
        contentType: c.contentType,
        checksumSha256: c.checksumSha256,
      });
      if (post === null)
        throw new SignetError(
          "constraint_not_enforceable",
          "this bucket's backend has no browser form upload",
          "method",
        );
      reply = { ...post, method: "POST", headers: {} };
      enforcer = "backend";
    } else {
      const unbound = bucket.backend.unbound(direct);
      // Signet's own tokens are revocable; a provider's signature only when prepared for it.
      if (request.revocable && bucket.backend.kind !== "local" && direct.revocable !== true)
        unbound.push("revocable");
      if (request.delivery === "direct" && unbound.length > 0)
        throw new SignetError(
          "constraint_not_enforceable",
          `this bucket's backend cannot bind ${unbound.join(", ")} in a direct URL`,
          unbound[0],
        );
      if (request.delivery === "direct" && expiresIn > backendMax) throw tooLongForDirect();
      if (request.delivery === "link" || unbound.length > 0 || expiresIn > backendMax) {
        reply = this.links.sign(direct, linkMode(unbound));
        enforcer = "signet";
      } else {
        reply = bucket.backend.presign(direct);
        enforcer = "backend";
      }
    }
    this.metrics?.issued.inc({
      backend: bucket.backend.kind,
      method: reply.method,
      delivery: enforcer === "signet" ? "link" : "direct",
    });
    return {
      id: direct.tokenId,
      ...reply,
      expiresAt: direct.expiresAt.toISOString(),
      expiresIn,
      enforcedBy: Object.fromEntries(enforcedAspects(request).map((a) => [a, enforcer])),
    };
  }

  /**
   * A part plan: one GET per byte range of the object, each bound to its range (the exact
   * Range header is in its `headers`), for parallel downloads.
   */
  async parts(principal: Principal, input: PartPlanInput): Promise<PartPlan> {
    const { partSize, parts, ...scope } = input;
    const checked = await this.check(principal, { ...scope, method: "GET" }, Date.now());
    const info = await checked.bucket.backend.head(checked.request.key!);
    if (info === undefined) throw notFound("object");
    const step = partSize ?? Math.max(1, Math.ceil(info.size / parts!));
    const count = Math.ceil(info.size / step);
    if (count > MAX_PARTS)
      throw new SignetError(
        "invalid_request",
        `the plan would have more than ${MAX_PARTS} parts`,
        partSize !== undefined ? "partSize" : "parts",
      );
    const plan: PartPlan = { size: info.size, etag: info.etag, parts: [] };
    const events: AuditEvent[] = [];
    for (let i = 0; i < count; i++) {
      const range = { start: i * step, end: Math.min(info.size, (i + 1) * step) - 1 };
      const direct = {
        ...checked.direct,
        tokenId: newTokenId(),
        constraints: { ...checked.direct.constraints, range },
      };
      const request = { ...checked.request, constraints: direct.constraints };
      plan.parts.push({
        partNumber: i + 1,
        start: range.start,
        end: range.end,
        ...this.deliver({ ...checked, direct, request }),
      });
      events.push({
        event: "presign",
        principal: principal.id,
        tokenId: direct.tokenId,
        bucket: checked.bucket.name,
        key: request.key ?? null,
        method: "GET",
        detail: { range },
      });
    }
    await this.audit.record(...events);
    return plan;
  }
}

export type PartPlanInput = Omit<PresignInput, "method" | "methods" | "prefix" | "range"> & {
  key: string;
  partSize?: number;
  parts?: number;
};

export interface PartPlan {
  size: number;
  etag: string;
  parts: ({ partNumber: number; start: number; end: number } & SignedRequest)[];
}

/** The names `enforcedBy` lists for a scope: its base parts and each constraint it carries. */
export function enforcedAspects(
  request: Pick<ScopeRequest, "key" | "notBefore" | "revocable"> & {
    constraints: ScopeConstraints;
  },
): string[] {
  const aspects = ["method", request.key !== undefined ? "key" : "folder", "expiresAt"];
  if (request.notBefore !== undefined) aspects.push("notBefore");
  if (request.revocable) aspects.push("revocable");
  return [...aspects, ...constraintsOf(request.constraints)];
}
