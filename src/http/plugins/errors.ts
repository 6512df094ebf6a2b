/**
 * One error handler for every surface: SignetErrors keep their code; Fastify's own errors
 * (bad JSON, wrong media type, oversized body) are mapped by status; anything else is a 500
 * whose detail goes to the log only.
 */
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
  431: "invalid_request",
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

export function sendError(reply: FastifyReply, error: SignetError): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(error.retryAfterSeconds));
  reply.errorCode = error.code;
  refusalOf.set(reply, error.code);
  return reply
    .code(error.status)
    .type("application/json; charset=utf-8")
    .send({ error: error.toBody() });
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
