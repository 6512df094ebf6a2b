/**
 * Hashing and writing a large body off the thread that answers requests. A 1 GiB PUT costs
 * the main thread about 0.7 s of SHA-256 on top of receiving it: with both done there, the
 * main thread alone was the PUT's bottleneck. One worker thread, started on the first large
 * body, takes each batch of chunks by transfer (no copy), hashes it and writes it with one
 * `writev` to the body's descriptor (opened, fsynced and closed by the main thread), and
 * starts a background `fdatasync` every `FLUSH_EVERY` bytes, as the main-thread path does.
 *
 * Bodies are handled one message at a time, in order: several large uploads at once share the
 * worker's CPU as they used to share the main thread's, and small bodies never come here.
 *
 * The worker's code is a plain CommonJS string run with `eval` (as in service/audit-writer.ts):
 * it needs only node:fs and node:crypto, and runs the same from TypeScript sources and dist/.
 */
import { Worker } from "node:worker_threads";

const CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const bodies = new Map();
const answer = (id, value) => parentPort.postMessage({ id, value });
const refuse = (id, err) =>
  parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
// Runs then() once no flush of this body is under way.
const afterFlush = (body, then) => (body.flushing ? (body.then = then) : then());
function write(body, chunks) {
  for (const chunk of chunks) body.hash.update(chunk);
  let rest = chunks;
  while (rest.length > 0) {
    let done = fs.writevSync(body.fd, rest);
    body.written += done;
    // A short write (rare on a regular file): the rest goes in the next one.
    while (rest.length > 0 && done >= rest[0].length) done -= rest.shift().length;
    if (done > 0) rest[0] = rest[0].subarray(done);
  }
  if (body.flushing || body.written - body.flushedAt < workerData.flushEvery) return;
  const mark = body.written;
  body.flushing = true;
  fs.fdatasync(body.fd, (err) => {
    body.flushing = false;
    if (err) body.failure = body.failure || err;
    else body.flushedAt = mark;
    const then = body.then;
    body.then = undefined;
    if (then) then();
  });
}
parentPort.on("message", (message) => {
  const { id, op } = message;
  if (op === "open") {
    const hash = createHash("sha256");
    bodies.set(id, { fd: message.fd, hash, written: 0, flushedAt: 0, flushing: false });
    return;
  }
  const body = bodies.get(id);
  if (op === "abort")
    return body ? afterFlush(body, () => (bodies.delete(id), answer(id))) : answer(id);
  if (body === undefined) return refuse(id, new Error("no such body in the spool worker"));
  if (op === "end")
    return afterFlush(body, () => {
      bodies.delete(id);
      if (body.failure) refuse(id, body.failure);
      else answer(id, body.hash.digest("base64"));
    });
  try {
    if (body.failure) throw body.failure;
    write(body, message.chunks);
    answer(id);
  } catch (err) {
    body.failure = body.failure || err;
    refuse(id, err);
  }
});
`;

interface Reply {
  id: number;
  value?: string;
  error?: { message: string; code?: string };
}

interface Waiting {
  resolve(value: string | undefined): void;
  reject(err: Error): void;
}

/** The one worker, started on the first large body; each body has one request at a time. */
class SpoolWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly flushEvery: number) {}

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(CODE, { eval: true, workerData: { flushEvery: this.flushEvery } });
    // Alive only while a body waits on it (see ask()): an idle worker keeps nothing running.
    worker.unref();
    worker.on("message", ({ id, value, error }: Reply) => {
      const waiting = this.waiting.get(id);
      this.waiting.delete(id);
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
  open(fd: number): number {
    const id = this.nextId++;
    this.started().postMessage({ id, op: "open", fd });
    return id;
  }

  /** Sends one request about body `id` and waits for its answer. */
  ask(id: number, message: object, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    const worker = this.started();
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...message }, transfer);
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
  private readonly id: number;
  private readonly worker: SpoolWorker;

  /** `fd`: the open file, which must stay open until finish() or abort() has settled. */
  constructor(fd: number, flushEvery: number) {
    this.worker = shared ??= new SpoolWorker(flushEvery);
    this.id = this.worker.open(fd);
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
