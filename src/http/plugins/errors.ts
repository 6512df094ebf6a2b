/**
 * One error handler for every surface: SignetErrors keep their code; Fastify's own errors
 * (bad JSON, wrong media type, oversized body) are mapped by status; anything else is a 500
 * whose detail goes to the log only.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type ErrorCode, SignetError } from "../../core/errors.js";

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  414: "invalid_request",
  415: "invalid_request",
  416: "range_not_satisfiable",
  429: "rate_limited",
  431: "headers_too_large",
  503: "backend_unavailable",
};

/** Errors of a full disk or quota (the blob store's files, SQLite), whatever layer raised them. */
const STORAGE_FULL = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL"]);

export function asSignetError(error: unknown): SignetError {
  if (error instanceof SignetError) return error;
  if (STORAGE_FULL.has((error as { code?: string }).code ?? ""))
    return new SignetError("insufficient_storage", "the server has no space left to store this");
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = CODE_FOR_STATUS[status] ?? "invalid_request";
    return new SignetError(code, (error as Error).message);
  }
  return new SignetError("internal", "internal error");
}

/** The error code each refused reply was sent with (for the refusals metric). */
export const refusalOf = new WeakMap<FastifyReply, string>();

/**
 * Answers a refusal: its status, `Retry-After`, its code for the request log and the refusals
 * metric, and its body (the API's error shape unless `body` gives another, as DRS's).
 */
export function sendError(
  reply: FastifyReply,
  error: SignetError,
  body: (error: SignetError) => object = (e) => ({ error: e.toBody() }),
): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(error.retryAfterSeconds));
  reply.errorCode = error.code;
  refusalOf.set(reply, error.code);
  return reply.code(error.status).type("application/json; charset=utf-8").send(body(error));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const signetError = asSignetError(error);
    if (signetError.code === "internal") request.log.error({ err: error }, "unhandled error");
    return sendError(reply, signetError);
  });
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, new SignetError("not_found", "no such route")),
  );
  // Node's own check (requireHostHeader, turned off in limits.ts) answers with no body. A
  // callback hook, as every hook run on each request (no promise per request); the refusal
  // comes a microtask later, as from an async hook, after the HTTP parser's own verdict on
  // the bytes that follow the headers (see plugins/auth.ts).
  app.addHook("onRequest", (request, reply, done) => {
    if (request.raw.httpVersion === "1.1" && request.headers.host === undefined) {
      reply.header("connection", "close");
      const refusal = new SignetError("invalid_request", "an HTTP/1.1 request needs a Host header");
      queueMicrotask(() => done(refusal));
      return;
    }
    done();
  });
}

/**
 * For `frameworkErrors`: errors Fastify raises before routing. Their messages quote the URL,
 * which may carry a token, so the caller gets a fixed message instead.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const code = error.code === "FST_ERR_BAD_URL" ? "invalid_key" : asSignetError(error).code;
  void sendError(
    reply,
    new SignetError(
      code,
      code === "invalid_key"
        ? "the URL is not valid percent-encoded UTF-8"
        : "the request is malformed",
    ),
  );
}

/**
 * What Node's HTTP parser (llhttp) and its timeouts refuse before Fastify sees a request, by
 * the error's `code`: our error code and a fixed message (the parser's own error carries the
 * raw bytes, which may hold a token, so none of it is echoed or logged).
 */
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: ["request_timeout", "the request did not arrive in time"],
  HPE_HEADER_OVERFLOW: ["headers_too_large", "the request's headers are too large"],
  HPE_INVALID_CONTENT_LENGTH: ["invalid_request", "Content-Length is not a valid length"],
  HPE_UNEXPECTED_CONTENT_LENGTH: ["invalid_request", "Content-Length is sent more than once"],
  HPE_INVALID_TRANSFER_ENCODING: [
    "invalid_request",
    "Transfer-Encoding is invalid or sent with Content-Length",
  ],
  HPE_INVALID_CHUNK_SIZE: ["invalid_request", "the chunked body is malformed"],
  HPE_CR_EXPECTED: ["invalid_request", "a line of the request does not end with CRLF"],
  HPE_LF_EXPECTED: ["invalid_request", "a line of the request does not end with CRLF"],
  HPE_INVALID_HEADER_TOKEN: [
    "invalid_request",
    "a header name or value holds a character HTTP does not allow",
  ],
  HPE_INVALID_METHOD: ["invalid_request", "the request line is malformed (method)"],
  HPE_INVALID_URL: ["invalid_request", "the request line is malformed (target)"],
  HPE_INVALID_CONSTANT: ["invalid_request", "the request line is malformed"],
  HPE_INVALID_VERSION: ["invalid_request", "the request line is malformed (version)"],
};

/** The JSON error for a parser error code, as one raw HTTP/1.1 answer that closes the connection. */
export function clientErrorAnswer(parserCode: string | undefined): string {
  const [code, message] = CLIENT_ERRORS[parserCode ?? ""] ?? [
    "invalid_request",
    "the request is not valid HTTP/1.1",
  ];
  const error = new SignetError(code, message);
  const body = JSON.stringify({ error: error.toBody() });
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
    "Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * For Fastify's `clientErrorHandler` (the server's 'clientError' event): the API's error shape
 * instead of Fastify's default body, on every surface (one server). As Node does, it answers
 * only when no answer of a request has started on the socket; then the socket is closed.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Duplex,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  // Only the code: the error's rawPacket holds the request's bytes.
  this.log.debug({ code: error.code }, "client error");
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  // end (not destroy) lets the answer reach a client still sending; one that keeps the
  // connection half-open is cut a moment later.
  socket.end(clientErrorAnswer(error.code));
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}

/** How long a connection refused by the parser may stay half-open, ms. */
const CLIENT_ERROR_LINGER_MS = 1_000;
