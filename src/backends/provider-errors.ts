/**
 * One table for the ways a provider call fails that are not the caller's doing: Signet's
 * credentials refused, the bucket or container missing, throttling, timeouts, network errors and
 * the provider's own 5xx. Each becomes `backend_unavailable` (503) with the provider's name and
 * code in the message, e.g.
 *
 *   503 backend_unavailable "s3: credentials refused (InvalidAccessKeyId, 403)"
 *
 * never a raw SDK error (its message can quote a signature or a request) nor a 500. Errors the
 * caller can fix (a missing object, a bad range) stay with each backend.
 */
import { SignetError } from "../core/errors.js";

export type ProviderFailure =
  "credentials refused" | "bucket missing" | "throttled" | "timed out" | "unreachable" | "failed";

/** Provider error codes by failure (S3, GCS, Azure and Swift spellings). */
const CODES: Record<string, ProviderFailure> = {
  InvalidAccessKeyId: "credentials refused",
  SignatureDoesNotMatch: "credentials refused",
  AccessDenied: "credentials refused",
  ExpiredToken: "credentials refused",
  InvalidToken: "credentials refused",
  AuthenticationFailed: "credentials refused",
  AuthorizationFailure: "credentials refused",
  AuthorizationPermissionMismatch: "credentials refused",
  InvalidAuthenticationInfo: "credentials refused",
  NoSuchBucket: "bucket missing",
  ContainerNotFound: "bucket missing",
  ContainerBeingDeleted: "bucket missing",
  SlowDown: "throttled",
  Throttling: "throttled",
  ThrottlingException: "throttled",
  ServerBusy: "throttled",
  TooManyRequests: "throttled",
  RequestTimeout: "timed out",
  TimeoutError: "timed out",
  OperationTimedOut: "timed out",
  AbortError: "timed out",
  RequestAbortedError: "timed out",
  UND_ERR_CONNECT_TIMEOUT: "timed out",
  UND_ERR_HEADERS_TIMEOUT: "timed out",
  UND_ERR_BODY_TIMEOUT: "timed out",
  ETIMEDOUT: "timed out",
  ECONNREFUSED: "unreachable",
  ECONNRESET: "unreachable",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  ENOTFOUND: "unreachable",
  EAI_AGAIN: "unreachable",
  EPIPE: "unreachable",
  UND_ERR_SOCKET: "unreachable",
  REQUEST_SEND_ERROR: "unreachable",
};

/** By HTTP status, when the code is unknown. */
function byStatus(status: number | undefined): ProviderFailure | undefined {
  if (status === undefined) return undefined;
  if (status === 401 || status === 403) return "credentials refused";
  if (status === 429 || status === 503) return "throttled";
  if (status === 408 || status === 504) return "timed out";
  if (status >= 500) return "failed";
  return undefined;
}

/** A code worth quoting: a short identifier, never free text from the provider. */
const quotable = (code: unknown): code is string =>
  typeof code === "string" && /^[A-Za-z][\w.-]{0,63}$/.test(code);

/**
 * The 503 for a provider failure. `provider` names the backend ("s3"), `code` the provider's
 * own error code when it gave one, `status` its HTTP status.
 */
export function unavailable(
  provider: string,
  failure: ProviderFailure,
  code?: string,
  status?: number,
): SignetError {
  const detail = [quotable(code) ? code : undefined, status].filter((d) => d !== undefined);
  return new SignetError(
    "backend_unavailable",
    `${provider}: ${failure}${detail.length > 0 ? ` (${detail.join(", ")})` : ""}`,
  );
}

/**
 * The failure a provider's answer (code and status) stands for, or undefined when it is none of
 * the table's (the backend maps it itself: 404 object, 416, 409…).
 */
export function classify(code: string | undefined, status?: number): ProviderFailure | undefined {
  return (code !== undefined ? CODES[code] : undefined) ?? byStatus(status);
}

/**
 * Any error a provider call threw, as a SignetError: SignetErrors pass (an `internal` one from a
 * backend becomes 503: it means the provider refused Signet, not that Signet broke; every 503
 * names the provider first), SDK and
 * network errors go through the table, and anything unknown is still a 503 naming only its
 * class or code.
 */
export function providerError(provider: string, err: unknown): SignetError {
  if (err instanceof SignetError) {
    if (err.code !== "internal" && err.code !== "backend_unavailable") return err;
    const message = err.message.startsWith(`${provider}: `)
      ? err.message
      : `${provider}: ${err.message}`;
    return new SignetError("backend_unavailable", message);
  }
  const e = (err ?? {}) as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    statusCode?: unknown;
    status?: unknown;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: unknown };
  };
  const status = [e.$metadata?.httpStatusCode, e.statusCode, e.status].find(
    (s): s is number => typeof s === "number",
  );
  const codes = [e.Code, e.code, e.name, e.cause?.code].filter(quotable);
  for (const code of codes) {
    const failure = CODES[code];
    if (failure !== undefined) return unavailable(provider, failure, code, status);
  }
  const code = codes.find((c) => c !== "Error") ?? codes[0];
  return unavailable(provider, byStatus(status) ?? "failed", code, status);
}
