/**
 * GETs at line rate for ranged downloads (download.ts): HTTP/1.1 over net or tls sockets kept
 * alive per origin, each reading into one buffer of its own (`onread`: no Buffer allocated and no
 * stream event per read), the reply parsed by http-parser-js, and the body handed to the
 * caller's sink synchronously, as a view into that buffer that is valid only during the call
 * (the sink writes it at its offset at once; the socket reads nothing more meanwhile).
 *
 * Why not node:http: its client allocates a Buffer and runs a stream's events for every 64 KiB
 * read. For 256 MiB over loopback with 8 connections it spent about 0.6 s of user CPU where this
 * spends 0.12 s, and was 2.2 times slower than curl where this is as fast (BENCHMARKS.md,
 * issue 19). Only GET, only what a ranged download needs; requests with bodies stay on http.ts.
 */
import { connect as netConnect, type OnReadOpts, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { HTTPParser } from "http-parser-js";
import { SignetApiError, stalled } from "./errors.js";

/** A reply's status line and headers. */
export interface RawHead {
  statusCode: number;
  /** lower-case names; a repeated header's values joined with ", " */
  headers: Record<string, string>;
}

/**
 * Decides, on a reply's head, what becomes of its body: a sink called with each piece as it
 * arrives (a view valid only during the call; what it throws fails the GET and drops the
 * connection), or "text" to collect it (at most TEXT_MAX bytes; for errors and redirects). What
 * `accept` itself throws fails the GET too, and the body is not read.
 */
export type Accept = (head: RawHead) => ((chunk: Buffer) => void) | "text";

/** How one GET is sent. */
export interface RawGetOptions {
  /** aborts the GET, which rejects with the signal's reason */
  signal?: AbortSignal;
  /**
   * Milliseconds the GET may go without sending or receiving a byte, from the connect to the
   * reply's end; then it fails with `stalled` (errors.ts). Absent or 0: never.
   */
  stallMs?: number;
}

export interface RawReply {
  head: RawHead;
  /** the body, when `accept` asked for it as text */
  text: string;
}

/** Bytes each socket reads at a time into its own buffer. */
const READ_SIZE = 1024 * 1024;
/** The most of a body collected as text. */
const TEXT_MAX = 64 * 1024;
/**
 * Bytes handed to the parser at a time. http-parser-js counts what one `execute` consumed as
 * head bytes when it ends in a head state, so an `execute` that completes a body would count the
 * whole read against its 80 KiB head limit and fail: slices stay below it (the count starts again
 * with each request, `send`).
 */
const PARSE_SLICE = 64 * 1024;
/** The most bytes of a reply's head (http-parser-js's own limit). */
const HEAD_MAX = 80 * 1024;
/** Idle connections kept per origin. */
const IDLE_MAX = 16;
/** The most bytes of chunk framing (a size line, trailers) held at once, as for a head. */
const FRAMING_MAX = 80 * 1024;
/** A chunk size: hex digits (at most 2^52), then maybe extensions. */
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})[\t ]*(?:;.*)?$/;

/** What of http-parser-js's state the framing checks below read and replace. */
interface ParserState {
  state: string;
  line: string;
  trailers: string[];
  body_bytes: number | null;
  consumeLine(): string | undefined;
  BODY_CHUNKHEAD(): void;
}

/**
 * http-parser-js takes a chunk size with parseInt: "-5" steps its offset back and spins forever
 * in one `execute`; "zz" ends the body. A size must be hex digits here (as llhttp wants).
 */
