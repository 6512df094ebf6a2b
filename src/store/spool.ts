/**
 * Streams a body into a new file, hashing it (SHA-256), and returns once its bytes are on disk
 * (fsynced). Built for large bodies at line rate:
 *
 * - chunks are gathered and written with one `writev` of at least `WRITE_BATCH` bytes (a
 *   socket hands over 16-64 KiB at a time: one thread-pool write per chunk costs more than the
 *   copy), never copied into another buffer;
 * - while a write is under way the next batch gathers; past `QUEUED_MAX` bytes waiting, the
 *   source is paused until the disk catches up, so one body holds at most about
 *   `2 * QUEUED_MAX` bytes of memory (4 MiB; 6 MiB on the worker, which has two batches under
 *   way) whatever the client's pace: the order of what the kernel itself may buffer for one
 *   connection (`tcp_rmem`, 6 MiB by default);
 * - every `FLUSH_EVERY` bytes a `fdatasync` starts in the background (one at a time), so the
 *   disk writes while the rest arrives and the final `fsync` only waits for the tail (the
 *   kernel's own writeback would start only at `dirty_background_ratio`, gigabytes later);
 * - an HTTP request's body of at least `OFFLOAD_MIN` declared bytes is hashed on a worker
 *   thread (spool-worker.ts), its chunks handed over without a copy, so that the thread
 *   answering requests only receives it; other bodies are hashed on this thread.
 *
 * The caller owns the source: on a refusal or an error it is paused and left as it is (an HTTP
 * request then gets its answer and the connection closes), and the caller removes the file.
 */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { WorkerBody } from "./spool-worker.js";

/** the smallest write, bytes (the last one excepted) */
export const WRITE_BATCH = 1024 * 1024;
/** bytes waiting to be written past which the source is paused */
export const QUEUED_MAX = 2 * 1024 * 1024;
/** bytes written between two background flushes */
export const FLUSH_EVERY = 32 * 1024 * 1024;
/** the smallest declared length of a request body that the spool worker takes */
export const OFFLOAD_MIN = WRITE_BATCH;

export interface SpoolOptions {
  /** the body's declared length (Content-Length), when it has one */
  expectedBytes?: number;
}

/**
 * Writes every chunk of `source` to a new file at `path` (refused if it exists), fsyncs it and
 * answers the base64 SHA-256 of its bytes. `inspect` sees each chunk first, in order (to count,
 * enforce limits); what it throws refuses the body: nothing more is read and the promise
 * rejects with it. Rejects likewise on a source error, a source closed before its end, or a
 * file system error (ENOSPC…). A request's chunks may be taken (left empty) once inspected.
 */
export async function spool(
  source: Readable,
  path: string,
  inspect: (chunk: Buffer) => void,
  options: SpoolOptions = {},
): Promise<string> {
  const file = await open(path, "wx");
  try {
    // Only a request's body chunks are the parser's fresh copies, held by nobody else.
    const offloaded =
      source instanceof IncomingMessage && (options.expectedBytes ?? 0) >= OFFLOAD_MIN;
    const sink = offloaded ? new WorkerBody(file.fd, FLUSH_EVERY) : new LocalBody(file);
    const sha256 = await new Spool(source, sink, inspect).done;
    await file.sync();
    return sha256;
  } finally {
    await file.close();
  }
}

/** Where a body's batches go, in order: hashed and written after what came before. */
interface BodySink {
  /** how many writes may be under way at once */
  readonly depth: number;
  /** rejects on a file system error */
  write(batch: Buffer[]): Promise<void>;
  /** once every write has resolved: the base64 SHA-256, after any flush under way */
  finish(): Promise<string>;
  /** resolves (never rejects) once nothing of the body is under way: the file may be closed */
  abort(): Promise<void>;
}

/** A body hashed and written from this thread (writes and flushes on the thread pool). */
class LocalBody implements BodySink {
  readonly depth = 1;
  readonly #hash = createHash("sha256");
  #written = 0;
  #flushedAt = 0;
  #flushing: Promise<void> | undefined;
  #flushFailure: unknown = undefined;

  constructor(private readonly file: FileHandle) {}

