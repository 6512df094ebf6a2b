/**
 * The SDK's HTTP client: node:http and node:https with keep-alive agents, shaped like the small
 * part of undici's `request` the SDK used. Measured on loopback (BENCHMARKS.md), streaming a
 * body through node:http is faster and keeps a smaller footprint than undici, and not loading
 * undici at all saves about 20 MB per CLI process. Downloads read their bytes through
 * raw-get.ts instead, which spends a fifth of node:http's CPU on a body.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { stalled } from "./errors.js";

const agents = {
  http: new HttpAgent({ keepAlive: true }),
  https: new HttpsAgent({ keepAlive: true }),
};

/** A reply: status, headers (lower-case names) and the body, read once. */
export interface Reply {
  statusCode: number;
  headers: IncomingMessage["headers"];
  body: ReplyBody;
}

export interface ReplyBody extends AsyncIterable<Buffer> {
  /**
   * Calls `sink` with each chunk as it arrives ('data' events: no promise per chunk, unlike the
   * async iterator); while a promise `sink` returned is pending, reading pauses (backpressure).
   * Resolves at the end of the body; rejects on a network error or when `sink` throws.
   */
  each(sink: (chunk: Buffer) => Promise<void> | undefined): Promise<void>;
  /** reads and discards the rest (keeps the connection reusable) */
  dump(): Promise<void>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  /** drops the connection */
  destroy(): void;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** a string is sent with its Content-Length; a stream as it comes */
  body?: string | Readable;
  signal?: AbortSignal;
  /**
   * Milliseconds the exchange may go without sending or receiving a byte, from the connect to
   * the end of the reply's body; then it fails with `stalled` (errors.ts). Absent or 0: never.
   */
  stallMs?: number;
}

function bodyOf(res: IncomingMessage): ReplyBody {
  const text = async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };
  const each = (sink: (chunk: Buffer) => Promise<void> | undefined) =>
    new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        res.off("data", onData);
        res.destroy();
        reject(err as Error);
      };
      const onData = (chunk: Buffer) => {
        let busy: Promise<void> | undefined;
        try {
          busy = sink(chunk);
        } catch (err) {
          return fail(err);
        }
        if (busy === undefined) return;
        res.pause();
        busy.then(() => res.resume(), fail);
      };
      res.on("data", onData);
      res.once("end", resolve);
      // A reply cut short ends with 'aborted' and an error (or only a close) instead of 'end'.
      res.once("error", fail);
      res.once("close", () => {
        if (!res.complete) fail(new Error("the connection closed before the body ended"));
      });
    });
  return {
    [Symbol.asyncIterator]: () => res[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
    each,
    dump: async () => {
      res.resume();
      if (!res.complete) await new Promise((r) => res.once("close", r));
    },
    text,
    json: async () => JSON.parse(await text()) as unknown,
    destroy: () => res.destroy(),
  };
}

/** Sends one request; resolves once the reply's head has arrived. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  const https = url.startsWith("https:");
  const headers = { ...options.headers };
  if (typeof options.body === "string")
    headers["content-length"] = String(Buffer.byteLength(options.body));
  return new Promise<Reply>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: options.method ?? "GET",
      headers,
      agent: https ? agents.https : agents.http,
      signal: options.signal,
      timeout: options.stallMs || undefined,
    });
    let reply: IncomingMessage | undefined;
    // node:http only reports the idle socket; the reply's body, if it is being read, fails too.
    req.once("timeout", () => {
      const err = stalled(url, options.stallMs!);
      req.destroy(err);
      reply?.destroy(err);
    });
    req.once("response", (res) => {
      reply = res;
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: bodyOf(res) });
    });
    req.once("error", reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === "string") req.end(body);
    else {
      body.once("error", (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}
