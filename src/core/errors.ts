/**
 * The one error model of Signet. Every refusal, on every surface, is a SignetError
 * rendered as `{ error: { code, message, field? } }` with the status of its code.
 * Messages are written for callers: they never hold a secret or a full signature.
 */

export const STATUS_OF = {
  unauthorized: 401,
  invalid_request: 400,
  invalid_key: 400,
  expiry_too_long: 400,
  constraint_not_enforceable: 400,
  /** complete named a part that was not uploaded, or with another ETag */
  invalid_part: 400,
  /** complete named the parts out of ascending order, or one twice */
  invalid_part_order: 400,
  forbidden: 403,
  token_invalid: 403,
  token_expired: 403,
  token_revoked: 403,
  outside_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  file_changed: 409,
  precondition_failed: 412,
  not_revocable: 409,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  backend_unavailable: 503,
  insufficient_storage: 507,
} as const;

export type ErrorCode = keyof typeof STATUS_OF;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
}

export class SignetError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** for 429 `rate_limited`: sent as `Retry-After`, in whole seconds */
  retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = "SignetError";
    this.code = code;
    this.field = field;
  }

  get status(): number {
    return STATUS_OF[this.code];
  }

  toBody(): ErrorBody {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export const invalidRequest = (message: string, field?: string) =>
  new SignetError("invalid_request", message, field);

export const notFound = (what: string) => new SignetError("not_found", `${what} not found`);

export const forbidden = (rule: string) => new SignetError("forbidden", rule);

/**
 * The answer of promote when the staged object is no longer the one complete checked: a PUT
 * through the intent's still-live URL replaced it. One rule on every backend and the embedded
 * store (which backends/ may import and the store may not, so it lives here): the provider's
 * own source precondition refuses the copy (the embedded store: the blob id), the destination
 * keeps what it had, and the bytes staged since stay for complete to check again.
 */
export const stagedChanged = () =>
  new SignetError(
    "conflict",
    "other bytes were uploaded while complete checked these: complete again",
  );
