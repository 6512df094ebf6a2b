/**
 * Blob files of the embedded store. A blob is named by an internal random id, never by
 * its key: `blobs/ab/abcdef…`. Writes stream to `tmp/`, are fsynced, then renamed into
 * place, so a reader sees a whole blob or none; the caller writes the metadata row after.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { SignetError } from "../core/errors.js";
import { BlobBody, OpenBlobs } from "./blob-reader.js";
import { spool } from "./spool.js";

export interface WrittenBlob {
  blobId: string;
  size: number;
  /** base64 SHA-256 of the bytes */
  sha256: string;
}

export interface WriteLimits {
  /** refuse once more bytes than this arrive: 413, or the error `tooLarge` makes */
  maxBytes?: number;
  tooLarge?: () => Error;
  /** refuse unless exactly this many bytes arrive (a body that ends early stores nothing) */
  expectedBytes?: number;
  /** a last check of the whole body (length bounds, checksum) before it is kept */
  verify?: (written: { size: number; sha256: string }) => void;
}

const BLOB_ID = /^[0-9a-f]{32}$/;

/** The ETag of stored bytes: the first 128 bits of their SHA-256, quoted. */
export const etagOf = (sha256: string) =>
  `"${Buffer.from(sha256, "base64").toString("hex").slice(0, 32)}"`;

export class BlobFiles {
  readonly blobDir: string;
  readonly tmpDir: string;

  /** blob files kept open for reads */
  readonly openFiles: OpenBlobs;

  /** `openFiles`: how many blob files are kept open between reads (0: each read opens its own). */
  constructor(dataDir: string, openFiles = 0) {
    this.blobDir = join(dataDir, "blobs");
    this.tmpDir = join(dataDir, "tmp");
    this.openFiles = new OpenBlobs(openFiles);
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  pathOf(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw new SignetError("internal", "malformed blob id");
    return join(this.blobDir, blobId.slice(0, 2), blobId);
  }

  /**
   * Streams `source` into a new blob (spool.ts: large writes, hashed, fsynced; a large request
   * body off the main thread), checking `limits` on every chunk, then renames it into place;
   * the temp file is removed on any failure.
   */
  async write(source: Readable, limits: WriteLimits = {}): Promise<WrittenBlob> {
    const blobId = randomBytes(16).toString("hex");
    const tmpPath = join(this.tmpDir, `${blobId}.part`);
    let size = 0;
    try {
      const inspect = (chunk: Buffer) => {
        size += chunk.length;
        if (limits.maxBytes !== undefined && size > limits.maxBytes)
          throw (
            limits.tooLarge?.() ??
            new SignetError("payload_too_large", `the body is larger than ${limits.maxBytes} bytes`)
          );
        if (limits.expectedBytes !== undefined && size > limits.expectedBytes)
          throw new SignetError("invalid_request", "the body is longer than its declared length");
      };
      const sha256 = await spool(source, tmpPath, inspect, { expectedBytes: limits.expectedBytes });
      if (limits.expectedBytes !== undefined && size !== limits.expectedBytes)
        throw new SignetError("invalid_request", "the body ended before its declared length");
      limits.verify?.({ size, sha256 });
      const shardDir = join(this.blobDir, blobId.slice(0, 2));
      await mkdir(shardDir, { recursive: true });
      await rename(tmpPath, this.pathOf(blobId));
      await fsyncPath(shardDir);
      return { blobId, size, sha256 };
    } catch (err) {
      await rm(tmpPath, { force: true });
      throw err;
    }
  }

  /**
   * The blob's bytes, `end` inclusive (blob-reader.ts: large reads by position from a kept
   * descriptor). Opens the file before returning: a missing blob rejects with ENOENT.
   */
  async read(blobId: string, range: { start: number; end: number }): Promise<BlobBody> {
    return new BlobBody(await this.openFiles.acquire(blobId, this.pathOf(blobId)), range);
  }

  async remove(blobId: string): Promise<void> {
    this.openFiles.forget(blobId);
    await unlink(this.pathOf(blobId)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  /**
   * Start-up clean-up: every temp file is an interrupted write, every blob no row points
   * to is an orphan of a crash between rename and commit (or after a replace).
   */
  async sweep(
    isReferenced: (blobId: string) => Promise<boolean>,
  ): Promise<{ tmp: number; orphans: number }> {
    let tmp = 0;
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { force: true, recursive: true });
      tmp++;
    }
    let orphans = 0;
    for (const shard of await readdir(this.blobDir)) {
      for (const name of await readdir(join(this.blobDir, shard))) {
        if (BLOB_ID.test(name) && !(await isReferenced(name))) {
          await this.remove(name);
          orphans++;
        }
      }
    }
    return { tmp, orphans };
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
