/**
 * Checking a Signet webhook on the receiving side. Each delivery is a POST whose
 * `Signet-Signature` header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`
 * (service/webhooks.ts). A receiver must check the MAC over the exact bytes it received, in
 * constant time, and refuse an old timestamp, or anyone who saw one delivery could send it again.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** What `verifyWebhook` checks against: the shared secret(s) and the replay window. */
export interface VerifyWebhookOptions {
  /** how far the signature's time may be from now, in seconds (default 300) */
  toleranceSeconds?: number;
  /** the current time in ms since the epoch (default `Date.now()`) */
  now?: number;
}

/** The header does not name a good signature; `reason` says which check failed. */
export class WebhookSignatureError extends Error {
  constructor(readonly reason: "malformed" | "mismatch" | "too_old" | "too_new") {
    super(`the Signet-Signature header does not verify (${reason})`);
    this.name = "WebhookSignatureError";
  }
}

const HEADER = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

/**
 * Checks a delivery's `Signet-Signature` header (as node:http gives it) against its raw body (the bytes as received,
 * before any JSON parsing) and answers the parsed event. `secret` may list several (a rotation:
 * the old and the new one). Throws `WebhookSignatureError` when the header is malformed, no
 * secret's MAC matches (compared in constant time), or its time is more than
 * `toleranceSeconds` away from now. A body that is neither a string nor a Buffer (already
 * parsed, as `express.json()` leaves it) is a TypeError: its bytes are gone, and re-serialised
 * JSON is not what was signed.
 */
export function verifyWebhook<Event = unknown>(
  body: string | Buffer,
  header: string | string[] | undefined,
  secret: string | string[],
  options: VerifyWebhookOptions = {},
): Event {
  if (typeof body !== "string" && !Buffer.isBuffer(body))
    throw new TypeError(
      "verifyWebhook needs the body as received (a string or Buffer, e.g. express.raw()), not parsed JSON",
    );
  // node:http answers a header sent twice as an array: one signature only.
  const one = Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : header;
  const match = HEADER.exec(one?.trim() ?? "");
  if (match === null) throw new WebhookSignatureError("malformed");
  const [, t, v1] = match as unknown as [string, string, string];
  const given = Buffer.from(v1, "hex");
  const signed = Buffer.concat([Buffer.from(`${t}.`), Buffer.from(body)]);
  const matches = (Array.isArray(secret) ? secret : [secret]).some((s) =>
    timingSafeEqual(createHmac("sha256", s).update(signed).digest(), given),
  );
  if (!matches) throw new WebhookSignatureError("mismatch");
  const age = (options.now ?? Date.now()) / 1000 - Number(t);
  const tolerance = options.toleranceSeconds ?? 300;
  if (age > tolerance) throw new WebhookSignatureError("too_old");
  if (age < -tolerance) throw new WebhookSignatureError("too_new");
  return JSON.parse(Buffer.from(body).toString("utf8")) as Event;
}
