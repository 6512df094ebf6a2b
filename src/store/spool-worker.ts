/**
 * Hashing and writing a large body off the thread that answers requests. A 1 GiB PUT costs
 * the main thread about 0.7 s of SHA-256 on top of receiving it: with both done there, the
 * main thread alone was the PUT's bottleneck. One worker thread, started on the first large
 * body, takes each batch of chunks by transfer (no copy) and hashes it; the batch is then
 * written with one `writev` on the thread pool (to the body's descriptor, opened, fsynced and
 * closed by the main thread) while the next one is hashed, and a background `fdatasync`
 * starts every `FLUSH_EVERY` bytes, as on the main-thread path. Hashing and copying into the
 * page cache thus run side by side, as they did when the main thread hashed.
 *
 * Several large uploads at once share the worker's CPU for hashing as they used to share the
 * main thread's; small bodies never come here.
 *
 * The worker's code is a plain CommonJS string run with `eval` (as in service/audit-writer.ts):
 * it needs only node:fs and node:crypto, and runs the same from TypeScript sources and dist/.
 */
import { Worker } from "node:worker_threads";

const CODE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const bodies = new Map();
const answer = (rid, value) => parentPort.postMessage({ rid, value });
const refuse = (rid, err) =>
  parentPort.postMessage({ rid, error: { message: String(err && err.message), code: err && err.code } });
const busy = (body) => body.writing || body.flushing || body.queue.length > 0;
// Runs then() once nothing of this body is under way or queued.
const whenIdle = (body, then) => (busy(body) ? body.idle.push(then) : then());
function settle(body) {
  if (busy(body)) return;
  for (const then of body.idle.splice(0)) then();
}
function writeAll(body, chunks, done) {
  fs.writev(body.fd, chunks, (err, written) => {
    if (err) return done(err);
    body.written += written;
    // A short write (rare on a regular file): the rest goes in the next one.
    while (chunks.length > 0 && written >= chunks[0].length) written -= chunks.shift().length;
    if (chunks.length === 0) return done();
    chunks[0] = chunks[0].subarray(written);
    writeAll(body, chunks, done);
  });
}
function flushIfDue(body) {
  if (body.flushing || body.written - body.flushedAt < body.flushEvery) return;
  const mark = body.written;
  body.flushing = true;
  fs.fdatasync(body.fd, (err) => {
    body.flushing = false;
    if (err) body.failure = body.failure || err;
    else body.flushedAt = mark;
    settle(body);
  });
}
// Writes the queued batches one after another, on the thread pool, while the next is hashed.
function next(body) {
  if (body.writing) return;
  const job = body.queue.shift();
  if (job === undefined) return settle(body);
  if (body.failure) return refuse(job.rid, body.failure), next(body);
  body.writing = true;
  writeAll(body, job.chunks, (err) => {
    body.writing = false;
    if (err) {
      body.failure = body.failure || err;
      refuse(job.rid, err);
    } else {
      answer(job.rid);
      flushIfDue(body);
    }
    next(body);
  });
}
parentPort.on("message", (message) => {
  const { id, rid, op } = message;
  if (op === "open") {
    const hash = createHash("sha256");
    const { fd, flushEvery } = message;
    const body = { fd, flushEvery, hash, written: 0, flushedAt: 0, queue: [], idle: [] };
    return bodies.set(id, body);
  }
  const body = bodies.get(id);
  if (body === undefined)
    return op === "abort" ? answer(rid) : refuse(rid, new Error("no such body in the spool worker"));
  if (op === "write") {
    if (body.failure) return refuse(rid, body.failure);
    for (const chunk of message.chunks) body.hash.update(chunk);
    body.queue.push({ rid, chunks: message.chunks });
    return next(body);
  }
  if (op === "abort") {
    const aborted = new Error("the body was refused");
    for (const job of body.queue.splice(0)) refuse(job.rid, aborted);
  }
  whenIdle(body, () => {
    bodies.delete(id);
    if (op === "abort") answer(rid);
    else if (body.failure) refuse(rid, body.failure);
    else answer(rid, body.hash.digest("base64"));
  });
});
`;

interface Reply {
  /** the request answered */
  rid: number;
  value?: string;
  error?: { message: string; code?: string };
}

interface Waiting {
  resolve(value: string | undefined): void;
  reject(err: Error): void;
}

/** The one worker, started on the first large body. */
class SpoolWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private nextRequest = 0;
  private readonly waiting = new Map<number, Waiting>();

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(CODE, { eval: true });
    // Alive only while a body waits on it (see ask()): an idle worker keeps nothing running.
    worker.unref();
    worker.on("message", ({ rid, value, error }: Reply) => {
      const waiting = this.waiting.get(rid);
      this.waiting.delete(rid);
      if (this.waiting.size === 0) worker.unref();
      if (error === undefined) waiting?.resolve(value);
      else waiting?.reject(Object.assign(new Error(error.message), { code: error.code }));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.waiting.values()) waiting.reject(err);
      this.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the spool worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Registers a body written to the open descriptor `fd`; answers its id. */
  open(fd: number, flushEvery: number): number {
    const id = this.nextId++;
    this.started().postMessage({ id, op: "open", fd, flushEvery });
    return id;
  }

  /** Sends one request about body `id` and waits for its answer (requests are taken in order). */
  ask(id: number, message: object, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    const worker = this.started();
    const rid = this.nextRequest++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(rid, { resolve, reject });
      worker.postMessage({ id, rid, ...message }, transfer);
    });
  }
}

let shared: SpoolWorker | undefined;

/** Whether `chunk` is the whole of an ArrayBuffer of its own, so that it can be transferred. */
const ownsItsMemory = (chunk: Buffer) =>
  chunk.byteOffset === 0 &&
  chunk.byteLength === chunk.buffer.byteLength &&
  chunk.buffer instanceof ArrayBuffer;

/**
 * A body hashed and written by the spool worker. `write` takes its chunks away: they are
 * transferred (left empty here) when each is a whole ArrayBuffer, copied otherwise, so only a
 * source whose chunks nobody else holds (an HTTP request's body) may be given to it.
 */
export class WorkerBody {
  /** two batches at a time: the worker hashes one while the thread pool writes the other */
  readonly depth = 2;
  private readonly id: number;
  private readonly worker: SpoolWorker;

  /**
   * `fd`: the open file, which must stay open until finish() or abort() has settled;
   * `flushEvery`: bytes written between two background flushes.
   */
  constructor(fd: number, flushEvery: number) {
    this.worker = shared ??= new SpoolWorker();
    this.id = this.worker.open(fd, flushEvery);
  }

  /** Hashes and writes `batch` after what came before; rejects on a file system error. */
  async write(batch: Buffer[]): Promise<void> {
    // A copy gets an ArrayBuffer of its own (Buffer.from could answer a slice of the pool).
    const chunks = batch.map((chunk) => (ownsItsMemory(chunk) ? chunk : new Uint8Array(chunk)));
    const transfer = [...new Set(chunks.map((chunk) => chunk.buffer as ArrayBuffer))];
    await this.worker.ask(this.id, { op: "write", chunks }, transfer);
  }

  /** Once the last flush is done: the body's base64 SHA-256; rejects if a flush failed. */
  async finish(): Promise<string> {
    return (await this.worker.ask(this.id, { op: "end" }))!;
  }

  /** Resolves once nothing of this body is under way in the worker (never rejects). */
  async abort(): Promise<void> {
    await this.worker.ask(this.id, { op: "abort" }).catch(() => {});
  }
}
