/**
 * The read side of blob files, built for large objects at line rate:
 *
 * - `OpenBlobs` keeps blob files open, at most `max` of them (least recently used closed
 *   first): a blob id's bytes never change once written (a write makes a new blob), so one
 *   descriptor serves every read of it, by position, and a GET costs no `open`/`close`. A blob
 *   removed through the store is forgotten at once (its descriptor closes once no read uses it).
 * - `BlobBody` reads a byte range in `READ_CHUNK` pieces by position. As a plain Readable it
 *   hands each consumer fresh buffers; piped into a destination the caller vouches for with
 *   `sendTo` (an HTTP response: once its write callback runs the socket is done with the
 *   bytes), it reads into two reused buffers, one read ahead while the other is written, so a
 *   download holds at most `2 * READ_CHUNK` bytes and allocates nothing per chunk. Those buffers
 *   come from a small pool kept between downloads (`READ_BUFFERS`): allocating 2 MiB of external
 *   memory per request made V8 run full collections under ranged downloads (about 45% of the
 *   server's CPU serving a 32-part `signet get`).
 */
import { close, open, read } from "node:fs";
import { Readable, type Writable } from "node:stream";
import { LRUCache } from "lru-cache";

/** one read, bytes (of the range left, if less) */
export const READ_CHUNK = 1024 * 1024;

/**
 * READ_CHUNK buffers free for the next download, at most READ_BUFFERS_KEPT (16 MiB). A buffer
 * comes back only once no read or write uses it: after a write's callback without error.
 */
const freeBuffers: Buffer[] = [];
export const READ_BUFFERS_KEPT = 16;

/** A buffer for reads of up to `bytes`: a free one, else a new one of READ_CHUNK or less. */
const takeBuffer = (bytes: number): Buffer =>
  freeBuffers.pop() ?? Buffer.allocUnsafeSlow(Math.min(READ_CHUNK, bytes));

function giveBack(buffer: Buffer): void {
  // A small body's own buffer is not kept: the pool holds READ_CHUNK buffers only.
  if (buffer.length === READ_CHUNK && freeBuffers.length < READ_BUFFERS_KEPT)
    freeBuffers.push(buffer);
}

/** An open blob file, shared by the reads of its blob id. */
export interface OpenBlob {
  readonly fd: number;
  /** called once by each reader when it is done with `fd` */
  release(): void;
}

/** One descriptor; its first user is its owner (the cache, or none), who retires it. */
class Descriptor implements OpenBlob {
  #users = 1;
  #retired = false;

  constructor(readonly fd: number) {}

  use(): OpenBlob {
    this.#users++;
    return this;
  }

