/**
 * Issue 18: issuance (presign with its audit record, quotas on) in-process, on the embedded
 * SQLite database beside PostgreSQL (SIGNET_DATABASE_URL, default the local server's `test`
 * database; a fresh database is made and dropped). Sequential calls measure one request's
 * latency budget; 16 at a time show what a pool of connections adds. Redis quotas when
 * SIGNET_REDIS_URL is set, memory otherwise.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ADMIN_ROLE, type Principal } from "../src/core/principal.js";
import { validateConfig } from "../src/service/config.js";
import { openSignet, type Signet } from "../src/service/signet.js";
import { interleaved, report } from "./lib.js";

const ADMIN_URL = process.env.SIGNET_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const DB = `signet_bench_${process.pid}`;
const principal: Principal = { id: "key:bench", subject: "bench", roles: [ADMIN_ROLE] };
// A quota high enough never to refuse: its counting is part of the measured work.
const config = validateConfig({ quotas: { principal: { perMinute: 100_000_000 } } });

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(statement).finally(() => client.end());
}

const dirs: string[] = [];
async function open(databaseUrl?: string): Promise<Signet> {
  const dataDir = await mkdtemp(join(tmpdir(), "signet-bench-"));
  dirs.push(dataDir);
  return openSignet({
    dataDir,
    config,
    env: {},
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(process.env.SIGNET_REDIS_URL ? { redisUrl: process.env.SIGNET_REDIS_URL } : {}),
  });
}

await admin(`create database ${DB} template template0 lc_collate 'C' lc_ctype 'C'`);
const pgUrl = new URL(ADMIN_URL);
pgUrl.pathname = `/${DB}`;
const sqlite = await open();
const postgres = await open(pgUrl.toString());
let n = 0;
const issue = (s: Signet) => () =>
  s.presign.presign(principal, { bucket: "default", key: `bench/${n++}.bin`, method: "GET" });
const sixteen = (s: Signet) => () => Promise.all(Array.from({ length: 16 }, issue(s)));
try {
  const one = await interleaved([
    { name: "presign + audit, SQLite (reference)", run: issue(sqlite) },
    { name: "presign + audit, PostgreSQL", run: issue(postgres) },
  ]);
  report("Issuance, one at a time (in-process, quotas in memory or Redis)", one);
  const many = await interleaved([
    { name: "16 concurrent, SQLite (reference)", run: sixteen(sqlite) },
    { name: "16 concurrent, PostgreSQL", run: sixteen(postgres) },
  ]);
  report("Issuance, 16 at a time (rate is of batches: multiply by 16 for URLs)", many);
} finally {
  await sqlite.close();
  await postgres.close();
  await admin(`drop database if exists ${DB} with (force)`);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}
