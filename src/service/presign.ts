/**
 * The presign use cases of `/v1/presign`, `/v1/presign/batch` and `/v1/presign/parts`. Each
 * signed request is issued by service/issuance.ts (grant check, signing, audit, revocation
 * bookkeeping); this module only shapes single, batch and part-plan requests.
 */
import { MAX_PARTS } from "../core/constraints.js";
import { SignetError, notFound } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import {
  type CallerContext,
  DEFAULT_EXPIRES_IN,
  enforcedAspects,
  type Enforcer,
  type IssueInput,
  type Issuance,
  type SignedRequest,
} from "./issuance.js";
import { extend } from "../core/extend.js";

export {
  type CallerContext,
  DEFAULT_EXPIRES_IN,
  enforcedAspects,
  type Enforcer,
  type SignedRequest,
};

export type PresignInput = IssueInput;

export type BatchResult =
  ({ ok: true } & SignedRequest) | { ok: false; error: ReturnType<SignetError["toBody"]> };

export class PresignService {
  constructor(private readonly issuance: Issuance) {}

  async presign(
    principal: Principal,
    input: PresignInput,
    caller: CallerContext = {},
  ): Promise<SignedRequest> {
    return this.issuance.issue(principal, input, { action: "presign", ip: caller.ip });
  }

  /** Each request is judged on its own; the answer keeps the input order. */
  async presignBatch(
    principal: Principal,
    inputs: unknown[],
    parse: (raw: unknown) => PresignInput,
    caller: CallerContext = {},
  ): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    const ctx = { action: "presign", ip: caller.ip, detail: { batch: true } };
    for (const raw of inputs) {
      let input: PresignInput;
      try {
        input = parse(raw);
      } catch (err) {
        if (!(err instanceof SignetError)) throw err;
        // An entry the schema refuses is a refused issuance too; only what it names is kept.
        await this.issuance.refusal(principal, namesOf(raw), ctx, err);
        results.push({ ok: false, error: err.toBody() });
        continue;
      }
      try {
        results.push({ ok: true, ...(await this.issuance.issue(principal, input, ctx)) });
      } catch (err) {
        if (!(err instanceof SignetError)) throw err;
        results.push({ ok: false, error: err.toBody() });
      }
    }
    return results;
  }

  /**
   * A part plan: one GET per byte range of the object, each bound to its range (the exact
   * Range header is in its `headers`), for parallel downloads.
   */
  async parts(
    principal: Principal,
    input: PartPlanInput,
    caller: CallerContext = {},
  ): Promise<PartPlan> {
    const { partSize, parts, ...scope } = input;
    const plan = this.issuance.plan(
      principal,
      { ...scope, method: "GET" },
      { action: "presign.parts", ip: caller.ip },
    );
    const info = await plan.bucket.backend.head(plan.request.key!);
    if (info === undefined) throw await plan.refused(notFound("object"));
    const step = partSize ?? Math.max(1, Math.ceil(info.size / parts!));
    const count = Math.ceil(info.size / step);
    if (count > MAX_PARTS)
      throw await plan.refused(
        new SignetError(
          "invalid_request",
          `the plan would have more than ${MAX_PARTS} parts`,
          partSize !== undefined ? "partSize" : "parts",
        ),
      );
    const result: PartPlan = { size: info.size, etag: info.etag, parts: [] };
    for (let i = 0; i < count; i++) {
      const range = { start: i * step, end: Math.min(info.size, (i + 1) * step) - 1 };
      const signed = await plan.sign({ constraints: extend(plan.direct.constraints, { range }) });
      result.parts.push({ partNumber: i + 1, start: range.start, end: range.end, ...signed });
    }
    return result;
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

/**
 * The bucket, key or prefix and method(s) of a batch entry the schema refused, as far as they
 * are strings of a sane length: what its refusal's audit record names.
 */
function namesOf(raw: unknown): PresignInput {
  const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const text = (value: unknown, max: number) =>
    typeof value === "string" && value.length <= max ? value : undefined;
  const method = text(entry.method, 16);
  return {
    bucket: text(entry.bucket, 63) ?? "",
    key: text(entry.key, 1024),
    prefix: text(entry.prefix, 1024),
    ...(method === undefined ? {} : { method: method as PresignInput["method"] }),
  };
}
