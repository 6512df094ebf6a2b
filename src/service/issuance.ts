/**
 * Issuance: the one code path that turns a caller's request into signed requests, whatever the
 * route (presign, batch, part plans, upload intents and their parts, shares, `/r`, Fence, DRS,
 * the AWS presign compat route). For each signed request it
 *   1. checks the scope in DESIGN.md's order of refusals (400 syntax, 404 unknown or ungranted
 *      bucket, 403 outside the grants, 400 the bucket's limits): `plan`;
 *   2. signs it through the backend: a direct URL when the backend's own signature binds the
 *      whole scope and lets it live that long, else a link that Signet verifies (redirecting
 *      when the 302 target can carry every request-level constraint, proxying otherwise);
 *      `enforcedBy` says which path holds each part;
 *   3. records one audit row (token id, principal, bucket, key or folder, methods, expiry,
 *      delivery, client address) and registers what revocation needs (table `issued`: who
 *      will refuse the token once revoked: Signet, the provider, or nobody);
 *   4. with `short: true`, stores the signed URL and answers `/u/{id}` instead.
 * Nothing else in Signet signs: routes and services call `issue`, or `plan` then `sign` when
 * one check covers many URLs (parts); a redirect link's targets come from `redirect`.
 */
import type { PresignInput } from "../api/types.js";
import type { DirectRequest, DirectScope } from "../backends/types.js";
import { constraintsOf, requiredHeaders, type ScopeConstraints } from "../core/constraints.js";
import { SignetError, notFound } from "../core/errors.js";
import { extend } from "../core/extend.js";
import { MAX_KEY_BYTES } from "../core/keys.js";
import { isoTime } from "../core/iso-time.js";
import type { GrantSet } from "../core/grants.js";
import { isAdmin, type Principal } from "../core/principal.js";
import {
  actionsOf,
  normalizeScope,
  type ScopeInput,
  type ScopeRequest,
} from "../core/scope-request.js";
import type { Method } from "../core/methods.js";
import { type Claims, claimsToConstraints, newTokenId } from "../core/token.js";
import type { IssuedTable } from "../db/schema.js";
import type { AuditLog } from "./audit.js";
import type { Bucket, Buckets } from "./buckets.js";
import {
  alsoAllowed,
  cannotBind,
  linkUnservable,
  safeDirect,
  unboundField,
} from "./direct-safety.js";
import { type KeyGuard, WRITES } from "./key-guard.js";
import type { Metrics } from "./metrics.js";
import type { Quotas } from "./quotas.js";
import { linkMode, type LinkService, REDIRECT_MAX_SECONDS } from "./links.js";
import type { ShortUrls } from "./short-urls.js";

export const DEFAULT_EXPIRES_IN = 900;

/**
 * What a caller may ask: a scope (with `upsert` for a raw write at a key a file holds), and
 * `short: true` for a `/u/{id}` URL: the API's `PresignInput`.
 */
export type IssueInput = PresignInput;

/** Who checks each part of a scope: the backend's own signature check, Signet, or complete. */
export type Enforcer = "backend" | "signet" | "complete";

export interface SignedRequest extends DirectRequest {
  id: string;
  expiresAt: string;
  expiresIn: number;
  enforcedBy: Record<string, Enforcer>;
}

/** Who asks, from where: the client address is recorded with each issuance. */
export interface CallerContext {
  ip?: string;
}

/** Where and why a request is issued: recorded with it. */
export interface IssueContext {
  /** the audit action, e.g. "presign", "upload", "share", "session", "fence", "drs", "compat" */
  action: string;
  /** the client's address */
  ip?: string;
  /** actions the grant must allow beyond the methods' own (a share needs `share`) */
  extraActions?: "share"[];
  /** the lifetime when the caller names none (still capped by the grant and the bucket) */
  defaultExpiresIn?: number;
  /** more to record in the audit row's detail (a file id, a part number) */
  detail?: Record<string, unknown>;
  /** the committed version a file's URL is pinned to (the embedded store's blob id) */
  version?: string;
}

/** One URL of a plan: a narrower variant of the plan's scope. */
export interface Variant {
  /**
   * the object the URL names when it is not the plan's key: an upload intent's staging key
   * (grants were checked on the file's key; a staging key is never a file's, so no key guard)
   */
  key?: string;
  /** replaces the scope's constraints (a part's own length or range) */
  constraints?: ScopeConstraints;
  /** a multipart part */
  part?: DirectScope["part"];
  detail?: Record<string, unknown>;
}

