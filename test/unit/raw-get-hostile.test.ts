/**
 * raw-get.ts against a hostile or broken peer: interim 1xx replies skipped as node:http does,
 * 204/304 bodiless whatever their Content-Length says, and chunk framing that would spin the
 * parser forever (a negative chunk size) or grow without bound (a chunk-size line or trailers
 * that never end) refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawGet } from "../../src/client/raw-get.js";
import { scriptedPeer, twoGets } from "../helpers/scripted-peer.js";

/** A GET of a path under `base` through rawGet, its body as text. */
const text = (base: string) => async (path: string) =>
  (await rawGet(`${base}${path}`, {}, () => "text")).text;

describe("rawGet against a hostile peer", () => {
  let base: string;
  const peer = scriptedPeer();
  beforeAll(async () => {
    base = await peer.start();
  });
  afterAll(() => peer.close());

  it("skips 100 Continue and 103 Early Hints before the reply", async () => {
    peer.answer = (socket) =>
      socket.write(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n" +
          "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-4/10\r\ncontent-length: 5\r\n\r\nhello",
      );
    const seen: number[] = [];
    const pieces: Buffer[] = [];
    const reply = await rawGet(`${base}/x`, {}, (head) => {
      seen.push(head.statusCode);
      return (chunk) => void pieces.push(Buffer.from(chunk));
    });
    expect(seen).toEqual([206]);
    expect(reply.head.statusCode).toBe(206);
    expect(Buffer.concat(pieces).toString()).toBe("hello");
  });

  it("refuses 101 Switching Protocols to a GET", async () => {
    peer.answer = (socket) =>
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n",
      );
    await expect(rawGet(`${base}/x`, {}, () => "text")).rejects.toThrow();
  });

  it("reads no body after a 304 or 204 whatever its content-length, and keeps the connection", async () => {
    peer.connections = 0;
    peer.answer = (socket, request) =>
      socket.write(
        request.startsWith("GET /a ")
          ? "HTTP/1.1 304 Not Modified\r\ncontent-length: 100\r\n\r\n"
          : request.startsWith("GET /b ")
            ? "HTTP/1.1 204 No Content\r\ncontent-length: 100\r\n\r\n"
            : "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
      );
    expect((await rawGet(`${base}/a`, {}, () => "text")).head.statusCode).toBe(304);
    expect((await rawGet(`${base}/b`, {}, () => "text")).head.statusCode).toBe(204);
    expect((await rawGet(`${base}/c`, {}, () => "text")).text).toBe("ok");
    expect(peer.connections).toBe(1);
  });

  it("refuses a negative chunk size instead of spinning on it", async () => {
    peer.answer = (socket) =>
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-5\r\nXXXXXXXX");
    await expect(rawGet(`${base}/x`, {}, () => () => undefined)).rejects.toThrow(/bad HTTP/);
  });

  it("refuses a chunk-size line that never ends", async () => {
    peer.answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
      socket.write(Buffer.alloc(2 * 1024 * 1024, "1"));
    };
    await expect(rawGet(`${base}/x`, {}, () => () => undefined)).rejects.toThrow(/bad HTTP/);
  });

  it("refuses trailers that never end", async () => {
    peer.answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n");
      socket.write(Buffer.from("x-t: 1\r\n".repeat(64 * 1024)));
    };
    await expect(rawGet(`${base}/x`, {}, () => "text")).rejects.toThrow(/bad HTTP/);
  });

  it("reads chunked when content-length comes too, and does not keep that connection", async () => {
    const reply =
      "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    expect(await twoGets(peer, reply, text(base))).toEqual({
      texts: ["hello", "hello"],
      connections: 2,
    });
  });

  it("refuses a transfer-encoding it cannot undo and a content-length that is not digits", async () => {
    for (const framing of [
      "transfer-encoding: gzip, chunked",
      "content-length: -5",
      "content-length: 0x10",
    ]) {
      peer.answer = (socket) =>
        socket.write(`HTTP/1.1 200 OK\r\n${framing}\r\n\r\n` + "x".repeat(16));
      await expect(rawGet(`${base}/x`, {}, () => () => undefined)).rejects.toThrow(/bad HTTP/);
    }
  });

  it("reads a reply sent one byte per segment", async () => {
    const reply = Buffer.from(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nt: 1\r\n\r\n",
    );
    peer.answer = (socket) => {
      let i = 0;
      const next = () => {
        if (i < reply.length) socket.write(reply.subarray(i, ++i), () => setImmediate(next));
      };
      socket.setNoDelay(true);
      next();
    };
    expect((await rawGet(`${base}/x`, {}, () => "text")).text).toBe("abcde");
  });

  it("refuses a head past 80 KiB, and reads one of 70 KiB with its body in the same read", async () => {
    peer.answer = (socket, request) => {
      const size = request.startsWith("GET /big ") ? 100 : 70;
      socket.write(
        `HTTP/1.1 200 OK\r\nx-pad: ${"p".repeat(size * 1024)}\r\ncontent-length: 5\r\n\r\nhello`,
      );
    };
    await expect(rawGet(`${base}/big`, {}, () => "text")).rejects.toThrow(/header size/);
    expect((await rawGet(`${base}/ok`, {}, () => "text")).text).toBe("hello");
  });
});
