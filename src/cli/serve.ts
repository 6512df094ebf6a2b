/** `signet serve`: opens the data dir, starts the HTTP server, stops cleanly on a signal. */
import { lockDataDir } from "../store/lock.js";
import { writeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { type Logger, pino } from "pino";
import { buildApp } from "../http/app.js";
import { logSerializers } from "../http/log.js";
import { isSecretRef, resolveSecret } from "../core/config-schema.js";
import { openDatabase } from "../db/connect.js";
import { loadConfig } from "../service/config.js";
import { openSignet } from "../service/signet.js";

export interface ServeOptions {
  host: string;
  port: number;
  data: string;
  config?: string;
}

/** How long a log line may wait in the buffer before it is written, in milliseconds. */
const LOG_FLUSH_MS = 250;
/** How long a clean stop waits for the last lines to be written, in milliseconds. */
const LOG_DRAIN_MS = 2000;

/**
 * The server's logger: JSON lines on stdout at `level`, written off the request path in 4 KiB
 * batches or every `LOG_FLUSH_MS` (pino's default stream wrote each line as soon as the last
 * write ended: at low concurrency one thread-pool write and its completion per request).
 * `drain` writes what is still buffered (a clean stop awaits it); pino itself writes the rest
 * synchronously at any other exit.
 */
function serverLogger(level: string): { logger: Logger; drain(): Promise<void> } {
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: 4096,
    periodicFlush: LOG_FLUSH_MS,
  });
  // sonic-boom's flushSync (pino's flush at exit) retries forever on EPIPE, so a server whose
  // stdout reader had gone would never exit: one newline written first tells whether anyone
  // still reads. `_len` is what it still holds (sonic-boom keeps no public count).
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    if ((destination as unknown as { _len: number })._len === 0) return;
    try {
      writeSync(1, "\n");
    } catch {
      return;
    }
    flushSync();
  };
  const logger = pino({ level, serializers: logSerializers }, destination);
  const drain = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LOG_DRAIN_MS);
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return { logger, drain };
}

export async function serve(options: ServeOptions): Promise<void> {
  const config = await loadConfig(options.config);
  const env = process.env;
  const signet = await openSignet({
    dataDir: resolve(options.data),
    config,
    adminKey: env.SIGNET_ADMIN_KEY || undefined,
    masterKey: env.SIGNET_MASTER_KEY || undefined,
    publicUrl: env.SIGNET_PUBLIC_URL || undefined,
    dataUrl: env.SIGNET_DATA_URL || undefined,
    databaseUrl: env.SIGNET_DATABASE_URL || undefined,
    redisUrl: env.SIGNET_REDIS_URL || undefined,
  });
  const { logger, drain } = serverLogger(env.SIGNET_LOG_LEVEL ?? "info");
  const app = await buildApp(signet, { logger });
  if (signet.swept.tmp + signet.swept.orphans > 0)
    logger.info(signet.swept, "swept interrupted writes");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await app.close();
    await signet.close();
    await drain();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const listening = `http://${host}:${port}`;
  if (env.SIGNET_PUBLIC_URL === undefined && config.publicUrl === undefined)
    signet.publicUrl = listening;
  if (signet.adminKeyFile !== undefined)
    console.log(`Admin API key written to ${signet.adminKeyFile}`);
  console.log(`Signet listening on ${listening}`);
}

/**
 * `signet migrate`: brings the metadata database (SIGNET_DATABASE_URL, the config's
 * database.url, else the data dir's SQLite file) to the latest schema, then exits. Start-up
 * does the same; this lets a deployment migrate once before rolling instances.
 */
export async function migrate(options: { data: string; config?: string }): Promise<void> {
  const config = await loadConfig(options.config);
  const configured = config.database?.url;
  const url =
    process.env.SIGNET_DATABASE_URL ||
    (configured !== undefined && isSecretRef(configured)
      ? resolveSecret(configured, process.env, "database.url")
      : configured);
  // The embedded database belongs to the process holding the data dir: never migrated under it.
  let lock: { release(): Promise<void> } | undefined;
  if (url === undefined) {
    await mkdir(resolve(options.data), { recursive: true, mode: 0o700 });
    lock = await lockDataDir(resolve(options.data));
  }
  try {
    const db = await openDatabase({ url, sqlitePath: resolve(options.data, "signet.db") });
    await db.destroy();
  } finally {
    await lock?.release();
  }
  console.log(`database migrated (${url === undefined ? "sqlite" : "postgres"})`);
}