/** A scope that passed every check, ready to be signed. */
export interface CheckedScope {
  bucket: Bucket;
  request: ScopeRequest;
  direct: DirectScope;
  expiresIn: number;
  /**
   * Whether the caller's grants also cover the methods a direct URL would let through beyond
   * those asked for (see direct-safety.ts); unset means yes.
   */
  alsoGranted?: boolean;
  /** the grant that allowed the scope (its own quota counts too); none for an admin */
  grantId?: string;
}

/** A checked scope and its caller: each `sign` issues one signed request (audited, registered). */
export interface Plan extends Readonly<CheckedScope> {
  /** Audits a refusal the route makes around the plan (once per error); answers the error. */
  refused(err: unknown): Promise<unknown>;
  sign(variant?: Variant): Promise<SignedRequest>;
  /** A link for the scope (shares): always verified by Signet. */
  link(mode: "r" | "p"): Promise<DirectRequest & { id: string }>;
}

/**
 * Whole seconds from `now` (ms) until `principal`'s credential stops being accepted (Infinity
 * when it does not expire; at least 1, since authentication refused it if it had expired).
 */
function secondsLeft(principal: Principal, now: number): number {
  if (principal.expiresAt === undefined) return Infinity;
  return Math.max(1, Math.floor(principal.expiresAt / 1000) - Math.floor(now / 1000));
}

export class Issuance {
  /** Refusals already audited (a plan's one error reaches each URL asked of it). */
  private readonly auditedRefusals = new WeakSet<SignetError>();

  constructor(
    private readonly buckets: Buckets,
    private readonly grants: () => GrantSet,
    private readonly audit: AuditLog,
    private readonly links: LinkService,
    private readonly shortUrls: ShortUrls,
    private readonly keyGuard: KeyGuard,
    /** issuance quotas and the URL counters (absent: no quota, nothing counted) */
    private readonly quotas?: Quotas,
    private readonly metrics?: Metrics,
  ) {}

  /**
   * Checks, signs, audits and registers one signed request: a plan signed once, without the
   * plan's object (a batch issues this way per URL).
   */
  async issue(principal: Principal, input: IssueInput, ctx: IssueContext): Promise<SignedRequest> {
    const { short, ...scope } = input;
    const now = Date.now();
    try {
      const checked = this.checkPlan(principal, scope, now, ctx);
      await this.admit(principal, checked);
      await this.guard(principal, checked, scope, now);
      // The plan's own token id: this plan signs nothing else.
      return await this.sign(principal, checked, {}, ctx, short === true, checked.direct.tokenId);
    } catch (err) {
      throw await this.refusal(principal, input, ctx, err);
    }
  }

  /**
   * The bucket, when it exists and a grant of the caller names it; else 404 `not_found`, the
   * same for both (DESIGN.md's precedence): for routes that take a bucket but sign nothing.
   */
  requireBucket(principal: Principal, name: string): Bucket {
    const bucket = this.buckets.require(name);
    if (!isAdmin(principal) && !this.grants().names(principal, name)) throw notFound("bucket");
    return bucket;
  }

  /** Whether the caller's grants allow this scope (nothing is signed): throws like `issue`. */
  authorize(principal: Principal, input: ScopeInput): void {
    this.check(principal, input, Date.now(), {});
  }

