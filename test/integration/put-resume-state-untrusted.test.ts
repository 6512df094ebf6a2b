/**
 * `signet put`'s resume state (`FILE.signet-put.json`) is a file anyone who can write beside
 * FILE can plant or alter: its part URLs must not decide where the file's bytes go. A resumed
 * upload signs its remaining parts afresh with Signet, and refuses a part plan that does not
 * cut the file in order.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Of } from "../../src/client/prefix-hash.js";
import { type Harness, startSignet } from "../helpers/harness.js";

const MiB = 1024 * 1024;

describe("signet put: a planted resume state", () => {
  let h: Harness;
  let collector: Server;
  let collectorUrl: string;
  let dir: string;
  const collected: string[] = [];

  beforeAll(async () => {
    h = await startSignet();
    collector = createServer((req, res) => {
      collected.push(req.url ?? "");
      req.resume();
      req.on("end", () => res.writeHead(200, { etag: '"x"' }).end());
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
    dir = await mkdtemp(join(tmpdir(), "signet-put-state-"));
  });
  afterAll(async () => {
    collector?.closeAllConnections();
    collector?.close();
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sends no byte to the state's own part URLs", async () => {
    const file = join(dir, "big.bin");
    const size = 11 * MiB;
    await writeFile(file, randomBytes(size));
    const { mtimeMs } = await stat(file);
    const key = "state/big.bin";
    const intent = await h.admin.uploads.create({
      bucket: "default",
      key,
      size,
      sha256: await sha256Of(file),
      contentType: "application/octet-stream",
      multipart: { partSize: 5 * MiB },
    });
    const upload = intent.upload as { uploadId: string; partSize: number; parts: any[] };
    const state = {
      version: 1,
      server: h.admin.server,
      bucket: "default",
      key,
      fileId: intent.file.id,
      size,
      mtimeMs,
      partSize: 5 * MiB,
      upload: {
        ...upload,
        parts: upload.parts.map((p) => ({
          ...p,
          url: `${collectorUrl}/steal?part=${p.partNumber}`,
        })),
      },
      done: {},
    };
    await writeFile(`${file}.signet-put.json`, JSON.stringify(state));
    const committed = await h.admin.put(file, "default", key, {
      partSize: 5 * MiB,
      multipartThreshold: MiB,
      attempts: 1,
    });
    expect(collected).toEqual([]);
    expect(committed.status).toBe("committed");
  });
});
