/**
 * Readiness (/readyz): whether this instance can serve, dependency by dependency: the metadata
 * database (a round trip), Redis when quotas count there (PING), and the JWKS endpoint when JWTs
 * are verified against one (a GET answering a JSON key set). Each check has a 2 s budget; the
 * JWKS answer is remembered for 10 s so that probes do not hammer the identity provider.
 */
import { sql } from "kysely";
import type { Db } from "../db/connect.js";
import type { LimiterFactory } from "./limiters.js";

export type CheckResult = "ok" | string;

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

const BUDGET_MS = 2000;
const JWKS_MEMORY_MS = 10_000;

function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within 2 s`)), BUDGET_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class ReadinessChecks {
  private jwksMemory: { at: number; result: CheckResult } | undefined;

  constructor(
    private readonly db: Db,
    private readonly limiters: LimiterFactory,
    private readonly jwksUrl: string | undefined,
  ) {}

  async check(): Promise<Readiness> {
    const checks: Record<string, CheckResult> = {};
    const run = async (name: string, work: () => Promise<unknown>) => {
      try {
        await within(work(), name);
        checks[name] = "ok";
      } catch (err) {
        // The message names the failure, never a URL (it may carry credentials).
        checks[name] = `unavailable: ${(err as Error).message.slice(0, 200)}`;
      }
    };
    await Promise.all([
      run("database", () => sql`select 1`.execute(this.db)),
      this.limiters.kind === "redis" ? run("redis", () => this.limiters.ping()) : undefined,
      this.jwksUrl === undefined ? undefined : this.jwks().then((r) => (checks.jwks = r)),
    ]);
    return { ready: Object.values(checks).every((c) => c === "ok"), checks };
  }

  private async jwks(): Promise<CheckResult> {
    const now = Date.now();
    if (this.jwksMemory !== undefined && now - this.jwksMemory.at < JWKS_MEMORY_MS)
      return this.jwksMemory.result;
    let result: CheckResult = "ok";
    try {
      const res = await fetch(this.jwksUrl!, { signal: AbortSignal.timeout(BUDGET_MS) });
      const body = res.ok ? ((await res.json()) as { keys?: unknown }) : undefined;
      if (!res.ok) result = `unavailable: HTTP ${res.status}`;
      else if (!Array.isArray(body?.keys)) result = "unavailable: not a JSON key set";
    } catch (err) {
      result = `unavailable: ${(err as Error).name === "TimeoutError" ? "no answer within 2 s" : "unreachable"}`;
    }
    this.jwksMemory = { at: now, result };
    return result;
  }
}
