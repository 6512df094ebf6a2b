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
    for (const raw of inputs) {
      try {
        const signed = await this.issuance.issue(principal, parse(raw), {
          action: "presign",
          ip: caller.ip,
          detail: { batch: true },
        });
        results.push({ ok: true, ...signed });
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
    if (info === undefined) throw notFound("object");
    const step = partSize ?? Math.max(1, Math.ceil(info.size / parts!));
    const count = Math.ceil(info.size / step);
    if (count > MAX_PARTS)
      throw new SignetError(
        "invalid_request",
        `the plan would have more than ${MAX_PARTS} parts`,
        partSize !== undefined ? "partSize" : "parts",
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
