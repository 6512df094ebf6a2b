/**
 * The audit queue's writer on SQLite: a worker thread with its own connection to the same file
 * writes each batch (its page of audit records and its `issued` rows, one IMMEDIATE
 * transaction), so that neither serializing the page nor SQLite's work runs on the thread that
 * answers requests. The main thread only posts the batch (a structured clone, cheaper there than
 * JSON text) with the page's bounds; the worker serializes the page's records as JSON, as DbSink
 * does on its own thread (pageOf).
 *
 * Two connections on one file: the worker waits for the write lock (`busy_timeout`), and the
 * main connection's transactions begin IMMEDIATE (db/statements.ts), because a deferred one that
 * read before the worker committed could not upgrade to a write (SQLITE_BUSY without waiting).
 *
 * The worker's code is a plain CommonJS string run with `eval`: it needs nothing but
 * better-sqlite3, and so runs the same from TypeScript sources (tests, benches) and from dist/.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import {
  type AuditRow,
  type AuditSink,
  ISSUED_COLUMNS,
  ISSUED_SOURCES,
  type IssuedBy,
  type IssuedRow,
  pageBounds,
} from "./audit-sink.js";

const WRITER = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path);
db.pragma("busy_timeout = 5000");
// As the main connection (db/connect.ts): WAL keeps every commit across a crash of the process;
// FULL would fsync each batch, on a thread that must keep up with issuance.
db.pragma("synchronous = NORMAL");
const insertPage = db.prepare(
  "insert into audit_pages (min_at, max_at, count, records) values (@min_at, @max_at, @count, @records)",
);
// \`issued\` rows go in ROWS at a time, one statement each: a statement's run costs about as
// much as the row it inserts, so 32 rows per statement write about 1.5 times as many rows a second.
const ROWS = 32;
const columns = workerData.issuedColumns;
const insert = (rows) => {
  const tuple = "(" + columns.map(() => "?").join(", ") + ")";
  const values = Array.from({ length: rows }, () => tuple).join(", ");
  return db.prepare(
    "insert into issued (" + columns.join(", ") + ") values " + values + " on conflict do nothing",
  );
};
const issuedOne = insert(1);
const issuedMany = insert(ROWS);
// As issuedRowOf (audit-sink.ts), from its data: the issued rows the audit rows tell.
const issuedRowOf = (row, by) => workerData.issuedSources.map(([from, i]) => (from === 0 ? row[i] : by[i]));
const write = db.transaction(({ bounds, rows, issued: explicit, issuedBy }) => {
  const issued = issuedBy.length === 0 ? explicit : explicit.concat(issuedBy.map((by) => issuedRowOf(rows[by[0]], by)));
  let i = 0;
  for (; i + ROWS <= issued.length; i += ROWS) issuedMany.run(issued.slice(i, i + ROWS).flat());
  for (; i < issued.length; i++) issuedOne.run(issued[i]);
  if (bounds !== null) insertPage.run({ ...bounds, records: JSON.stringify(rows) });
});
parentPort.on("message", ({ id, batch }) => {
  try {
    write.immediate(batch);
    parentPort.postMessage({ id });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message) });
  }
});
`;

interface Reply {
  id: number;
  error?: string;
}

/** Writes batches through a worker thread's own connection to the SQLite file at `path`. */
export class WorkerSink implements AuditSink {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(): void; reject(err: Error): void }>();

  constructor(private readonly path: string) {}

  /** Started on the first batch: an audit log that never writes costs no thread. */
  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(WRITER, {
      eval: true,
      workerData: {
        path: this.path,
        driver,
        issuedColumns: ISSUED_COLUMNS,
        issuedSources: ISSUED_SOURCES,
      },
    });
    // A queued batch keeps nothing alive: close() (on SIGTERM) writes what is left.
    worker.unref();
    worker.on("message", ({ id, error }: Reply) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      if (error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(`audit write failed: ${error}`));
    });
    const fail = (err: Error) => {
      // An old worker's late exit (after its error, or after close) is not the current one's.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the audit writer exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Posts the batch at once: the worker takes messages, so writes, in the order posted. */
  write(rows: AuditRow[], issued: IssuedRow[], issuedBy: IssuedBy[] = []): Promise<void> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const bounds = rows.length > 0 ? pageBounds(rows) : null;
      const batch = { bounds, rows, issued, issuedBy };
      try {
        worker.postMessage({ id, batch });
      } catch {
        // A detail a structured clone cannot copy (a function, say): as JSON would store it.
        worker.postMessage({ id, batch: JSON.parse(JSON.stringify(batch)) as typeof batch });
      }
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    // Called after the last flush has resolved: no batch is under way.
    if (worker !== undefined) await worker.terminate();
  }
}
