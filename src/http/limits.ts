/**
 * Server limits against slow, flooding and hostile clients, all configurable (`limits` in the
 * config file, seconds and bytes):
 *
 * - headers must arrive within `headersTimeoutSeconds` (slowloris), a whole request within
 *   `requestTimeoutSeconds` (0: none, for very large uploads on slow links);
 * - a connection silent for `bodyIdleTimeoutSeconds` while a request is under way is cut, body
 *   included: a stalled data-plane upload is aborted and its temporary file removed;
 * - idle keep-alive connections close after `keepAliveTimeoutSeconds`; at most `maxConnections`
 *   are open at once (more are closed on arrival);
 * - control-plane bodies are at most `maxBodyBytes` (refused from Content-Length before reading),
 *   arrive whole within `controlBodyTimeoutSeconds` (a trickle is cut, however steady), and
 *   JSON is valid UTF-8 and at most `maxJsonDepth` deep (refused by a linear scan before parsing).
 *
 * Any answer sent before its request's body was fully received closes the connection, so a
 * client refused at once (401, 404, 413) cannot keep the socket by trickling the rest.
 */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { SignetError } from "../core/errors.js";
import type { LimitsConfig } from "../service/config.js";

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  controlBodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 900_000,
  bodyIdleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_024,
  maxBodyBytes: 1024 * 1024,
  maxJsonDepth: 32,
  controlBodyTimeoutMs: 30_000,
};

/** The config's limits (seconds) over the defaults, in milliseconds. */
export function resolveLimits(config: LimitsConfig | undefined): ServerLimits {
  const ms = (seconds: number | undefined, fallback: number) =>
    seconds === undefined ? fallback : Math.round(seconds * 1000);
  return {
    headersTimeoutMs: ms(config?.headersTimeoutSeconds, DEFAULT_LIMITS.headersTimeoutMs),
    requestTimeoutMs: ms(config?.requestTimeoutSeconds, DEFAULT_LIMITS.requestTimeoutMs),
    bodyIdleTimeoutMs: ms(config?.bodyIdleTimeoutSeconds, DEFAULT_LIMITS.bodyIdleTimeoutMs),
    keepAliveTimeoutMs: ms(config?.keepAliveTimeoutSeconds, DEFAULT_LIMITS.keepAliveTimeoutMs),
    maxConnections: config?.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    maxBodyBytes: config?.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    maxJsonDepth: config?.maxJsonDepth ?? DEFAULT_LIMITS.maxJsonDepth,
    controlBodyTimeoutMs: ms(
      config?.controlBodyTimeoutSeconds,
      DEFAULT_LIMITS.controlBodyTimeoutMs,
    ),
  };
}

/** The Fastify (and Node http) options that carry the limits. */
export function serverOptions(limits: ServerLimits): Partial<FastifyServerOptions> {
  // Node checks headers and request timeouts on this period; a fraction of the shortest.
  const checkEvery = Math.max(
    100,
    Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyIdleTimeoutMs) / 4)),
  );
  return {
    bodyLimit: limits.maxBodyBytes,
    connectionTimeout: limits.bodyIdleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: checkEvery,
      // Checked by errors.ts instead, to answer with the API's error shape.
      requireHostHeader: false,
    },
  } as Partial<FastifyServerOptions>;
}

/**
 * The depth of the deepest array or object in a JSON text, by one pass over it (strings
 * skipped); it stops counting past `max`. Malformed text is left to the parser.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Strict UTF-8 (RFC 8259 §8.1): a body with invalid bytes is refused, never patched with U+FFFD. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of `bytes`, or undefined when they are not valid UTF-8. */
function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The largest unread request body drained after an early answer, in bytes. */
const DRAIN_MAX_BYTES = 64 * 1024;

/** Connection cap, JSON depth, and closing connections whose body is still coming. */
export function applyLimits(app: FastifyInstance, limits: ServerLimits): void {
  app.server.maxConnections = limits.maxConnections;
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const text = decodeUtf8(body as Buffer);
    if (text === undefined) {
      done(new SignetError("invalid_request", "the JSON body is not valid UTF-8"), undefined);
      return;
    }
    if (jsonDepthExceeds(text, limits.maxJsonDepth)) {
      done(
        new SignetError(
          "invalid_request",
          `the JSON body is nested deeper than ${limits.maxJsonDepth} levels`,
        ),
        undefined,
      );
      return;
    }
    parseJson(request, text, done);
  });
  // Callback hooks here and in the other hooks run on every request: no promise per request.
  app.addHook("onSend", (request, reply, payload, done) => {
    // Answered before the body was all read: a small declared remainder is read and dropped (so
    // the client, still sending, gets the answer rather than a reset); anything larger or of
    // unknown length closes the connection rather than drain what is still coming.
    if (!request.raw.complete) {
      const declared = Number(request.headers["content-length"]);
      if (Number.isSafeInteger(declared) && declared <= DRAIN_MAX_BYTES) request.raw.resume();
      else reply.header("connection", "close");
    }
    done(null, payload);
  });
}

/**
 * For the control plane's scope: a body must arrive whole within `controlBodyTimeoutMs`, or the
 * connection is cut. (Data-plane uploads are bounded by the idle and request timeouts only.)
 */
export function controlBodyDeadline(scope: FastifyInstance, limits: ServerLimits): void {
  scope.addHook("preParsing", (request, _reply, payload, done) => {
    if (!request.raw.complete) {
      const timer = setTimeout(() => request.raw.socket?.destroy(), limits.controlBodyTimeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      request.raw.once("end", clear);
      request.raw.once("close", clear);
    }
    done(null, payload);
  });
}
