/**
 * The SDKs' one error class, shared by `signet` (Node) and `signet/browser`: no `node:` import,
 * so the browser bundle can carry it.
 */

/**
 * An API refusal: the HTTP status and Signet's stable error code (`unauthorized`, `forbidden`,
 * …; `http_error` for a non-JSON answer), with the input field it names when there is one.
 */
export class SignetApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "SignetApiError";
  }
}