  async write(batch: Buffer[]): Promise<void> {
    if (this.#flushFailure !== undefined) throw this.#flushFailure;
    for (const chunk of batch) this.#hash.update(chunk);
    let rest = batch;
    let left = batch.reduce((sum, chunk) => sum + chunk.length, 0);
    for (;;) {
      const { bytesWritten } = await this.file.writev(rest);
      this.#written += bytesWritten;
      if (bytesWritten >= left) break;
      // A short write (rare on a regular file): the rest goes in the next one.
      rest = [Buffer.concat(rest).subarray(bytesWritten)];
      left -= bytesWritten;
    }
    if (this.#flushing === undefined && this.#written - this.#flushedAt >= FLUSH_EVERY)
      this.#flush();
  }

  #flush(): void {
    const mark = this.#written;
    this.#flushing = this.file.datasync().then(
      () => {
        this.#flushedAt = mark;
        this.#flushing = undefined;
      },
      (err: unknown) => {
        this.#flushFailure = err;
        this.#flushing = undefined;
      },
    );
  }

  async finish(): Promise<string> {
    await this.#flushing;
    if (this.#flushFailure !== undefined) throw this.#flushFailure;
    return this.#hash.digest("base64");
  }

  async abort(): Promise<void> {
    await this.#flushing;
  }
}

const prematureEnd = () => new Error("the body ended before it was complete");

/** Reads a body into batches for its sink, pausing the source while the sink is behind. */
class Spool {
  readonly done: Promise<string>;
  #resolve!: (sha256: string) => void;
  #reject!: (err: unknown) => void;
  #queue: Buffer[] = [];
  #queued = 0;
  /** writes under way */
  #writes = 0;
  #ended = false;
  #finishing = false;
  #failure: unknown = undefined;

  constructor(
    private readonly source: Readable,
    private readonly sink: BodySink,
    private readonly inspect: (chunk: Buffer) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    source.on("data", this.#onData);
    source.on("end", this.#onEnd);
    source.on("error", this.#fail);
    source.on("close", this.#onClose);
    if (source.readableEnded) this.#onEnd();
    // Hung up while the file was being opened: its events have already gone by.
    else if (source.destroyed) this.#fail(source.errored ?? prematureEnd());
    // A source paused before it came here flows only when asked to.
    else source.resume();
  }

  #onData = (chunk: Buffer | string) => {
    if (this.#failure !== undefined) return;
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    try {
      this.inspect(bytes);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued >= QUEUED_MAX) this.source.pause();
    this.#pump();
  };

  #onEnd = () => {
    this.#ended = true;
    this.#pump();
  };

  #onClose = () => {
    if (!this.#ended) this.#fail(prematureEnd());
  };

  /** Refuses the body: reads no more, and rejects once the sink has nothing under way. */
  #fail = (err: unknown) => {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#detach();
    this.source.pause();
    this.#queue = [];
    this.#queued = 0;
    if (this.#writes === 0) this.#abort();
  };

  #abort(): void {
    void this.sink.abort().then(() => this.#reject(this.#failure));
  }

  #detach(): void {
    this.source.off("data", this.#onData);
    this.source.off("end", this.#onEnd);
    this.source.off("close", this.#onClose);
    // Kept: an error the source raises later must not be an uncaught one.
    this.source.on("error", () => {});
    this.source.off("error", this.#fail);
  }

  /** Starts the next write when one is due, or the finish once everything is written. */
  #pump(): void {
    if (this.#failure !== undefined || this.#finishing || this.#writes >= this.sink.depth) return;
    if (this.#queued >= WRITE_BATCH || (this.#ended && this.#queued > 0)) this.#write();
    else if (this.#ended && this.#writes === 0) this.#finish();
  }

  #write(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    this.#writes++;
    if (this.source.isPaused() && !this.#ended) this.source.resume();
    this.sink.write(batch).then(
      () => {
        this.#writes--;
        if (this.#failure === undefined) this.#pump();
        else if (this.#writes === 0) this.#abort();
      },
      (err: unknown) => {
        this.#writes--;
        if (this.#failure === undefined) this.#fail(err);
        else if (this.#writes === 0) this.#abort();
      },
    );
  }

  #finish(): void {
    this.#finishing = true;
    this.#detach();
    this.sink.finish().then(this.#resolve, (err: unknown) => {
      this.#finishing = false;
      this.#fail(err);
    });
  }
}
