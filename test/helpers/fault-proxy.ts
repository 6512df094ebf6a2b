/**
 * A reverse proxy on 127.0.0.1 in front of a Signet server that injects faults chosen per
 * request: an error reply, a corrupted byte, or a connection cut halfway through a reply. Point
 * the SDK and `signet.publicUrl` at it and every control- and data-plane request passes here.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { Transform } from "node:stream";

export type Fault =
  | { reply: number; code?: string }
  /** flip the first byte of the request body (PUT) or response body (GET) */
  | { corrupt: true }
  /** send half of the response body, then drop the connection */
  | { cut: true };

export interface Seen {
  method: string;
  url: URL;
  range: string | undefined;
  body?: string;
}

export interface FaultProxy {
  url: string;
  /** every request seen, in order */
  seen: Seen[];
  close(): Promise<void>;
}

const flipFirst = () => {
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      if (!flipped && chunk.length > 0) {
        chunk = Buffer.from(chunk);
        chunk[0] = chunk[0]! ^ 0xff;
        flipped = true;
      }
      next(null, chunk);
    },
  });
};

const readAll = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

export async function startFaultProxy(
  target: string,
  decide: (seen: Seen) => Fault | undefined = () => undefined,
): Promise<FaultProxy> {
  const base = new URL(target);
  const seen: Seen[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const entry: Seen = {
      method: req.method ?? "GET",
      url,
      range: typeof req.headers.range === "string" ? req.headers.range : undefined,
    };
    // Control-plane JSON bodies are kept so tests can see what the SDK asked for.
    let body: Buffer | undefined;
    if (url.pathname.startsWith("/v1/") && req.method === "POST") {
      body = await readAll(req);
      entry.body = body.toString();
    }
    seen.push(entry);
    const fault = decide(entry);
    if (fault !== undefined && "reply" in fault) {
      if (body === undefined) await readAll(req);
      res.writeHead(fault.reply, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: fault.code ?? "injected", message: "injected" } }));
      return;
    }
    const headers = { ...req.headers, host: base.host };
    const upstream = httpRequest(
      { host: base.hostname, port: base.port, method: req.method, path: req.url, headers },
      (up) => {
        const length = Number(up.headers["content-length"] ?? 0);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault !== undefined && "cut" in fault) {
          let sent = 0;
          up.on("data", (chunk: Buffer) => {
            const room = Math.floor(length / 2) - sent;
            if (room > 0) res.write(chunk.subarray(0, room));
            sent += chunk.length;
            if (sent >= length / 2) {
              up.destroy();
              res.destroy();
            }
          });
          return;
        }
        const corruptReply = fault !== undefined && "corrupt" in fault && req.method === "GET";
        (corruptReply ? up.pipe(flipFirst()) : up).pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    if (body !== undefined) upstream.end(body);
    else if (fault !== undefined && "corrupt" in fault && req.method === "PUT")
      req.pipe(flipFirst()).pipe(upstream);
    else req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
