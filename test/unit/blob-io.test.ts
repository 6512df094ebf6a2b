/**
 * Issue 17: the embedded store's large-object I/O (store/spool.ts, store/blob-reader.ts).
 * Writes are batched and flushed as they go, memory stays bounded while the disk is slower
 * than the body, and every way a body can fail leaves a rejection; reads serve exact ranges
 * from kept descriptors, forget removed blobs, and reuse buffers only for a destination that
 * is done with a chunk once its write callback runs.
 */
import { createHash, randomBytes } from "node:crypto";
import { fstatSync } from "node:fs";
import { mkdtemp, open, readFile, rm, truncate, unlink, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BlobBody, OpenBlobs, READ_CHUNK } from "../../src/store/blob-reader.js";
import { FLUSH_EVERY, OFFLOAD_MIN, QUEUED_MAX, WRITE_BATCH, spool } from "../../src/store/spool.js";
import { WorkerBody } from "../../src/store/spool-worker.js";

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "signet-blob-io-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const fresh = () => join(dir, `f${files++}`);

/** The prototype of FileHandle, whose writev and datasync the spool calls. */
async function fileHandlePrototype(): Promise<{
  writev: (buffers: Buffer[]) => Promise<{ bytesWritten: number }>;
  datasync: () => Promise<void>;
}> {
  const handle = await open(join(dir, "probe"), "w");
  await handle.close();
  return Object.getPrototypeOf(handle);
}

/** A source of `count` chunks of `size` random bytes, made as they are asked for. */
function chunks(count: number, size: number): { source: Readable; whole: () => Buffer } {
  const made: Buffer[] = [];
  let n = 0;
  const source = new Readable({
    read() {
      if (n++ === count) return void this.push(null);
      const chunk = randomBytes(size);
      made.push(chunk);
      this.push(chunk);
    },
  });
  return { source, whole: () => Buffer.concat(made) };
}

describe("spool", () => {
  it("writes many small chunks in few large writes, flushing as it goes, bytes exact", async () => {
    const proto = await fileHandlePrototype();
    const writev = vi.spyOn(proto, "writev");
    const datasync = vi.spyOn(proto, "datasync");
    // 40 MiB in 16 KiB chunks, as a socket hands them over: 2,560 chunks.
    const { source, whole } = chunks(2560, 16 * 1024);
    const path = fresh();
    await spool(source, path, () => {});
    expect((await readFile(path)).equals(whole())).toBe(true);
    // One write per chunk would be 2,560; batches of at least 1 MiB are at most 41.
    expect(writev.mock.calls.length).toBeGreaterThan(0);
    expect(writev.mock.calls.length).toBeLessThanOrEqual(Math.ceil((40 * 2 ** 20) / WRITE_BATCH));
    // A flush started while the body was still arriving, not only the final fsync.
    expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(
      Math.floor((40 * 2 ** 20) / FLUSH_EVERY),
    );
  });

  it("pauses the source while the disk is behind: memory stays bounded", async () => {
    const proto = await fileHandlePrototype();
    const real = proto.writev;
    let taken = 0;
    let written = 0;
    let mostHeld = 0;
    vi.spyOn(proto, "writev").mockImplementation(async function (this: unknown, buffers) {
      // A slow disk: each write takes 20 ms.
      await new Promise((r) => setTimeout(r, 20));
      const result = await real.call(this, buffers);
      written += result.bytesWritten;
      return result;
    });
    const { source } = chunks(1024, 32 * 1024); // 32 MiB, produced as fast as it is read
    await spool(source, fresh(), (chunk) => {
      taken += chunk.length;
      mostHeld = Math.max(mostHeld, taken - written);
    });
    expect(written).toBe(32 * 2 ** 20);
    // One batch being written and at most QUEUED_MAX (plus the chunk that crossed it) waiting.
    expect(mostHeld).toBeLessThanOrEqual(2 * (QUEUED_MAX + 32 * 1024));
  });

  it("a refusal from inspect rejects with it, stops reading and leaves the source open", async () => {
    const { source } = chunks(100, 1024);
    let seen = 0;
    const refusal = new Error("too large");
    await expect(
      spool(source, fresh(), () => {
        if (++seen === 3) throw refusal;
      }),
    ).rejects.toBe(refusal);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toBe(3);
    expect(source.destroyed).toBe(false);
    expect(source.isPaused()).toBe(true);
    source.destroy();
  });

  it("rejects on a source error, an early close, or a source already gone", async () => {
    const failing = new Readable({ read() {} });
    const failed = spool(failing, fresh(), () => {});
    failing.push(Buffer.from("some"));
    setTimeout(() => failing.destroy(new Error("reset")), 10);
    await expect(failed).rejects.toThrow("reset");

    const cut = new Readable({ read() {} });
    const closed = spool(cut, fresh(), () => {});
    setTimeout(() => cut.destroy(), 10);
    await expect(closed).rejects.toThrow("ended before it was complete");

    // A client that hung up while the file was being opened.
    const gone = new Readable({ read() {} });
    gone.destroy();
    await expect(spool(gone, fresh(), () => {})).rejects.toThrow("ended before it was complete");
  });

  it("refuses to write over an existing file", async () => {
    const path = fresh();
    await writeFile(path, "kept");
    await expect(spool(Readable.from([Buffer.from("x")]), path, () => {})).rejects.toMatchObject({
      code: "EEXIST",
    });
    expect(await readFile(path, "utf8")).toBe("kept");
  });
});

