/**
 * raw-get.ts, the ranged download's HTTP/1.1 GET over its own sockets: bodies whole and in
 * order (sized, chunked, to the end of the connection), connections kept and reused, a kept one
 * the server closed replaced once, a reply cut short or unparseable refused, headers that could
 * split a request refused, an abort honoured, and what `accept` or the sink throw failing the GET.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawGet } from "../../src/client/raw-get.js";
import { scriptedPeer, twoGets } from "../helpers/scripted-peer.js";

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const collect = () => {
  const pieces: Buffer[] = [];
  return {
    sink: (chunk: Buffer) => void pieces.push(Buffer.from(chunk)),
    bytes: () => Buffer.concat(pieces),
  };
};

describe("rawGet", () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7).map((_, i) => i % 251);
  const sockets = new Set<unknown>();
  let base: string;
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    if (req.url === "/chunked") {
      res.write("hello, ");
      res.end("world");
    } else if (req.url === "/eof") {
      res.setHeader("connection", "close");
      res.removeHeader("content-length");
      res.useChunkedEncodingByDefault = false;
      res.end("to the end");
    } else if (req.url === "/error") {
      res.statusCode = 404;
      res.setHeader("content-type", "application/json");
      res.end('{"error":{"code":"not_found","message":"no such object"}}');
    } else {
      res.setHeader("x-range-asked", String(req.headers.range));
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.end(body);
    }
  });
  beforeAll(async () => {
    base = await listen(server);
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });

  it("hands over a sized body whole and in order, and the head with lower-case names", async () => {
    const out = collect();
    const reply = await rawGet(`${base}/object`, { range: "bytes=0-9" }, () => out.sink);
    expect(reply.head.statusCode).toBe(200);
    expect(reply.head.headers["x-range-asked"]).toBe("bytes=0-9");
    expect(reply.head.headers["set-cookie"]).toBe("a=1, b=2");
    expect(out.bytes().equals(body)).toBe(true);
  });

  it("reads chunked bodies and bodies that end with the connection", async () => {
    expect((await rawGet(`${base}/chunked`, {}, () => "text")).text).toBe("hello, world");
    expect((await rawGet(`${base}/eof`, {}, () => "text")).text).toBe("to the end");
  });

  it("keeps its connection for the next GET to the origin", async () => {
    sockets.clear();
    for (let i = 0; i < 3; i++) await rawGet(`${base}/object`, {}, () => () => undefined);
    expect(sockets.size).toBe(1);
  });

  it("collects an error body as text", async () => {
    const reply = await rawGet(`${base}/error`, {}, () => "text");
    expect(reply.head.statusCode).toBe(404);
    expect(JSON.parse(reply.text).error.code).toBe("not_found");
  });

  it("fails with what accept or the sink throw, and the next GET still works", async () => {
    await expect(
      rawGet(`${base}/object`, {}, () => {
        throw new Error("not this one");
      }),
    ).rejects.toThrow("not this one");
    let seen = 0;
    await expect(
      rawGet(`${base}/object`, {}, () => (chunk) => {
        seen += chunk.length;
        if (seen > 1024 * 1024) throw new Error("long enough");
      }),
    ).rejects.toThrow("long enough");
    const out = collect();
    await rawGet(`${base}/object`, {}, () => out.sink);
    expect(out.bytes().equals(body)).toBe(true);
  });

  it("refuses a header that could split the request", async () => {
    await expect(
      rawGet(`${base}/object`, { range: "bytes=0-1\r\nx-evil: 1" }, () => "text"),
    ).rejects.toThrow(TypeError);
    await expect(rawGet(`${base}/object`, { "bad name": "1" }, () => "text")).rejects.toThrow(
      TypeError,
    );
    await expect(rawGet(`${base}/object`, { host: "elsewhere" }, () => "text")).rejects.toThrow(
      TypeError,
    );
  });

  it("honours an abort with its reason", async () => {
    const stop = new AbortController();
    const reason = new Error("stopped");
    let seen = 0;
    await expect(
      rawGet(
        `${base}/object`,
        {},
        () => () => {
          if ((seen += 1) === 1) stop.abort(reason);
        },
        { signal: stop.signal },
      ),
    ).rejects.toBe(reason);
  });
});

describe("rawGet against a raw TCP peer", () => {
  let base: string;
  const peer = scriptedPeer();
  beforeAll(async () => {
    base = await peer.start();
  });
  afterAll(() => peer.close());

  it("refuses a reply cut short", async () => {
    peer.answer = (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this");
    await expect(rawGet(`${base}/x`, {}, () => () => undefined)).rejects.toThrow(/closed before/);
  });

  it("refuses a reply that is not HTTP", async () => {
    peer.answer = (socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    await expect(rawGet(`${base}/x`, {}, () => "text")).rejects.toThrow();
  });

  it("does not keep a connection that sent a reply past the one asked for", async () => {
    const reply =
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfake";
    const text = async (path: string) => (await rawGet(`${base}${path}`, {}, () => "text")).text;
    expect(await twoGets(peer, reply, text)).toEqual({ texts: ["ok", "ok"], connections: 2 });
  });

  it("replaces, once, a kept connection the server closed before answering", async () => {
    // The first connection answers once and keeps the socket, then closes it without a word
    // when the next request comes (a keep-alive timeout racing the request).
    peer.connections = 0;
    peer.answer = (socket, _request, n) => {
      if (n === 1 && !(socket as { answered?: boolean }).answered) {
        (socket as { answered?: boolean }).answered = true;
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      } else if (n === 1) socket.destroy();
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfresh");
    };
    expect((await rawGet(`${base}/a`, {}, () => "text")).text).toBe("ok");
    expect((await rawGet(`${base}/b`, {}, () => "text")).text).toBe("fresh");
    expect(peer.connections).toBe(2);
  });
});
