/**
 * `signet get URL` follows redirects (src/client/download.ts): Signet's links, short URLs and
 * shares answer 302/307 to a short-lived URL, and each part follows the redirect afresh.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadRanged, urlSource } from "../../src/client/download.js";

const MIB = 1024 * 1024;
const bytes = Buffer.alloc(3 * MIB + 5, "redirect");
const sha256 = createHash("sha256").update(bytes).digest("base64");

describe("URL downloads follow redirects", () => {
  let server: Server;
  let base: string;
  let dir: string;
  let redirects = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/short") {
        redirects++;
        res.writeHead(307, { location: "/link" }).end();
      } else if (req.url === "/link") {
        redirects++;
        res.writeHead(302, { location: `${base}/object` }).end();
      } else if (req.url === "/loop") {
        res.writeHead(302, { location: "/loop" }).end();
      } else {
        const [start, end] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.slice(1).map(Number);
        const last = Math.min(end!, bytes.length - 1);
        res.writeHead(206, {
          "content-range": `bytes ${start}-${last}/${bytes.length}`,
          "content-length": last - start! + 1,
        });
        res.end(bytes.subarray(start, last + 1));
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    dir = await mkdtemp(join(tmpdir(), "signet-download-redirect-"));
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("downloads through a chain of redirects, each part following it", async () => {
    const out = join(dir, "out.bin");
    const result = await downloadRanged(
      await urlSource(`${base}/short`, { partSize: MIB, sha256 }),
      out,
    );
    expect(result).toMatchObject({ bytes: bytes.length, verified: true });
    expect((await readFile(out)).equals(bytes)).toBe(true);
    // the probe and each of the 4 parts: a 307 and a 302 each
    expect(redirects).toBe(2 * 5);
  });

  it("gives up on a redirect loop", async () => {
    await expect(urlSource(`${base}/loop`)).rejects.toMatchObject({ code: "too_many_redirects" });
  });
});