/**
 * Spools one HTTP request's body (declared length, sent in `piece`-byte writes; the client hangs
 * up after `hangUpAfter` bytes when given) and answers how the spool settled.
 */
async function spoolRequest(
  bytes: Buffer,
  path: string,
  options: { inspect?: (chunk: Buffer) => void; hangUpAfter?: number } = {},
): Promise<{ sha256?: string; error?: Error }> {
  let settle!: (outcome: { sha256?: string; error?: Error }) => void;
  const settled = new Promise<{ sha256?: string; error?: Error }>((r) => (settle = r));
  const server = createServer((req, res) => {
    const expectedBytes = Number(req.headers["content-length"]);
    spool(req, path, options.inspect ?? (() => {}), { expectedBytes }).then(
      (sha256) => settle({ sha256 }),
      (error: Error) => settle({ error }),
    );
    req.on("end", () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const req = request({ port, host: "127.0.0.1", method: "PUT", agent: false });
  req.setHeader("content-length", bytes.length);
  req.on("error", () => {});
  req.on("response", (res) => res.resume());
  const end = options.hangUpAfter ?? bytes.length;
  const piece = 256 * 1024;
  for (let at = 0; at < end; at += piece) req.write(bytes.subarray(at, Math.min(at + piece, end)));
  if (options.hangUpAfter === undefined) req.end();
  else setTimeout(() => req.destroy(), 50);
  try {
    return await settled;
  } finally {
    server.close();
  }
}

const sha256Of = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64");

describe("spool, a large request body (off the main thread)", () => {
  it("is hashed and written by the worker, not this thread: bytes and SHA-256 exact", async () => {
    const proto = await fileHandlePrototype();
    const writev = vi.spyOn(proto, "writev");
    const bytes = randomBytes(3 * OFFLOAD_MIN + 12345);
    const path = fresh();
    const seen: number[] = [];
    const { sha256, error } = await spoolRequest(bytes, path, {
      inspect: (chunk) => seen.push(chunk.length),
    });
    expect(error).toBeUndefined();
    expect(sha256).toBe(sha256Of(bytes));
    expect((await readFile(path)).equals(bytes)).toBe(true);
    // inspect still saw every chunk first; no write ran on this thread's pool.
    expect(seen.reduce((a, b) => a + b, 0)).toBe(bytes.length);
    expect(writev).not.toHaveBeenCalled();
  });

  it("a body below OFFLOAD_MIN is hashed and written here, as before", async () => {
    const proto = await fileHandlePrototype();
    const writev = vi.spyOn(proto, "writev");
    const bytes = randomBytes(OFFLOAD_MIN - 1);
    const { sha256 } = await spoolRequest(bytes, fresh());
    expect(sha256).toBe(sha256Of(bytes));
    expect(writev).toHaveBeenCalled();
  });

  it("a refusal from inspect in the middle rejects with it; the file can then be removed", async () => {
    const bytes = randomBytes(4 * OFFLOAD_MIN);
    const path = fresh();
    let taken = 0;
    const refusal = new Error("too large");
    const { error } = await spoolRequest(bytes, path, {
      inspect: (chunk) => {
        taken += chunk.length;
        if (taken > 2 * OFFLOAD_MIN) throw refusal;
      },
    });
    expect(error).toBe(refusal);
    await rm(path);
  });

  it("a client that hangs up midway: rejected as incomplete", async () => {
    const bytes = randomBytes(4 * OFFLOAD_MIN);
    const { error } = await spoolRequest(bytes, fresh(), { hangUpAfter: 2 * OFFLOAD_MIN });
    expect(error?.message).toMatch(/ended before it was complete|aborted/);
  });

  it("a file system error in the worker rejects with its code (a full disk answers 507)", async () => {
    const path = fresh();
    await writeFile(path, "");
    const readOnly = await open(path, "r");
    try {
      const body = new WorkerBody(readOnly.fd, FLUSH_EVERY);
      await expect(body.write([randomBytes(1024)])).rejects.toMatchObject({ code: "EBADF" });
      await expect(body.finish()).rejects.toMatchObject({ code: "EBADF" });
      await body.abort();
    } finally {
      await readOnly.close();
    }
  });
});

/** Whether `fd` is still an open descriptor of this process. */
const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

/** Descriptors close on the thread pool: wait (bounded) until `fd` is closed. */
const closed = (fd: number) => vi.waitFor(() => expect(isOpen(fd)).toBe(false), { timeout: 2000 });

async function blobFile(bytes: Buffer): Promise<{ id: string; path: string }> {
  const id = randomBytes(16).toString("hex");
  const path = join(dir, id);
  await writeFile(path, bytes);
  return { id, path };
}

async function collect(stream: Readable): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return out;
}

describe("open blob files", () => {
  it("keeps at most its bound open, closing the least recently used once no read uses it", async () => {
    const open = new OpenBlobs(2);
    const blobs = await Promise.all([1, 2, 3].map(() => blobFile(randomBytes(10))));
    const readers = [];
    for (const b of blobs) readers.push(await open.acquire(b.id, b.path));
    expect(open.size).toBe(2);
    // The first was evicted but is still being read: its descriptor stays open until released.
    expect(isOpen(readers[0]!.fd)).toBe(true);
    readers[0]!.release();
    await closed(readers[0]!.fd);
    // A kept one is shared: acquiring it again opens nothing new.
    const again = await open.acquire(blobs[2]!.id, blobs[2]!.path);
    expect(again.fd).toBe(readers[2]!.fd);
    again.release();
    for (const r of readers.slice(1)) r.release();
    expect(isOpen(readers[2]!.fd)).toBe(true);
    open.clear();
    await closed(readers[2]!.fd);
  });

  it("a forgotten blob is opened anew: a removed blob is never served from a kept descriptor", async () => {
    const open = new OpenBlobs(8);
    const b = await blobFile(Buffer.from("old bytes"));
    const first = await open.acquire(b.id, b.path);
    first.release();
    await unlink(b.path);
    open.forget(b.id);
    await expect(open.acquire(b.id, b.path)).rejects.toMatchObject({ code: "ENOENT" });
    await closed(first.fd);
  });

  it("an open that raced a removal is not kept", async () => {
    const open = new OpenBlobs(8);
    const b = await blobFile(Buffer.from("bytes"));
    const opening = open.acquire(b.id, b.path);
    open.forget(b.id);
    const reader = await opening;
    expect(open.size).toBe(0);
    reader.release();
    await closed(reader.fd);
  });

  it("with a bound of 0 each read has its own descriptor, closed when it ends", async () => {
    const open = new OpenBlobs(0);
    const b = await blobFile(randomBytes(100));
    const reader = await open.acquire(b.id, b.path);
    expect(open.size).toBe(0);
    const body = new BlobBody(reader, { start: 0, end: 99 });
    await collect(body);
    await closed(reader.fd);
  });
});

describe("blob bodies", () => {
  const size = 3 * READ_CHUNK + 12_345;
  let bytes: Buffer;
  let b: { id: string; path: string };
  const open = new OpenBlobs(4);
  beforeAll(async () => {
    bytes = randomBytes(size);
    b = await blobFile(bytes);
  });
  afterAll(() => open.clear());

  const body = async (start: number, end: number) =>
    new BlobBody(await open.acquire(b.id, b.path), { start, end });

  it.each([
    ["whole", 0, size - 1],
    ["across chunk boundaries", READ_CHUNK - 5, 2 * READ_CHUNK + 5],
    ["one byte", 12, 12],
    ["the last byte", size - 1, size - 1],
  ])("as a plain Readable: the exact range (%s), each chunk its own buffer", async (_, s, e) => {
    const out = await collect(await body(s, e));
    // Had a buffer been reused, an earlier chunk would now hold later bytes.
    expect(Buffer.concat(out).equals(bytes.subarray(s, e + 1))).toBe(true);
    expect(new Set(out.map((c) => c.buffer)).size).toBe(out.length);
  });

  it("sent to a destination it vouches for: exact bytes through two reused buffers", async () => {
    const got: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        seen.add(chunk.buffer);
        got.push(Buffer.from(chunk));
        // Done with the chunk a little later, as a socket is.
        setTimeout(done, 1);
      },
    });
    const source = (await body(0, size - 1)).sendTo(destination);
    source.pipe(destination);
    await new Promise((r) => destination.on("finish", r));
    expect(Buffer.concat(got).equals(bytes)).toBe(true);
    expect(seen.size).toBeLessThanOrEqual(2);
    await finished(source);
    expect(source.readableEnded).toBe(true);
  });

  it("a later download reuses an earlier one's buffers once it is done: no allocation", async () => {
    const download = async (start: number, end: number) => {
      const got: Buffer[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
          got.push(Buffer.from(chunk));
          setTimeout(done, 1);
        },
      });
      (await body(start, end)).sendTo(destination).pipe(destination);
      await new Promise((r) => destination.on("finish", r));
      return Buffer.concat(got);
    };
    expect((await download(0, size - 1)).equals(bytes)).toBe(true);
    const allocate = vi.spyOn(Buffer, "allocUnsafeSlow");
    try {
      // Each download's bytes exact: a buffer handed back while still in use would show here.
      expect((await download(5, size - 1)).equals(bytes.subarray(5))).toBe(true);
      expect((await download(0, READ_CHUNK)).equals(bytes.subarray(0, READ_CHUNK + 1))).toBe(true);
      expect(allocate).not.toHaveBeenCalled();
    } finally {
      allocate.mockRestore();
    }
  });

  it("piped anywhere else (a stream that keeps chunks): fresh buffers, exact bytes", async () => {
    const through = new PassThrough({ highWaterMark: 64 * 1024 * 1024 });
    const source = (await body(0, size - 1)).sendTo(new PassThrough());
    source.pipe(through);
    await new Promise((r) => source.on("end", r));
    // Everything is buffered in `through` by now: reused buffers would show as wrong bytes.
    through.end();
    expect(Buffer.concat(await collect(through)).equals(bytes)).toBe(true);
  });

  it("a file shorter than its recorded size is an error, not a short answer", async () => {
    const short = await blobFile(randomBytes(1000));
    const reader = await new OpenBlobs(0).acquire(short.id, short.path);
    await truncate(short.path, 500);
    await expect(collect(new BlobBody(reader, { start: 0, end: 999 }))).rejects.toThrow(
      "shorter than its recorded size",
    );
    await closed(reader.fd);
  });

  it("destroyed midway (a client gone), it releases its descriptor", async () => {
    const reader = await new OpenBlobs(0).acquire(b.id, b.path);
    const source = new BlobBody(reader, { start: 0, end: size - 1 });
    const destination = new Writable({
      write(_chunk, _enc, done) {
        destination.destroy();
        done();
      },
    });
    source.sendTo(destination).pipe(destination);
    await finished(source).catch(() => undefined);
    // Released once the read under way (if any) has come back.
    await closed(reader.fd);
  });
});