  release(): void {
    if (--this.#users === 0) close(this.fd, () => {});
  }

  /** The owner lets go: it closes once the last reader is done. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.release();
  }
}

/** Open blob files by blob id, at most `max` kept open when no read uses them (0: none). */
export class OpenBlobs {
  readonly #kept: LRUCache<string, Descriptor> | undefined;
  /** blobs forgotten so far: an open that raced a removal is not kept */
  #forgets = 0;

  constructor(max: number) {
    if (max > 0) this.#kept = new LRUCache({ max, dispose: (descriptor) => descriptor.retire() });
  }

  /** The open file of `blobId` at `path` for one reader, who must `release()` it. */
  async acquire(blobId: string, path: string): Promise<OpenBlob> {
    const kept = this.#kept?.get(blobId);
    if (kept !== undefined) return kept.use();
    const forgets = this.#forgets;
    const descriptor = await openForReading(path);
    const reader = descriptor.use();
    // Two reads that missed together each open; the first is kept, the other closes after use.
    if (this.#kept !== undefined && forgets === this.#forgets && !this.#kept.has(blobId))
      this.#kept.set(blobId, descriptor);
    else descriptor.retire();
    return reader;
  }

  /** The blob is gone: no new read gets its descriptor. */
  forget(blobId: string): void {
    this.#forgets++;
    this.#kept?.delete(blobId);
  }

  /** Closes every kept file (reads under way keep theirs until they end). */
  clear(): void {
    this.#kept?.clear();
  }

  /** files kept open */
  get size(): number {
    return this.#kept?.size ?? 0;
  }
}

function openForReading(path: string): Promise<Descriptor> {
  return new Promise((resolve, reject) =>
    open(path, "r", (err, fd) => (err ? reject(err) : resolve(new Descriptor(fd)))),
  );
}

const shortRead = () => new Error("the blob file is shorter than its recorded size");

/**
 * The bytes `start` to `end` (inclusive) of an open blob. It releases the file when it ends or
 * is destroyed.
 */
export class BlobBody extends Readable {
  #position: number;
  readonly #end: number;
  #file: OpenBlob | undefined;
  /** a read under way: the file is released only after it */
  #reading = false;
  #trusted: Writable | undefined;

  constructor(file: OpenBlob, range: { start: number; end: number }) {
    // One chunk read ahead of the consumer.
    super({ highWaterMark: READ_CHUNK });
    this.#file = file;
    this.#position = range.start;
    this.#end = range.end + 1;
  }

  /**
   * Vouches for `destination` (an HTTP response): once a write's callback has run it holds
   * nothing of the chunk, so when this body is piped into it, buffers are reused.
   */
  sendTo(destination: Writable): this {
    this.#trusted = destination;
    return this;
  }

  override _read(): void {
    const left = this.#end - this.#position;
    if (left <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafeSlow(Math.min(READ_CHUNK, left));
    this.#readInto(buffer, (chunk) => this.push(chunk));
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    const trusted = this.#trusted;
    if (trusted === undefined || (destination as unknown) !== trusted || options?.end === false)
      return super.pipe(destination, options);
    new ReusingPump(this, trusted, (buffer, then) => this.#readInto(buffer, then));
    return destination;
  }

  /** The pump is done: the stream ends as any Readable does. */
  finish(): void {
    this.push(null);
    this.resume();
  }

  /** The next piece of the range into `buffer` (at most its length); `then` gets the bytes. */
  #readInto(buffer: Buffer, then: (chunk: Buffer) => void): void {
    const file = this.#file;
    if (file === undefined) return;
    const length = Math.min(buffer.length, this.#end - this.#position);
    this.#reading = true;
    read(file.fd, buffer, 0, length, this.#position, (err, bytesRead) => {
      this.#reading = false;
      if (this.destroyed) {
        this.#release();
        return;
      }
      if (err) return void this.destroy(err);
      if (bytesRead === 0) return void this.destroy(shortRead());
      this.#position += bytesRead;
      then(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    });
  }

  /** bytes of the range not read yet */
  get remaining(): number {
    return this.#end - this.#position;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#reading) this.#release();
    callback(err);
  }

  #release(): void {
    this.#file?.release();
    this.#file = undefined;
  }
}

/**
 * Writes a body into a destination that is done with each chunk once its write callback runs,
 * through two buffers: one is read while the other is written.
 */
class ReusingPump {
  readonly #free: Buffer[] = [];
  #buffers = 0;
  #writes = 0;
  #reading = false;
  #ended = false;

  constructor(
    private readonly body: BlobBody,
    private readonly destination: Writable,
    private readonly readInto: (buffer: Buffer, then: (chunk: Buffer) => void) => void,
  ) {
    destination.once("close", () => body.destroy());
    this.#next();
  }

  #next(): void {
    if (this.#reading || this.#ended || this.body.destroyed) return this.#giveBackFree();
    if (this.body.remaining <= 0) {
      if (this.#writes === 0) {
        this.#ended = true;
        this.destination.end();
        this.body.finish();
        this.#giveBackFree();
      }
      return;
    }
    let buffer = this.#free.pop();
    if (buffer === undefined) {
      if (this.#buffers === 2) return;
      this.#buffers++;
      buffer = takeBuffer(this.body.remaining);
    }
    const reused = buffer;
    this.#reading = true;
    // A read that comes back after the body was destroyed keeps its buffer (never given back).
    this.readInto(reused, (chunk) => {
      this.#reading = false;
      this.#writes++;
      this.destination.write(chunk, (err) => {
        this.#writes--;
        // A failed write may not be done with the bytes: that buffer is left to the GC.
        if (err) return void this.body.destroy(err);
        this.#free.push(reused);
        this.#next();
      });
      this.#next();
    });
  }

  /** Once the body is done (ended or destroyed), its idle buffers serve the next download. */
  #giveBackFree(): void {
    if (!this.#ended && !this.body.destroyed) return;
    for (const buffer of this.#free.splice(0)) giveBack(buffer);
  }
}
