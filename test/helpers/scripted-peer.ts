/**
 * A TCP peer on 127.0.0.1 that answers each HTTP request (its head, up to the blank line) with
 * whatever `answer` writes, byte for byte: for clients meeting broken or hostile servers
 * (raw-get.ts). `connections` counts the connections accepted (tests reset it); `close` drops
 * every connection still open, kept-alive ones too.
 */
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface ScriptedPeer {
  /** called with each request's head and its connection's number (from 1) */
  answer: (socket: Socket, request: string, connection: number) => void;
  connections: number;
  /** listens; answers the peer's http:// origin */
  start(): Promise<string>;
  close(): Promise<void>;
}

export function scriptedPeer(): ScriptedPeer {
  const open = new Set<Socket>();
  const peer: ScriptedPeer = {
    answer: () => undefined,
    connections: 0,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((socket) => {
    open.add(socket);
    const n = ++peer.connections;
    let got = "";
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) {
        const request = got;
        got = "";
        peer.answer(socket, request, n);
      }
    });
    socket.on("error", () => undefined);
  });
  return peer;
}

/**
 * Has `peer` answer every request with `reply`, then GETs `/a` and `/b` in turn through `text`
 * (a client's GET, answering the body as text): the two texts, and how many connections the
 * peer accepted for them (2 when the client did not keep the first).
 */
export async function twoGets(
  peer: ScriptedPeer,
  reply: string,
  text: (path: string) => Promise<string>,
): Promise<{ texts: string[]; connections: number }> {
  peer.connections = 0;
  peer.answer = (socket) => socket.write(reply);
  const texts = [await text("/a"), await text("/b")];
  return { texts, connections: peer.connections };
}
