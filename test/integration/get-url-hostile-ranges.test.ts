/**
 * `signet get URL` against a server that answers ranged GETs wrongly: a 206 whose Content-Range
 * is not the range asked for, or parts of another version of the object (its ETag changed
 * after the probe). Without a known sha256 nothing else would notice: the file must not be
 * written as complete.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SignetClient } from "../../src/client/index.js";

const MiB = 1024 * 1024;
const SIZE = 3 * MiB;
const content = (seed: number) => {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = (i * 31 + seed) & 255;
  return b;
};

let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const range = (req: IncomingMessage) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
  return m === null ? undefined : ([Number(m[1]), Number(m[2])] as const);
};

describe("signet get URL with a server answering the wrong ranges", () => {
  it("refuses a 206 whose Content-Range is not the range asked for", async () => {
    const bytes = content(7);
    // Every part is answered with the object's first bytes (the right length, labelled as such).
    handler = (req, res) => {
      const r = range(req)!;
      const length = r[1] - r[0] + 1;
      res.writeHead(206, {
        "content-range": `bytes 0-${length - 1}/${SIZE}`,
        "content-length": length,
        etag: '"v1"',
      });
      res.end(bytes.subarray(0, length));
    };
    dir = await mkdtemp(join(tmpdir(), "signet-get-"));
    const out = join(dir, "out.bin");
    await expect(
      SignetClient.getUrl(`${base}/obj.bin`, out, { partSize: MiB, attempts: 2 }),
    ).rejects.toThrow();
    expect(await readdir(dir)).not.toContain("out.bin");
  });

  it("refuses parts of another version of the object (the ETag changed after the probe)", async () => {
    const v1 = content(7);
    const v2 = content(99);
    let probed = false;
    handler = (req, res) => {
      const r = range(req)!;
      // The probe sees v1; the object is then replaced, and the parts come from v2.
      const [body, etag] = probed ? [v2, '"v2"'] : [v1, '"v1"'];
      probed = true;
      res.writeHead(206, {
        "content-range": `bytes ${r[0]}-${r[1]}/${SIZE}`,
        "content-length": r[1] - r[0] + 1,
        etag,
      });
      res.end(body.subarray(r[0], r[1] + 1));
    };
    dir = await mkdtemp(join(tmpdir(), "signet-get-"));
    const out = join(dir, "out.bin");
    await expect(
      SignetClient.getUrl(`${base}/obj.bin`, out, { partSize: MiB, attempts: 2 }),
    ).rejects.toThrow();
    expect(await readdir(dir)).not.toContain("out.bin");
  });
});
