/**
 * WAL checkpoints off the event loop's thread. SQLite copies the write-ahead log back into the
 * database file (and fsyncs it) in a checkpoint; by default the connection whose commit pushes
 * the log past 1,000 pages runs it, inside that commit: on Signet's one connection, on the
 * event loop, where profiles of the presign load showed it block every request for up to
 * tens of milliseconds (an fsync on a busy disk).
 *
 * Here a worker thread with a connection of its own runs a PASSIVE checkpoint every
 * `everyMs`: PASSIVE never waits for and never blocks readers or writers (sqlite.org/wal.html,
 * "Checkpointing"), it writes no WAL frames, so it cannot make the main connection's
 * transactions fail with SQLITE_BUSY. The main connection keeps an automatic checkpoint as a
 * backstop, at `FALLBACK_PAGES`, should the worker fall behind or stop.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** How often the worker checkpoints, in milliseconds. */
export const CHECKPOINT_EVERY_MS = 1000;

/** The main connection's own automatic checkpoint, in WAL pages (about 40 MiB at 4 KiB). */
export const FALLBACK_PAGES = 10_000;

// Plain CommonJS run by `eval`, so that the same code runs from src/ (tsx) and from dist/.
// On "stop" it closes its connection, then sets the shared flag its owner waits on.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
}, workerData.everyMs);
parentPort.once("message", () => {
  clearInterval(timer);
  db.close();
  Atomics.store(workerData.closed, 0, 1);
  Atomics.notify(workerData.closed, 0);
  parentPort.close();
});
`;

/** How long `stop` waits for the worker to close its connection, in milliseconds. */
const STOP_WAIT_MS = 5000;

/** A running checkpointer; `stop` closes its connection (synchronously) and ends the thread. */
export interface Checkpointer {
  stop(): void;
}

/** Starts checkpointing the WAL database at `path` from a worker thread. */
export function startCheckpointer(path: string, everyMs = CHECKPOINT_EVERY_MS): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, path, everyMs, closed } });
  let running = true;
  // A failed checkpointer leaves the main connection's fallback checkpoint in charge.
  worker.on("error", () => undefined);
  worker.once("exit", () => (running = false));
  worker.unref();
  return {
    // Synchronous, as Kysely's destroy() calls close() without awaiting it: once it returns,
    // no other connection of this process holds the database.
    stop() {
      if (!running) return;
      worker.postMessage("stop");
      Atomics.wait(closed, 0, 0, STOP_WAIT_MS);
    },
  };
}
