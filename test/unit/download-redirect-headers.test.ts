/**
 * followRedirects (download.ts) sends the caller's headers to the first URL's origin only, and
 * not again once a redirect has left it: a foreign origin must not choose where on the first
 * one its credentials go (as fetch drops them for good).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { urlSource } from "../../src/client/download.js";

describe("redirects and the caller's headers", () => {
  let server: Server;
  let port = 0;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.headers.host?.split(":")[0]} ${req.url} ${req.headers.authorization}`);
      if (req.url === "/a") res.writeHead(302, { location: `http://localhost:${port}/b` }).end();
      else if (req.url === "/b")
        res.writeHead(302, { location: `http://127.0.0.1:${port}/c` }).end();
      else res.writeHead(206, { "content-range": "bytes 0-0/10", "content-length": 1 }).end("z");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("does not send them again after a redirect left the origin", async () => {
    const source = await urlSource(`http://127.0.0.1:${port}/a`, {
      headers: { authorization: "Bearer secret" },
    });
    expect(source.size).toBe(10);
    expect(seen).toEqual([
      "127.0.0.1 /a Bearer secret",
      "localhost /b undefined",
      "127.0.0.1 /c undefined",
    ]);
  });
});