  /** Checks a scope once, for one or many signed requests (parts of a plan or an upload). */
  plan(principal: Principal, input: IssueInput, ctx: IssueContext): Plan {
    const { short, ...scope } = input;
    const now = Date.now();
    let checked: CheckedScope;
    try {
      checked = this.checkPlan(principal, scope, now, ctx);
    } catch (err) {
      // plan() answers synchronously: this one record per call is not waited for.
      void this.refusal(principal, input, ctx, err);
      throw err;
    }
    // Once per plan (a part plan or a multipart intent counts as one issuance); a refusal
    // there answers every later URL of the plan with the same error, audited once.
    let admitted: Promise<void> | undefined;
    let guarded: Promise<void> | undefined;
    const admit = () => (admitted ??= this.admit(principal, checked));
    const guard = () => (guarded ??= this.guard(principal, checked, scope, now));
    const audited = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        throw await this.refusal(principal, input, ctx, err);
      }
    };
    return {
      ...checked,
      refused: (err) => this.refusal(principal, input, ctx, err),
      sign: (variant = {}) =>
        audited(async () => {
          await admit();
          if (variant.key === undefined) await guard();
          return this.sign(principal, checked, variant, ctx, short === true);
        }),
      link: (mode) =>
        audited(async () => {
          await admit();
          await guard();
          return this.signLink(principal, checked, mode, ctx);
        }),
    };
  }

  /**
   * For routes that sign a URL for a file id (`/r`, DRS, Fence): `find` looks the file up for
   * the caller; its refusal (a file the caller may not read looks unknown, changed bytes are
   * 409) is audited as the route's refused issuance, naming the file id (in `ctx.detail`), not
   * the bucket or key of a file the caller may not see.
   */
  async forFile<T>(principal: Principal, ctx: IssueContext, find: () => Promise<T>): Promise<T> {
    try {
      return await find();
    } catch (err) {
      throw await this.refusal(principal, { bucket: "", method: "GET" }, ctx, err);
    }
  }

  /**
   * Audits a refused issuance (a 4xx `SignetError`: its code is the record's `reason`, with the
   * principal, bucket, key or folder, methods and client address asked for) and answers the
   * error to throw, once per error (a plan's quota refusal reaches each of its URLs). Failures
   * (5xx) and other errors are not refusals: they are logged, not audited. Public for the
   * refusals a route makes around a plan (a key held by a file, a part past the end).
   */
  async refusal(
    principal: Principal,
    input: IssueInput,
    ctx: IssueContext,
    err: unknown,
  ): Promise<unknown> {
    if (err instanceof SignetError && err.status < 500 && !this.auditedRefusals.has(err)) {
      this.auditedRefusals.add(err);
      // Waited for like any record: a full queue holds the refused caller back too.
      await this.audit
        .record({
          event: ctx.action,
          principal: principal.id,
          bucket: clip(input.bucket, 63),
          key: clip(input.key ?? input.prefix, MAX_KEY_BYTES),
          method: clip(input.methods?.join(",") ?? input.method, 64),
          status: err.status,
          reason: err.code,
          ip: ctx.ip ?? null,
          detail: { ...ctx.detail, ...(err.field === undefined ? {} : { field: err.field }) },
        })
        .catch(() => undefined);
    }
    return err;
  }

  /** `check`, and the committed version the plan's URLs are pinned to. */
  private checkPlan(
    principal: Principal,
    scope: ScopeInput,
    now: number,
    ctx: IssueContext,
  ): CheckedScope {
    const checked = this.check(principal, scope, now, ctx);
    if (ctx.version !== undefined) checked.direct.version = ctx.version;
    return checked;
  }

  /**
   * Before the first URL of a plan is signed: the quotas (429), which every route passes
   * through, each URL of a batch too.
   */
  private admit(principal: Principal, checked: CheckedScope): Promise<void> {
    return this.quotas?.admit(principal, checked.bucket.name, checked.grantId) ?? Promise.resolve();
  }

  /**
   * Before the first URL of a plan at its own key is signed: the files-stay-true rule for raw
   * writes at keys files hold (service/key-guard.ts; not for an intent's staging key, which no
   * file holds).
   */
  private guard(
    principal: Principal,
    checked: CheckedScope,
    scope: IssueInput,
    now: number,
  ): Promise<void> {
    return this.keyGuard.checkIssue(checked, scope.upsert, () =>
      this.check(principal, { bucket: scope.bucket, key: scope.key, method: "DELETE" }, now, {}),
    );
  }

  /** Syntax, bucket, grants and bucket limits: everything but the delivery. */
  private check(
    principal: Principal,
    input: ScopeInput,
    now: number,
    ctx: Pick<IssueContext, "extraActions" | "defaultExpiresIn">,
  ): CheckedScope {
    const request = normalizeScope(input, new Date(now));
    const bucket = this.buckets.require(request.bucket);
    const c = request.constraints;
    let maxExpiresIn: number | undefined;
    let grantId: string | undefined;
    if (isAdmin(principal)) {
      maxExpiresIn = undefined;
    } else {
      const allowed = this.grants().authorize(principal, {
        bucket: bucket.name,
        actions: [...actionsOf(request.methods), ...(ctx.extraActions ?? [])],
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
    const credentialLeft = secondsLeft(principal, now);
    const expiresIn =
      request.expiresIn ??
      Math.min(
        ctx.defaultExpiresIn ?? DEFAULT_EXPIRES_IN,
        maxExpiresIn ?? Infinity,
        limit,
        credentialLeft,
      );
    if (expiresIn > limit)
      throw new SignetError(
        "expiry_too_long",
        `expiresIn is above this bucket's maximum of ${limit} seconds`,
        "expiresIn",
      );
    // A URL is no wider than its caller's permission, in time too (as a presigned URL made with
    // temporary AWS credentials stops working when they expire).
    if (expiresIn > credentialLeft)
      throw new SignetError(
        "expiry_too_long",
        `expiresIn is past the expiry of the credential asking for it (${credentialLeft} seconds left)`,
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
    if (bucket.generation !== undefined) direct.generation = bucket.generation;
    if (request.key !== undefined) direct.key = request.key;
    if (request.folder !== undefined) direct.folder = request.folder;
    if (request.notBefore !== undefined) direct.notBefore = request.notBefore;
    const also = alsoAllowed(bucket.backend, request.methods);
    let alsoGranted = true;
    if (also.length > 0 && !isAdmin(principal))
      try {
        this.grants().authorize(principal, {
          bucket: bucket.name,
          actions: actionsOf(also),
          key: request.key,
          folder: request.folder,
          expiresIn,
        });
      } catch (err) {
        if (!(err instanceof SignetError)) throw err;
        alsoGranted = false;
      }
    return { bucket, request, direct, expiresIn, alsoGranted, grantId };
  }

  private async sign(
    principal: Principal,
    checked: CheckedScope,
    variant: Variant,
    ctx: IssueContext,
    short: boolean,
    tokenId = newTokenId(),
  ): Promise<SignedRequest> {
    const constraints = variant.constraints ?? checked.direct.constraints;
    const key = variant.key ?? checked.direct.key;
    // Each signed request has its own token id; the request is the plan's unless narrowed.
    const narrowed = variant.key !== undefined || variant.constraints !== undefined;
    const scope: CheckedScope = {
      ...checked,
      direct: extend(checked.direct, { key, tokenId, constraints }),
      request: narrowed ? { ...checked.request, key, constraints } : checked.request,
    };
    if (variant.part !== undefined) scope.direct.part = variant.part;
    if (scope.request.revocable) await this.prepareRevocation(scope);
    const signed = this.deliver(scope);
    const delivery = signed.enforcedBy.method === "signet" ? "link" : "direct";
    // Files stay true: a provider's own write URL at the caller's key (not an intent's staging
    // key) is used where Signet cannot see it; registered before it is handed out.
    if (
      delivery === "direct" &&
      variant.key === undefined &&
      key !== undefined &&
      !checked.bucket.backend.capabilities.signetVerified &&
      scope.direct.methods.some((m) => WRITES.includes(m))
    )
      await this.keyGuard.registerDirectWrite(
        checked.bucket.name,
        key,
        signed.id,
        signed.expiresAt,
      );
    const revocable: IssuedTable["revocable"] =
      delivery === "link" || checked.bucket.backend.capabilities.signetVerified
        ? "signet"
        : scope.direct.revocable === true
          ? "provider"
          : "none";
    if (short)
      signed.url = await this.shortUrls.create(
        principal.id,
        signed.id,
        signed.url,
        signed.expiresAt,
      );
    // A copy that gains keys below: extend, not a spread (core/extend.ts).
    const detail: Record<string, unknown> = extend(ctx.detail, variant.detail ?? {});
    // An intent's URL writes its staging key, named in the detail.
    if (variant.key !== undefined) detail.staging = variant.key;
    detail.expiresAt = signed.expiresAt;
    detail.delivery = delivery;
    if (short) detail.short = true;
    if (variant.part !== undefined) detail.partNumber = variant.part.partNumber;
    detail.constraints = auditable(constraints);
    detail.revocable = revocable;
    // Audited and revocable under the key the caller asked for.
    await this.recordIssued(
      principal,
      { bucket: checked.bucket, request: checked.request, direct: scope.direct },
      ctx,
      revocable,
      detail,
      signed.expiresAt,
    );
    return signed;
  }

  private async signLink(
    principal: Principal,
    checked: CheckedScope,
    mode: "r" | "p",
    ctx: IssueContext,
  ): Promise<DirectRequest & { id: string }> {
    // A link never succeeds for what can only fail at use (presign's rule too).
    const unservable = linkUnservable(
      checked.bucket.backend,
      checked.direct,
      mode,
      checked.alsoGranted,
    );
    if (unservable !== undefined)
      throw new SignetError("constraint_not_enforceable", unservable, "methods");
    const reply = this.links.sign(checked.direct, mode);
    const expiresAt = isoTime(checked.direct.expiresAt.getTime());
    await this.recordIssued(
      principal,
      checked,
      ctx,
      "signet",
      extend(ctx.detail, { expiresAt, delivery: "link", mode, revocable: "signet" }),
      expiresAt,
    );
    return { id: checked.direct.tokenId, ...reply };
  }

  /**
   * The 302/307 target for one request under a redirect link (routes/links.ts): a direct URL
   * for exactly this object and method, living at most REDIRECT_MAX_SECONDS, or undefined when
   * the backend cannot bind every constraint into it (the link then proxies). The link's checks
   * (token, scope, key guard) have passed. It is signed under the link's own token id, so that
   * revoking the link revokes its targets wherever anyone can refuse them (the embedded store
   * at once; a provider's URL lives out its 60 s), and it is audited as an issuance of its own
   * (`link.redirect`: delivery, expiry, the client's address); the link's `issued` row covers
   * the id.
   */
  async redirect(
    bucket: Bucket,
    claims: Claims,
    use: { key: string; method: Method; ip?: string },
    now = Date.now(),
  ): Promise<string | undefined> {
    const backend = bucket.backend;
    const scope: DirectScope = {
      bucket: claims.b,
      methods: [use.method],
      key: use.key,
      expiresAt: new Date(
        Math.min(claims.e * 1000, (Math.floor(now / 1000) + REDIRECT_MAX_SECONDS) * 1000),
      ),
      principal: claims.p,
      tokenId: claims.i,
      constraints: claimsToConstraints(claims),
    };
    // The link was checked against this bucket's generation (ObjectService.authorize): a
    // direct URL Signet verifies itself must name it too.
    if (claims.bg !== undefined) scope.generation = claims.bg;
    if (claims.ver !== undefined) scope.version = claims.ver;
    const safe = safeDirect(backend, scope);
    if (safe.unbound.length > 0 || backend.unbound(safe.scope).length > 0) return undefined;
    const target = backend.presign(safe.scope);
    // A redirect cannot add headers: one the provider needs beyond those the link's reply told
    // the client to send (Azure's x-ms-blob-type) makes Signet proxy, and add it itself.
    const told = requiredHeaders(scope.constraints);
    for (const [name, value] of Object.entries(target.headers))
      if (told[name] !== value) return undefined;
    // A write target is a provider's own URL too (files stay true, key-guard.ts).
    if (!backend.capabilities.signetVerified && WRITES.includes(use.method))
      await this.keyGuard.registerDirectWrite(
        bucket.name,
        use.key,
        claims.i,
        scope.expiresAt.toISOString(),
        { reused: true },
      );
    this.metrics?.issued.inc({
      backend: bucket.config.backend,
      method: target.method,
      delivery: "direct",
    });
    await this.audit.record({
      event: "link.redirect",
      principal: claims.p,
      tokenId: claims.i,
      bucket: bucket.name,
      key: use.key,
      method: use.method,
      ip: use.ip ?? null,
      detail: {
        expiresAt: scope.expiresAt.toISOString(),
        delivery: "direct",
        link: claims.o === undefined ? "share" : "link",
      },
    });
    return target.url;
  }

  /**
   * One audit row and one `issued` row, queued as one entry (AuditLog.recordIssuance). `detail` is
   * the caller's fresh object, naming `revocable` itself; `expiresAt` is the expiry as ISO text.
   */
  private async recordIssued(
    principal: Principal,
    { bucket, request, direct }: Pick<CheckedScope, "bucket" | "request" | "direct">,
    ctx: IssueContext,
    revocable: IssuedTable["revocable"],
    detail: Record<string, unknown>,
    expiresAt: string,
  ): Promise<void> {
    await this.audit.recordIssuance(
      {
        event: ctx.action,
        principal: principal.id,
        tokenId: direct.tokenId,
        bucket: bucket.name,
        key: request.key ?? request.folder ?? "",
        method: request.methods.join(","),
        ip: ctx.ip ?? null,
        detail,
      },
      { folder: request.key === undefined ? 1 : 0, revocable, expires_at: expiresAt },
    );
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
  private deliver({
    bucket,
    request,
    direct,
    expiresIn,
    alsoGranted,
  }: CheckedScope): SignedRequest {
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
      // A form is never a link: what its signature cannot bind is refused, never dropped.
      if (request.revocable && !bucket.backend.capabilities.signetVerified)
        throw new SignetError(
          "constraint_not_enforceable",
          `this bucket's backend ${cannotBind(["revocable"])}`,
          "revocable",
        );
      const c = direct.constraints;
      const post = bucket.backend.presignPost({
        ...direct,
        ...request.form,
        contentLengthRange: c.contentLengthRange,
        contentType: c.contentType,
        checksumSha256: c.checksumSha256,
        // every request-level constraint goes to the signer, which binds it or refuses
        ip: c.ip,
        referrers: c.referrers,
        headers: c.headers,
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
      const safe = safeDirect(bucket.backend, direct);
      // the caller's own constraints first: they name the field to change
      const own = bucket.backend.unbound(safe.scope);
      const unbound =
        safe.unbound.length === 0 ? [...own] : [...new Set([...own, ...safe.unbound])];
      const also = alsoAllowed(bucket.backend, direct.methods);
      // A URL that would let through methods the caller was not granted is no direct URL.
      if (also.length > 0 && alsoGranted === false && !unbound.includes("methods"))
        unbound.push("methods");
      // Signet's own tokens are revocable; a provider's signature only when prepared for it.
      if (
        request.revocable &&
        !bucket.backend.capabilities.signetVerified &&
        direct.revocable !== true
      )
        unbound.push("revocable");
      if (request.delivery === "direct" && unbound.length > 0)
        throw new SignetError(
          "constraint_not_enforceable",
          `this bucket's backend ${cannotBind(unbound)}`,
          unboundField(unbound),
        );
      if (request.delivery === "direct" && expiresIn > backendMax) throw tooLongForDirect();
      if (request.delivery === "link" || unbound.length > 0 || expiresIn > backendMax) {
        const mode = linkMode(unbound);
        // A presign never succeeds for what can only fail at use.
        const unservable = linkUnservable(bucket.backend, direct, mode, alsoGranted);
        if (unservable !== undefined)
          throw new SignetError(
            "constraint_not_enforceable",
            unbound.length > 0 ? `${unservable}: the backend ${cannotBind(unbound)}` : unservable,
            unbound.length > 0 ? unboundField(unbound) : "delivery",
          );
        reply = this.links.sign(direct, mode);
        enforcer = "signet";
      } else {
        reply = bucket.backend.presign(safe.scope);
        // The URL's true reach: the methods it lets through as well (granted, checked above).
        if (also.length > 0) reply.methods = [...direct.methods, ...also];
        enforcer = "backend";
      }
    }
    this.metrics?.issued.inc({
      backend: bucket.config.backend,
      method: reply.method,
      delivery: enforcer === "signet" ? "link" : "direct",
    });
    return {
      id: direct.tokenId,
      ...reply,
      expiresAt: isoTime(direct.expiresAt.getTime()),
      expiresIn,
      enforcedBy: enforcedByOf(request, enforcer),
    };
  }
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

/** `enforcedBy` when one enforcer holds every part of the scope. */
function enforcedByOf(request: Parameters<typeof enforcedAspects>[0], enforcer: Enforcer) {
  const out: Record<string, Enforcer> = {};
  for (const aspect of enforcedAspects(request)) out[aspect] = enforcer;
  return out;
}

/**
 * Required headers whose values are secrets (an SSE-C / CSEK / CPK customer key, a session
 * token, a password): the audit trail names them, never their values.
 */
const SECRET_HEADER = /(^|-)(key|token|secret|password|passwd|credentials?|signature|auth)(-|$)/i;

/** The constraints as an audit record keeps them: a secret header's value replaced. */
function auditable(c: ScopeConstraints): ScopeConstraints {
  if (c.headers === undefined || !Object.keys(c.headers).some((n) => SECRET_HEADER.test(n)))
    return c;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.headers))
    headers[name] = SECRET_HEADER.test(name) ? "[redacted]" : value;
  return extend(c, { headers });
}

/**
 * A refused request's own text, at most `max` characters (a refusal may be for a key far too
 * long: the record keeps its start, marked with "…"); null for nothing or an empty string.
 */
function clip(text: string | undefined, max: number): string | null {
  if (typeof text !== "string" || text === "") return null;
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
