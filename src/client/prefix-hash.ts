/**
 * The sha256 of a file, and of one being written out of order, computed off the event loop's
 * thread. A download writes its parts as they arrive; whenever the parts at the front are done,
 * the owner calls `advance(end)` and a worker thread reads [hashed so far, end) back (from the
 * page cache) and hashes it, so by the time the last part lands only that part is left to hash,
 * and the hashing (about a third of a download's CPU on loopback, BENCHMARKS.md) runs on the
 * other core instead of between socket reads. Starting a thread costs about 30-50 ms, more than
 * hashing a few MiB: a small file is hashed at the end, on this thread.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Worker } from "node:worker_threads";

// Plain CommonJS run by `eval`, so that the same code runs from src/ (tsx) and from dist/.
// Messages: a byte offset to hash up to, in order, then "digest"; it answers with the base64
// digest. Its reads are synchronous: this thread has nothing else to do meanwhile.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const hash = require("node:crypto").createHash("sha256");
const fd = openSync(workerData.file, "r");
const buffer = Buffer.allocUnsafe(workerData.readSize);
let at = 0;
parentPort.on("message", (end) => {
  if (end === "digest") {
    closeSync(fd);
    parentPort.postMessage(hash.digest("base64"));
    parentPort.close();
    return;
  }
  while (at < end) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
    if (n === 0) throw new Error("the partial file is shorter than its parts");
    hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
    at += n;
  }
});
`;

/** Bytes per read of the worker (one buffer, reused). */
const READ_SIZE = 1024 * 1024;

/** A sha256 over a growing prefix of a file, computed by a worker thread. */
export interface PrefixHash {
  /** Hashes the file up to byte `end` (exclusive), after what was asked before. */
  advance(end: number): void;
  /**
   * The base64 sha256 of every byte advanced over, once the worker has read them. Rejects when
   * the worker failed (the file could not be read, or was shorter than an `end`).
   */
  digest(): Promise<string>;
  /** Ends the worker without a digest (a download that failed). */
  stop(): Promise<void>;
}

/** Files from this size on are hashed by a worker thread as they grow. */
export const WORKER_FROM = 16 * 1024 * 1024;

/**
 * A hash of `file` (which must exist) from its first byte, for a file of `size` bytes when done:
 * by a worker thread as it grows, or at the end for a file under WORKER_FROM.
 */
export function prefixHash(file: string, size: number): PrefixHash {
  if (size < WORKER_FROM) {
    let end = 0;
    return {
      advance: (at) => void (end = at),
      digest: () => sha256Of(file, end),
      stop: async () => undefined,
    };
  }
  const worker = new Worker(WORKER, { eval: true, workerData: { file, readSize: READ_SIZE } });
  // Settled by the digest, or by the worker's error or exit, whichever comes first.
  const result = new Promise<string>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", () => reject(new Error("the hashing thread ended without a digest")));
  });
  // A failure is reported by digest(); until it is asked for, it must not be unhandled.
  result.catch(() => undefined);
  return {
    advance: (end) => worker.postMessage(end),
    digest: () => {
      worker.postMessage("digest");
      return result;
    },
    stop: async () => {
      await worker.terminate();
    },
  };
}

const HASH_READ_SIZE = 256 * 1024;

/** sha256 (base64) of a file, or of its first `length` bytes, read as a stream in 256 KiB reads. */
export async function sha256Of(file: string, length?: number): Promise<string> {
  const hash = createHash("sha256");
  if (length !== 0)
    for await (const chunk of createReadStream(file, {
      highWaterMark: HASH_READ_SIZE,
      end: length === undefined ? undefined : length - 1,
    }))
      hash.update(chunk as Buffer);
  return hash.digest("base64");
}