function strictChunkSizes(parser: object): void {
  const p = parser as unknown as ParserState;
  p.BODY_CHUNKHEAD = function (this: ParserState) {
    const line = this.consumeLine();
    if (line === undefined) return;
    const size = CHUNK_SIZE.exec(line);
    if (size === null) throw new Error(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
    this.body_bytes = parseInt(size[1]!, 16);
    this.state = this.body_bytes === 0 ? "BODY_CHUNKTRAILERS" : "BODY_CHUNK";
  };
}

/** Bytes of chunk framing the parser holds: a line not yet ended, and trailers. */
function framingHeld(parser: object): number {
  const p = parser as unknown as ParserState;
  if (!p.state.startsWith("BODY_CHUNK") || p.state === "BODY_CHUNK") return 0;
  let held = p.line.length;
  for (const t of p.trailers) held += t.length;
  return held;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

interface Exchange {
  accept: Accept;
  resolve: (reply: RawReply) => void;
  reject: (err: Error) => void;
  head?: RawHead;
  sink?: (chunk: Buffer) => void;
  text: Buffer[];
  textBytes: number;
  /** whether any byte of the reply came */
  answered: boolean;
}

/** One keep-alive connection: one exchange at a time. */
class Connection {
  private readonly parser = new HTTPParser(HTTPParser.RESPONSE);
  private exchange: Exchange | undefined;
  private keepAlive = false;
  /** set while the reply being parsed is an interim 1xx one, skipped as node:http does */
  private interim = false;
  readonly socket: Socket;
  /** set once the socket can carry no further exchange */
  closed = false;
  /** ends the exchange under way when its socket has been silent too long */
  private stalled = () => undefined as void;

  constructor(
    url: URL,
    private readonly onIdle: (connection: Connection) => void,
  ) {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const https = url.protocol === "https:";
    const port = Number(url.port || (https ? 443 : 80));
    const onread: OnReadOpts = {
      buffer: Buffer.allocUnsafe(READ_SIZE),
      callback: (length: number, buffer: Buffer) => {
        this.read(buffer.subarray(0, length));
        return true;
      },
    };
    // SNI names a host, never an address (RFC 6066 §3). tls.connect takes `onread` as
    // net.connect does (Node's tls docs); @types/node leaves it out of ConnectionOptions.
    const secure: ConnectionOptions & { onread: OnReadOpts } = {
      host,
      port,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      ALPNProtocols: ["http/1.1"],
      onread,
    };
    this.socket = https ? tlsConnect(secure) : netConnect({ host, port, onread });
    this.socket.setNoDelay(true);
    strictChunkSizes(this.parser);
    this.parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const headers: Record<string, string> = {};
      // The parser checks its 80 KiB only when an `execute` ends inside a head: one that ends
      // in the same slice passes whatever its size (up to about 144 KiB).
      let size = 0;
      for (let i = 0; i < info.headers.length; i += 2) {
        const name = info.headers[i]!.toLowerCase();
        const value = info.headers[i + 1]!;
        size += name.length + value.length + 4;
        if (size > HEAD_MAX) throw new Error("bad HTTP reply: max header size exceeded");
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
      const exchange = this.exchange;
      // A reply in the same read as the last one's end, to a request never sent.
      if (exchange === undefined) throw new Error("the server sent a reply nobody asked for");
      // No upgrade was asked for; other 1xx (100 Continue, 103 Early Hints) come before the
      // reply and have no body.
      if (info.statusCode === 101) throw new Error("the server switched protocols");
      if (info.statusCode >= 100 && info.statusCode < 200) {
        this.interim = true;
        return 1;
      }
      // http-parser-js reads "gzip, chunked" as no chunking and a Content-Length with Number
      // ("-5" steps back, "0x10" is 16): either would frame the body wrongly.
      const te = headers["transfer-encoding"];
      const cl = headers["content-length"];
      if (te !== undefined && te.trim().toLowerCase() !== "chunked")
        throw new Error(`bad HTTP reply: unsupported transfer-encoding ${JSON.stringify(te)}`);
      if (cl !== undefined && te === undefined && !/^\s*\d{1,15}\s*$/.test(cl))
        throw new Error(`bad HTTP reply: content-length ${JSON.stringify(cl)}`);
      // Both framings at once (chunked wins) is how replies are smuggled: not reused.
      this.keepAlive = info.shouldKeepAlive && !(te !== undefined && cl !== undefined);
      exchange.head = { statusCode: info.statusCode, headers };
      const taken = exchange.accept(exchange.head);
      if (taken !== "text") exchange.sink = taken;
      // Never a body, whatever a Content-Length says (llhttp's rule too): 1 skips it.
      return info.statusCode === 204 || info.statusCode === 304 ? 1 : 0;
    };
    this.parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const exchange = this.exchange!;
      const piece = chunk.subarray(offset, offset + length);
      if (exchange.sink !== undefined) exchange.sink(piece);
      else if (exchange.textBytes < TEXT_MAX) {
        const kept = piece.subarray(0, TEXT_MAX - exchange.textBytes);
        exchange.text.push(Buffer.from(kept));
        exchange.textBytes += kept.length;
      }
    };
    this.parser[HTTPParser.kOnMessageComplete] = () => {
      if (this.interim) {
        this.interim = false;
        return;
      }
      const exchange = this.exchange!;
      this.exchange = undefined;
      exchange.resolve({
        head: exchange.head!,
        text: Buffer.concat(exchange.text).toString("utf8"),
      });
      if (this.keepAlive && !this.closed) this.onIdle(this);
      else this.close();
    };
    this.socket.on("timeout", () => this.stalled());
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("end", () => {
      // A body that runs to the end of the connection ends here.
      if (this.exchange !== undefined) this.parser.finish();
      this.fail(new Error("the connection closed before the reply ended"));
    });
    this.socket.on("close", () =>
      this.fail(new Error("the connection closed before the reply ended")),
    );
  }

  /**
   * Sends a GET; the reply settles `exchange`, or its `stallMs` of silence does (the socket's
   * idle timer, which every read and write restarts; idle in the pool, it is off).
   */
  send(url: URL, headers: Record<string, string>, exchange: Exchange, stallMs = 0): void {
    this.exchange = exchange;
    this.interim = false;
    this.parser.reinitialize(HTTPParser.RESPONSE);
    this.socket.ref();
    this.socket.setTimeout(stallMs);
    this.stalled = () => this.fail(stalled(url, stallMs));
    let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    this.socket.write(`${head}\r\n`, "latin1");
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Ends the exchange under way, if any, with `err`, and the connection with it. */
  fail(err: Error): void {
    this.closed = true;
    const exchange = this.exchange;
    this.exchange = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    exchange?.reject(err);
  }

  private read(bytes: Buffer): void {
    const exchange = this.exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for (a server talking out of turn): the connection is unusable.
      this.fail(new Error("the server sent bytes outside a reply"));
      return;
    }
    exchange.answered = true;
    // What follows the end of a reply in the same read is parsed as the start of another
    // (refused above once it is a whole head) and dropped with the parser's state at the next
    // request (`send`).
    for (let at = 0; at < bytes.length && this.exchange !== undefined; at += PARSE_SLICE) {
      let parsed: number | Error;
      try {
        parsed = this.parser.execute(bytes, at, Math.min(PARSE_SLICE, bytes.length - at));
      } catch (err) {
        // What accept or the sink threw.
        this.fail(err as Error);
        return;
      }
      if (parsed instanceof Error) {
        this.fail(new Error(`bad HTTP reply: ${parsed.message}`));
        return;
      }
      if (framingHeld(this.parser) > FRAMING_MAX) {
        this.fail(new Error("bad HTTP reply: chunk framing too long"));
        return;
      }
    }
  }
}

const idle = new Map<string, Connection[]>();

/** An idle connection to `origin`, if one is still open. */
function reuse(origin: string): Connection | undefined {
  const list = idle.get(origin);
  for (let c = list?.pop(); c !== undefined; c = list?.pop()) if (!c.closed) return c;
  return undefined;
}

function open(url: URL): Connection {
  return new Connection(url, (connection) => {
    const list = idle.get(url.origin) ?? [];
    if (list.length >= IDLE_MAX) return connection.close();
    connection.socket.unref();
    connection.socket.setTimeout(0);
    list.push(connection);
    idle.set(url.origin, list);
  });
}

/**
 * GETs `url` (http or https) with `headers` (names and values as HTTP allows them, else a
 * TypeError; `host` is set here) on a kept-alive connection; `accept` decides on the head what
 * becomes of the body. Resolves once the whole reply is in; rejects on a network error, a reply
 * cut short, an unparseable reply, what `accept` or the sink throw, `stalled` after
 * `options.stallMs` of silence, or `options.signal`'s abort (with its reason). A kept
 * connection the server closed before answering is replaced by a fresh one once. Redirects are
 * not followed (download.ts does, with its rules).
 */
export async function rawGet(
  url: string,
  headers: Record<string, string>,
  accept: Accept,
  options: RawGetOptions = {},
): Promise<RawReply> {
  const { signal, stallMs } = options;
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:")
    throw new TypeError(`not an http(s) URL: ${target.protocol}`);
  for (const [name, value] of Object.entries(headers))
    if (!TOKEN.test(name) || name.toLowerCase() === "host" || !FIELD_VALUE.test(value))
      throw new TypeError(`not a header to send: ${JSON.stringify(name)}`);
  // Checked before a connection is opened: socket.setTimeout would throw once it is, leaving the
  // connection open and the exchange to reject unheard when the server closes it (a crash).
  if (stallMs !== undefined && !(typeof stallMs === "number" && stallMs >= 0 && stallMs < 2 ** 31))
    throw new RangeError(`stallMs must be 0 … 2^31 - 1, not ${String(stallMs)}`);
  signal?.throwIfAborted();
  for (let fresh = false; ; fresh = true) {
    const kept = fresh ? undefined : reuse(target.origin);
    const connection = kept ?? open(target);
    const exchange: Exchange = {
      accept,
      resolve: () => undefined,
      reject: () => undefined,
      text: [],
      textBytes: 0,
      answered: false,
    };
    const settled = new Promise<RawReply>((resolve, reject) => {
      exchange.resolve = resolve;
      exchange.reject = reject;
    });
    const abort = () => connection.fail(signal!.reason as Error);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      connection.send(target, headers, exchange, stallMs);
      return await settled;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // A kept connection the server had closed meanwhile (its keep-alive timeout): once more
      // on a new one, since nothing of the reply came. A silent server is not asked twice.
      if (kept === undefined || exchange.answered || (err as SignetApiError).code === "stalled")
        throw err;
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }
}
