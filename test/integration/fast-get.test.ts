/**
 * Issue 17: the data plane's hot path (src/http/fast-get.ts) answers a signed GET or HEAD of an
 * object held in memory exactly as the Fastify route does (bytes, headers, audit row, log line,
 * metrics) and leaves every other request to the route unanswered: refusals, revoked tokens,
 * Range, conditional requests, CORS, listings, objects not in memory.
 */
import { createServer, type Server } from "node:http";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { inMemoryAnswer } from "../../src/http/fast-get.js";
import { logSerializers } from "../../src/http/log.js";
import { type Harness, startSignet } from "../helpers/harness.js";

/** The hot path alone on its own server: what it leaves to the route is answered 599. */
const FELL_THROUGH = 599;

describe("the in-memory GET path", () => {
  let h: Harness;
  let server: Server;
  let base: string;
  const lines: Record<string, unknown>[] = [];
  const counted: unknown[][] = [];

  beforeAll(async () => {
    h = await startSignet();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: "info", serializers: logSerializers }, sink);
    const answer = inMemoryAnswer(h.signet, log, (...args) => void counted.push(args));
    server = createServer((req, res) => {
      if (!answer(req, res)) res.writeHead(FELL_THROUGH).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  /** Stores `body` at `key` and answers a signed GET URL's path and query, and its id. */
  async function stored(key: string, body: string, type = "application/octet-stream") {
    const put = await h.admin.presign({ bucket: "default", key, method: "PUT" });
    const headers = { "content-type": type };
    expect((await fetch(put.url, { method: "PUT", body, headers })).status).toBe(200);
    const get = await h.admin.presign({ bucket: "default", key, method: "GET" });
    const url = new URL(get.url);
    return { path: url.pathname + url.search, id: get.id };
  }

  /** One GET through the route, which fills the row and byte caches. */
  const viaRoute = (path: string, init?: RequestInit) => fetch(`${h.url}${path}`, init);
  const viaHotPath = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

  /**
   * The route (filling the caches), then `between`, then the hot path. A row is trusted for a
   * second at most (SIGNET_CACHE_ROW_TTL_MS), so on a loaded machine the row may lapse between
   * the two requests: the pair is then tried again, three times at most.
   */
  async function routeThenHot(path: string, init?: RequestInit, between = () => {}) {
    for (let attempt = 1; ; attempt++) {
      const route = await viaRoute(path, init);
      const routeBody = await route.text();
      between();
      const hot = await viaHotPath(path, init);
      if (hot.status !== FELL_THROUGH || attempt === 3) return { route, routeBody, hot };
      await hot.arrayBuffer();
    }
  }

  it("answers an object in memory as the route does, with one audit row and log line", async () => {
    const { path, id } = await stored("hot/a.html", "<p>hi</p>", "text/html");
    expect((await viaHotPath(path)).status).toBe(FELL_THROUGH);
    const record = vi.spyOn(h.signet.objects, "recordUse");
    const { route, routeBody, hot } = await routeThenHot(path, undefined, () => {
      record.mockClear();
      lines.length = 0;
    });
    expect(hot.status).toBe(200);
    expect(await hot.text()).toBe(routeBody);
    const headers = (res: Response) =>
      Object.fromEntries(
        [...res.headers].filter(([name]) => !["date", "keep-alive"].includes(name)),
      );
    expect(headers(hot)).toEqual(headers(route));
    // An active type is still an attachment, sandboxed and nosniff.
    expect(hot.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(record).toHaveBeenCalledTimes(1);
    expect(record.mock.calls[0]!.slice(0, 4)).toEqual([
      "object.use",
      expect.objectContaining({ method: "GET", bucket: "default", key: "hot/a.html" }),
      200,
      expect.objectContaining({ i: id }),
    ]);
    record.mockRestore();
    expect(counted.at(-1)).toEqual([path, "GET", 200, expect.any(Number)]);
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(lines[0]).toMatchObject({
      msg: "request",
      status: 200,
      tokenId: id,
      req: { method: "GET", path: "/o/default/hot/a.html" },
    });
    expect(JSON.stringify(lines)).not.toContain(new URLSearchParams(path.split("?")[1]).get("t"));
    // A GET URL does not allow HEAD: the route refuses it, so the hot path leaves it.
    expect((await viaHotPath(path, { method: "HEAD" })).status).toBe(FELL_THROUGH);
    const signed = await h.admin.presign({ bucket: "default", key: "hot/a.html", method: "HEAD" });
    const headPath = new URL(signed.url).pathname + new URL(signed.url).search;
    // Rows are trusted for a second at most: the route fills the cache again.
    const { route: headRoute, hot: head } = await routeThenHot(headPath, { method: "HEAD" });
    expect(headRoute.status).toBe(200);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(routeBody.length));
  });

  it("leaves refusals, revocations and anything but a plain 200 to the route", async () => {
    const { path, id } = await stored("hot/b.bin", "0123456789");
    expect((await routeThenHot(path)).hot.status).toBe(200);
    const cases: [string, RequestInit | undefined][] = [
      [path.replace(/t=[^&]+/, "t=not.valid"), undefined],
      [path.replace("hot/b.bin", "hot/c.bin"), undefined],
      [path, { headers: { range: "bytes=0-1" } }],
      [path, { headers: { "if-none-match": "*" } }],
      [path, { headers: { origin: "https://example.com" } }],
      [path, { method: "DELETE" }],
      [path.replace("hot/b.bin", "hot/"), undefined],
    ];
    for (const [target, init] of cases)
      expect((await viaHotPath(target, init)).status, JSON.stringify([target, init])).toBe(
        FELL_THROUGH,
      );
    await h.admin.revoke(id);
    expect((await viaHotPath(path)).status).toBe(FELL_THROUGH);
    expect((await viaRoute(path)).status).toBe(403);
  });

  it("answers a URL's response overrides, and the plain URL's headers after them", async () => {
    const { path } = await stored("hot/e.txt", "text", "text/plain");
    const { hot } = await routeThenHot(path);
    expect(hot.status).toBe(200);
    const plain = hot.headers;
    const signed = await h.admin.presign({
      bucket: "default",
      key: "hot/e.txt",
      method: "GET",
      responseContentType: "application/json",
      responseContentDisposition: "attachment",
    });
    const overridden = await viaHotPath(new URL(signed.url).pathname + new URL(signed.url).search);
    expect(overridden.status).toBe(200);
    expect(overridden.headers.get("content-type")).toBe("application/json");
    expect(overridden.headers.get("content-disposition")).toBe("attachment");
    const again = (await viaHotPath(path)).headers;
    expect(again.get("content-type")).toBe(plain.get("content-type"));
    expect(again.get("content-disposition")).toBe(plain.get("content-disposition"));
    expect(again.get("content-type")).toBe("text/plain");
  });

  it("checks the token's IP constraint on this path too", async () => {
    const { path: open } = await stored("hot/d.bin", "x");
    expect((await routeThenHot(open)).hot.status).toBe(200);
    const bound = await h.admin.presign({
      bucket: "default",
      key: "hot/d.bin",
      method: "GET",
      ip: "10.0.0.0/8",
    });
    const path = new URL(bound.url).pathname + new URL(bound.url).search;
    expect((await viaHotPath(path)).status).toBe(FELL_THROUGH);
    expect((await viaRoute(path)).status).toBe(403);
  });
});
