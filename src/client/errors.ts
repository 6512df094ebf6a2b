/** The SDK's error for a refusal by Signet or a store, and how a reply becomes one. */
import type { ApiErrorBody } from "../api/types.js";
import { retryAfterOf, SignetApiError } from "../api/errors.js";
import { classify, unavailable } from "../backends/provider-errors.js";

export { SignetApiError };

/**
 * A store's error body without signatures: S3 echoes `SignatureProvided`, and a URL quoted in
 * a message carries its signature or token in the query.
 */
export function redact(text: string): string {
  return text
    .replace(/(<SignatureProvided>)[^<]*/g, "$1[redacted]")
    .replace(
      /([?&](?:x-amz-signature|x-goog-signature|signature|sig|sv|t)=)[^&\s"'<]*/gi,
      "$1[redacted]",
    );
}

/**
 * Reads an error reply: Signet's `{ error }` JSON; else a store's own answer to a direct URL
 * (S3/GCS/Azure XML `<Code>`, Azure's `x-ms-error-code`, a bare Swift status) that the
 * provider-error table names (a missing bucket or container, throttling, a 5xx)
 * becomes `backend_unavailable` saying so, as Signet words it for its own calls; anything else
 * is `http_error` with the first 200 characters of the body.
 */
export async function failure(
  status: number,
  body: { text(): Promise<string> },
  headers: Record<string, string | string[] | undefined> = {},
): Promise<SignetApiError> {
  const text = await body.text();
  try {
    const { error } = JSON.parse(text) as { error: ApiErrorBody };
    return new SignetApiError(
      status,
      error.code,
      error.message,
      error.field,
      retryAfterOf(headers["retry-after"]),
    );
  } catch {
    const header = headers["x-ms-error-code"];
    const code =
      (typeof header === "string" ? header : undefined) ??
      /<Code>([A-Za-z][\w.-]{0,63})<\/Code>/.exec(text)?.[1];
    const failed = classify(code, status);
    // A direct URL's own 401/403 is about that URL (expired, wrong signature), not credentials.
    if (failed !== undefined && failed !== "credentials refused") {
      const { message } = unavailable("the store", failed, code, status);
      return new SignetApiError(status, "backend_unavailable", message);
    }
    return new SignetApiError(
      status,
      "http_error",
      `HTTP ${status}: ${redact(text.slice(0, 200))}`,
    );
  }
}

/** Worth another attempt: network errors, 5xx, 429, a short body, a stalled transfer. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof SignetApiError)) return true;
  return (
    err.status >= 500 || err.status === 429 || err.code === "short_body" || err.code === "stalled"
  );
}

/**
 * The error of a transfer to `url` that sent and received nothing for `ms` milliseconds:
 * `stalled`, retried as a network error is.
 */
export function stalled(url: string | URL, ms: number): SignetApiError {
  return new SignetApiError(
    0,
    "stalled",
    `${new URL(url).host} sent and received nothing for ${ms / 1000} s`,
  );
}

/** A URL that may have expired (or been signed with a key since rotated): ask for a new one. */
export function isExpired(err: unknown): boolean {
  return err instanceof SignetApiError && (err.status === 403 || err.status === 401);
}

/**
 * Runs `work` until it succeeds, at most `attempts` times, waiting 100 ms · 2ⁿ (with jitter),
 * or the refusal's `retryAfter` when longer (at most 60 s), between tries; `work` is told whether its last failure looked like an expired URL so it
 * can renew it. Permanent refusals (4xx other than an expiry, tried once renewed) throw.
 */
export async function withRetries<T>(
  work: (renew: boolean) => Promise<T>,
  options: { attempts?: number; baseDelayMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  let renew = false;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await work(renew);
    } catch (err) {
      const expired: boolean = isExpired(err) && !renew;
      if ((!expired && !isTransient(err)) || attempt >= attempts) throw err;
      renew = expired;
      if (!expired) {
        const backoff = (options.baseDelayMs ?? 100) * 2 ** (attempt - 1);
        // A server's Retry-After (at most a minute here) is a floor for the wait.
        const told = Math.min((err as Partial<SignetApiError>).retryAfter ?? 0, 60) * 1000;
        const delay = Math.max(backoff / 2 + Math.random() * (backoff / 2), told);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
