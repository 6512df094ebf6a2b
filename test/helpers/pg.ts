/**
 * PostgreSQL for tests: when SIGNET_DATABASE_URL is set, every Signet a test starts gets a
 * database of its own, named after its data dir (so a restart on the same dir finds its data),
 * created through an admin connection on that URL with the byte-order collation Signet needs.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { missing } from "./skip.js";

/** The admin URL, when the suite runs against PostgreSQL. */
export const PG_ADMIN_URL = process.env.SIGNET_DATABASE_URL || undefined;

/**
 * True (skip the suite `title`) without a PostgreSQL server, saying so on stderr
 * (helpers/skip.ts): CI's second pass sets SIGNET_DATABASE_URL.
 */
export const withoutPostgres = (title: string): boolean =>
  missing(title, {
    "SIGNET_DATABASE_URL (a PostgreSQL server; CI's second pass sets it)": PG_ADMIN_URL,
  });

export const TEST_DB_PREFIX = "signet_t_";

/** This run's part of the names (set by the global setup), so that runs never drop each other's. */
export const runPrefix = () => `${TEST_DB_PREFIX}${process.env.SIGNET_TEST_RUN ?? "x"}_`;

const nameFor = (dataDir: string) =>
  `${runPrefix()}${createHash("sha256").update(dataDir).digest("hex").slice(0, 20)}`;

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function urlOf(name: string): string {
  const url = new URL(PG_ADMIN_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The URL of the data dir's own database (created on first use); undefined without PG. */
export async function databaseFor(dataDir: string): Promise<string | undefined> {
  if (PG_ADMIN_URL === undefined) return undefined;
  const name = nameFor(dataDir);
  await admin(async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (rowCount === 0)
      await client
        .query(`create database "${name}" template template0 lc_collate 'C' lc_ctype 'C'`)
        .catch((err: { code?: string }) => {
          // 42P04: created meanwhile by another start on the same dir
          if (err.code !== "42P04") throw err;
        });
  });
  return urlOf(name);
}

/** Drops the data dir's database, if there is one. */
export async function dropDatabaseFor(dataDir: string): Promise<void> {
  if (PG_ADMIN_URL === undefined) return;
  const name = nameFor(dataDir);
  await admin((client) => client.query(`drop database if exists "${name}" with (force)`));
}

/** Drops every database of this run (the suite's teardown). */
export async function dropRunDatabases(): Promise<void> {
  if (PG_ADMIN_URL === undefined) return;
  await admin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like $1",
      [`${runPrefix().replace(/_/g, "\\_")}%`],
    );
    for (const { datname } of rows)
      await client.query(`drop database if exists "${datname}" with (force)`);
  });
}
