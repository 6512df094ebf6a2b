/**
 * The SDKs' one error class, shared by `signet` (Node) and `signet/browser`: no `node:` import,
 * so the browser bundle can carry it.
 */

/**
 * An API refusal: the HTTP status and Signet's stable error code (`unauthorized`, `forbidden`,
 * …; `http_error` for a non-JSON answer), with the input field it names when there is one, and
 * for a 429 or 503 the seconds to wait that the reply's `Retry-After` gave (RFC 9110 §10.2.3).
 */
export class SignetApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "SignetApiError";
  }
}

/**
 * Seconds from a `Retry-After` header in its delay form (a whole number of seconds); undefined
 * for none, or for its date form, which a client whose clock differs from the server's cannot
 * read safely.
 */
export function retryAfterOf(header: string | string[] | null | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  return text !== undefined && text !== null && /^\d{1,6}$/.test(text.trim())
    ? Number(text)
    : undefined;
}
