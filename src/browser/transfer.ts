/**
 * One HTTP upload request from the browser with progress: XMLHttpRequest, because fetch reports
 * no upload progress. Sends a PUT body, or a multipart/form-data POST (signed `fields` first,
 * then the file, as S3 POST policies and Signet's form uploads expect).
 */

export interface SendOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** form POST fields; the body is then sent as the form's `file` */
  fields?: Record<string, string>;
  body: Blob;
  /** bytes of this request sent so far */
  onProgress?: (sent: number) => void;
  signal?: AbortSignal;
  /**
   * Milliseconds the request may go without a progress event (bytes sent or received) or a
   * state change; then it is aborted and rejects with a `TransferError` of status 0, as a
   * network error does. Absent or 0: never.
   */
  stallMs?: number;
}

/** A request that reached the server and was refused (status ≥ 300) or failed on the network (0). */
export class TransferError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "TransferError";
  }
}

/** Sends the request; answers the response's ETag (or null when the server exposes none). */
export function send(options: SendOptions): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(abortError());
    const xhr = new XMLHttpRequest();
    xhr.open(options.method, options.url);
    // Browsers set Content-Length themselves and forbid scripts from setting it.
    for (const [name, value] of Object.entries(options.headers ?? {}))
      if (name !== "content-length" && name !== "host") xhr.setRequestHeader(name, value);
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // XHR's own `timeout` bounds the whole request, which a large part on a slow link exceeds:
    // this one restarts with every sign of life.
    const alive = () => {
      if (!options.stallMs) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, options.stallMs);
    };
    xhr.upload.onprogress = (e) => {
      alive();
      options.onProgress?.(e.loaded);
    };
    xhr.onprogress = alive;
    xhr.onreadystatechange = alive;
    const onAbort = () => xhr.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(options.body.size);
        resolve(xhr.getResponseHeader("etag"));
      } else
        reject(new TransferError(xhr.status, `upload refused: HTTP ${xhr.status} ${excerpt(xhr)}`));
    };
    xhr.onerror = () => {
      done();
      reject(new TransferError(0, "network error during upload"));
    };
    xhr.onabort = () => {
      done();
      reject(
        stalled
          ? new TransferError(0, `no progress for ${options.stallMs! / 1000} s: the upload stalled`)
          : abortError(),
      );
    };
    if (options.fields !== undefined) {
      const form = new FormData();
      for (const [name, value] of Object.entries(options.fields)) form.append(name, value);
      form.append("file", options.body);
      xhr.send(form);
    } else xhr.send(options.body);
    alive();
  });
}

const excerpt = (xhr: XMLHttpRequest) => (xhr.responseText ?? "").slice(0, 200);

/** The DOMException fetch itself throws on abort, so callers test `name === "AbortError"`. */
export const abortError = () => new DOMException("the upload was aborted", "AbortError");
