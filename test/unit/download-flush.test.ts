/**
 * A download flushes its file's front to disk in the background as it grows, so the final fsync
 * has little left, and a failed flush fails the download (src/client/download.ts).
 */
import { createHash } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { downloadRanged, urlSource } from "../../src/client/download.js";

const MIB = 1024 * 1024;
// Past two flushes' worth (32 MiB each), of bytes cheap to make.
const bytes = Buffer.alloc(72 * MIB, "signet");
const sha256 = createHash("sha256").update(bytes).digest("base64");

describe("download flushes", () => {
  let server: Server;
  let url: string;
  let dir: string;
  let fileHandle: { datasync(): Promise<void> };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const [start, end] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.slice(1).map(Number);
      const last = Math.min(end!, bytes.length - 1);
      res.writeHead(206, {
        "content-range": `bytes ${start}-${last}/${bytes.length}`,
        "content-length": last - start! + 1,
      });
      res.end(bytes.subarray(start, last + 1));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/big.bin`;
    dir = await mkdtemp(join(tmpdir(), "signet-download-flush-"));
    const fh = await open(join(dir, "probe"), "w");
    fileHandle = Object.getPrototypeOf(fh) as typeof fileHandle;
    await fh.close();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("flushes the front while the download runs", async () => {
    const datasync = vi.spyOn(fileHandle, "datasync");
    const out = join(dir, "flushed.bin");
    const result = await downloadRanged(await urlSource(url, { partSize: 8 * MIB, sha256 }), out, {
      concurrency: 2,
    });
    expect(result).toMatchObject({ bytes: bytes.length, verified: true });
    expect((await readFile(out)).equals(bytes)).toBe(true);
    expect(datasync).toHaveBeenCalled();
  });

  it("fails when a flush fails", async () => {
    vi.spyOn(fileHandle, "datasync").mockRejectedValue(new Error("EIO: flush failed"));
    const source = await urlSource(url, { partSize: 8 * MIB, sha256 });
    await expect(downloadRanged(source, join(dir, "unflushed.bin"))).rejects.toThrow(
      /flush failed/,
    );
  });
});
