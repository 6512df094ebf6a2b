/**
 * Two Signet processes on one PostgreSQL database (a database of the test's own) and the local
 * Redis, as the many-instances tests need them: started together (a rolling start: the
 * migrations run once), each with its own config, stopped and cleaned up by `close`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_KEY } from "./harness.js";
import { databaseFor, dropDatabaseFor } from "./pg.js";
import { exited, type Served, serve } from "./process.js";

export const REDIS_URL = process.env.SIGNET_REDIS_URL || "redis://127.0.0.1:6379";

export interface Instances {
  a: Served;
  b: Served;
  databaseUrl: string;
  close(): Promise<void>;
}

/**
 * Starts A and B with `configs` (one config object for both, or one each) and `env` added to
 * the shared database, Redis, admin key and master key.
 */
export async function startInstances(
  configs: unknown | [unknown, unknown],
  env: Record<string, string> = {},
): Promise<Instances> {
  const dirs = [
    await mkdtemp(join(tmpdir(), "signet-inst-a-")),
    await mkdtemp(join(tmpdir(), "signet-inst-b-")),
  ];
  const databaseUrl = (await databaseFor(dirs[0]!))!;
  const both = Array.isArray(configs) && configs.length === 2 ? configs : [configs, configs];
  const paths = await Promise.all(
    dirs.map(async (dir, i) => {
      const path = join(dir, "config.json");
      await writeFile(path, JSON.stringify(both[i]));
      return path;
    }),
  );
  const shared = {
    SIGNET_DATABASE_URL: databaseUrl,
    SIGNET_REDIS_URL: REDIS_URL,
    SIGNET_ADMIN_KEY: ADMIN_KEY,
    SIGNET_MASTER_KEY: randomBytes(32).toString("base64url"),
    ...env,
  };
  const [a, b] = await Promise.all(
    dirs.map((dir, i) => serve(dir, shared, ["--config", paths[i]!])),
  );
  return {
    a: a!,
    b: b!,
    databaseUrl,
    async close() {
      for (const s of [a, b]) {
        s!.child.kill("SIGTERM");
        await exited(s!.child);
      }
      await dropDatabaseFor(dirs[0]!);
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 50 ms until it holds or `ms` pass (at most 200 times); whether it held. */
export async function within(
  ms: number,
  check: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
