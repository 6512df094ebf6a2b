/**
 * Streams a body into a new file and returns once its bytes are on disk (fsynced). Built for
 * large bodies at line rate:
 *
 * - chunks are gathered and written with one `writev` of at least `WRITE_BATCH` bytes (a
 *   socket hands over 16-64 KiB at a time: one thread-pool write per chunk costs more than the
 *   copy), never copied into another buffer;
 * - while a write is under way the next batch gathers; past `QUEUED_MAX` bytes waiting, the
 *   source is paused until the disk catches up, so one body holds at most about
 *   `2 * QUEUED_MAX` bytes of memory (4 MiB) whatever the client's pace: the order of what the
 *   kernel itself may buffer for one connection (`tcp_rmem`, 6 MiB by default);
 * - every `FLUSH_EVERY` bytes a `fdatasync` starts in the background (one at a time), so the
 *   disk writes while the rest arrives and the final `fsync` only waits for the tail (the
 *   kernel's own writeback would start only at `dirty_background_ratio`, gigabytes later).
 *
 * The caller owns the source: on a refusal or an error it is paused and left as it is (an HTTP
 * request then gets its answer and the connection closes), and the caller removes the file.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { Readable } from "node:stream";

/** the smallest write, bytes (the last one excepted) */
export const WRITE_BATCH = 1024 * 1024;
/** bytes waiting to be written past which the source is paused */
export const QUEUED_MAX = 2 * 1024 * 1024;
/** bytes written between two background flushes */
export const FLUSH_EVERY = 32 * 1024 * 1024;

/**
 * Writes every chunk of `source` to a new file at `path` (refused if it exists) and fsyncs it.
 * `inspect` sees each chunk first, in order (to count, hash, enforce limits); what it throws
 * refuses the body: nothing more is read and the promise rejects with it. Rejects likewise on a
 * source error, a source closed before its end, or a file system error (ENOSPC…).
 */
export async function spool(
  source: Readable,
  path: string,
  inspect: (chunk: Buffer) => void,
): Promise<void> {
  const file = await open(path, "wx");
  try {
    await new Spool(source, file, inspect).done;
    await file.sync();
  } finally {
    await file.close();
  }
}

const prematureEnd = () => new Error("the body ended before it was complete");

class Spool {
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;
  #queue: Buffer[] = [];
  #queued = 0;
  #written = 0;
  #flushedAt = 0;
  #writing = false;
  #flushing = false;
  #ended = false;
  #failure: unknown = undefined;
  #settled = false;

  constructor(
    private readonly source: Readable,
    private readonly file: FileHandle,
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

  #fail = (err: unknown) => {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#detach();
    this.source.pause();
    this.#queue = [];
    this.#queued = 0;
    this.#settle();
  };

  #detach(): void {
    this.source.off("data", this.#onData);
    this.source.off("end", this.#onEnd);
    this.source.off("close", this.#onClose);
    // Kept: an error the source raises later must not be an uncaught one.
    this.source.on("error", () => {});
    this.source.off("error", this.#fail);
  }

  /** Starts the next write or flush when one is due; settles once everything is done. */
  #pump(): void {
    if (this.#failure !== undefined) return;
    if (!this.#writing && (this.#queued >= WRITE_BATCH || (this.#ended && this.#queued > 0)))
      this.#write();
    if (!this.#flushing && this.#written - this.#flushedAt >= FLUSH_EVERY) this.#flush();
    if (this.#ended) this.#settle();
  }

  #write(): void {
    const batch = this.#queue;
    const bytes = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    this.#writing = true;
    if (this.source.isPaused() && !this.#ended) this.source.resume();
    this.file.writev(batch).then(({ bytesWritten }) => {
      this.#writing = false;
      this.#written += bytesWritten;
      // A short write (rare on a regular file): the rest goes first in the next one.
      if (bytesWritten < bytes && this.#failure === undefined) {
        const rest = Buffer.concat(batch).subarray(bytesWritten);
        this.#queue.unshift(rest);
        this.#queued += rest.length;
      }
      if (this.#failure !== undefined) this.#settle();
      else this.#pump();
    }, this.#afterIoError("write"));
  }

  #flush(): void {
    const mark = this.#written;
    this.#flushing = true;
    this.file.datasync().then(() => {
      this.#flushing = false;
      this.#flushedAt = mark;
      if (this.#failure !== undefined) this.#settle();
      else this.#pump();
    }, this.#afterIoError("flush"));
  }

  #afterIoError(which: "write" | "flush") {
    return (err: unknown) => {
      if (which === "write") this.#writing = false;
      else this.#flushing = false;
      this.#fail(err);
      this.#settle();
    };
  }

  /** Resolves or rejects once no write or flush is under way (the file may then be closed). */
  #settle(): void {
    if (this.#settled || this.#writing || this.#flushing) return;
    if (this.#failure !== undefined) {
      this.#settled = true;
      this.#reject(this.#failure);
    } else if (this.#ended && this.#queued === 0) {
      this.#settled = true;
      this.#detach();
      this.#resolve();
    }
  }
}
