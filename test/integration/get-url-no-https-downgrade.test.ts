/**
 * `signet get https://…` follows redirects, but never from https to plain http: the bytes (and,
 * with no sha256 known, whether they are the object's) would then travel in the clear.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createHttps, type Server as HttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignetClient } from "../../src/client/index.js";

const bytes = Buffer.alloc(100_000, "plain");

describe("signet get URL and an https → http redirect", () => {
  let dir: string;
  let plain: Server;
  let tls: HttpsServer;
  let plainUrl: string;
  let tlsUrl: string;
  let plainHits = 0;
  const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-downgrade-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
      ].concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]),
      { stdio: "ignore" },
    );
    // The test's certificate is self-signed.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    plain = createHttp((req, res) => {
      plainHits++;
      const [start, end] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.slice(1).map(Number);
      const last = Math.min(end!, bytes.length - 1);
      res.writeHead(206, {
        "content-range": `bytes ${start}-${last}/${bytes.length}`,
        "content-length": last - start! + 1,
      });
      res.end(bytes.subarray(start, last + 1));
    });
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    plainUrl = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
    tls = createHttps(
      { key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) },
      (_req, res) => res.writeHead(302, { location: `${plainUrl}/object.bin` }).end(),
    );
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
    tlsUrl = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    plain?.closeAllConnections();
    tls?.closeAllConnections();
    plain?.close();
    tls?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to follow the redirect to http", async () => {
    const out = join(dir, "out.bin");
    await expect(SignetClient.getUrl(`${tlsUrl}/object.bin`, out)).rejects.toMatchObject({
      code: "insecure_redirect",
    });
    expect(plainHits).toBe(0);
    expect(await readdir(dir)).not.toContain("out.bin");
  });
});
