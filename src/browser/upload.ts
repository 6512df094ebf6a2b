/**
 * `upload(file, options)`: a browser upload over an upload intent (DESIGN.md). Small files go in
 * one PUT (or the intent's form POST); larger ones in parallel multipart parts, each retried with
 * backoff. Progress is reported in bytes; `signal` aborts (and removes the partial data unless
 * `keepOnAbort`); an interrupted multipart upload throws `UploadInterrupted` whose `state`
 * (plain JSON, safe to keep in sessionStorage) resumes it with `upload(file, { resume })`.
 */
import { partsCutInOrder } from "../api/part-plan.js";
import { stallMsOf } from "../api/stall.js";
import { abortUpload, completeUpload, createUpload } from "./api.js";
import type { SignetClient } from "./client.js";
import { abortError, send, TransferError } from "./transfer.js";
import type { FileInfo, Intent, PartRequest, SignedRequest } from "./types.js";

/** Options of `upload`. Sizes are bytes. */
export interface UploadOptions {
  client: SignetClient;
  bucket: string;
  key: string;
  /** default: the file's own type, else Signet's guess from the key (else application/octet-stream) */
  contentType?: string;
  /** replace a committed file at that key (needs write and delete on it) */
  upsert?: boolean;
  /** files up to this size go in one request (default 16 MiB) */
  singleLimit?: number;
  /** send a small file as a browser form POST rather than a PUT (where the backend has forms) */
  form?: boolean;
  /** part size of multipart uploads (default 8 MiB) */
  partSize?: number;
  /** parts in flight at once (default 4) */
  concurrency?: number;
  /** attempts per part or single request before giving up (default 4) */
  attempts?: number;
  /**
   * seconds a request may go without progress before it is dropped and tried again (default
   * 60; 0 or Infinity: never; a negative is a RangeError)
   */
  stallTimeout?: number;
  onProgress?: (progress: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
  /** on abort, keep the partial upload so `resume` can continue it */
  keepOnAbort?: boolean;
  /** a state from `UploadInterrupted.state`: continue that upload instead of starting anew */
  resume?: ResumeState;
  /** called whenever a part is done, with a state that can resume from there */
  onState?: (state: ResumeState) => void;
}

/** What an interrupted multipart upload needs to resume: its intent and the parts done. */
export interface ResumeState {
  fileId: string;
  bucket: string;
  key: string;
  size: number;
  partSize: number;
  parts: PartRequest[];
  done: { partNumber: number; etag: string }[];
}

/** A multipart upload stopped part-way; `state` resumes it. */
export class UploadInterrupted extends Error {
  constructor(
    readonly state: ResumeState,
    override readonly cause: unknown,
  ) {
    super(`upload interrupted after ${state.done.length} of ${state.parts.length} parts`);
    this.name = "UploadInterrupted";
  }
}

const MiB = 1024 * 1024;

/** Uploads `file` to `bucket`/`key`; answers the committed file. */
export async function upload(file: Blob, options: UploadOptions): Promise<FileInfo> {
  const { client } = options;
  // Refused before an intent is made; a timer's limits (a longer one fires at once) kept.
  const stallMs = stallMsOf(options.stallTimeout);
  // Without one, Signet guesses from the key as `signet put` does (else octet-stream).
  const contentType = options.contentType || file.type || undefined;
  const total = file.size;
  const report = (loaded: number) => options.onProgress?.({ loaded, total });

  if (options.resume !== undefined) return runParts(file, options.resume, options, report);

  const multipart = total > (options.singleLimit ?? 16 * MiB);
  const intent = await createUpload(client, {
    bucket: options.bucket,
    key: options.key,
    size: total,
    contentType,
    upsert: options.upsert,
    ...(multipart
      ? { multipart: { partSize: options.partSize ?? 8 * MiB } }
      : { sha256: await sha256Base64(file), ...(options.form ? { method: "POST" as const } : {}) }),
  });
  if ("parts" in intent.upload)
    return runParts(file, stateOf(intent, options, total), options, report);

  const request = intent.upload;
  try {
    await withRetries(options, () =>
      send({
        method: request.method,
        url: request.url,
        headers: request.headers,
        fields: request.fields,
        body: file,
        onProgress: report,
        signal: options.signal,
        stallMs,
      }),
    );
  } catch (error) {
    if (!options.keepOnAbort) await abortUpload(client, intent.file.id).catch(() => undefined);
    throw error;
  }
  return (await completeUpload(client, intent.file.id)).file;
}

function stateOf(intent: Intent, options: UploadOptions, size: number): ResumeState {
  const plan = intent.upload as { partSize: number; parts: PartRequest[] };
  return {
    fileId: intent.file.id,
    bucket: options.bucket,
    key: options.key,
    size,
    partSize: plan.partSize,
    parts: plan.parts,
    done: [],
  };
}

async function runParts(
  file: Blob,
  state: ResumeState,
  options: UploadOptions,
  report: (loaded: number) => void,
): Promise<FileInfo> {
  if (file.size !== state.size) throw new Error("resume: this is not the file of that upload");
  const stallMs = stallMsOf(options.stallTimeout);
  if (
    options.resume !== undefined &&
    !partsCutInOrder(
      state.size,
      state.partSize,
      state.parts,
      state.done.map((d) => d.partNumber),
    )
  )
    throw new Error("resume: the state's parts do not cut this file in order");
  const { client } = options;
  const sent = new Map<number, number>();
  for (const part of state.done) {
    const plan = state.parts[part.partNumber - 1]!;
    sent.set(part.partNumber, plan.end - plan.start + 1);
  }
  const tally = () => report([...sent.values()].reduce((a, b) => a + b, 0));
  tally();
  const doneNumbers = new Set(state.done.map((p) => p.partNumber));
  const queue = state.parts.filter((p) => !doneNumbers.has(p.partNumber));
  // One controller stops the other parts when one fails for good.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // Aborted already (while the intent was created): no listener will fire, so stop now.
  if (options.signal?.aborted) stop.abort();
  // A resume state is data from outside (the app kept it somewhere): its part URLs are not
  // used, each remaining part is signed afresh by Signet, so the bytes go only where it signs.
  const resumed = options.resume !== undefined;

  const worker = async () => {
    for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
      const current = part;
      const etag = await withRetries(options, async () => {
        const signed = await freshPart(client, state, current, resumed);
        return send({
          method: signed.method,
          url: signed.url,
          headers: signed.headers,
          body: file.slice(current.start, current.end + 1),
          onProgress: (n) => {
            sent.set(current.partNumber, n);
            tally();
          },
          signal: stop.signal,
          stallMs,
        });
      });
      if (etag === null)
        throw new Error("the storage did not expose ETag: add it to the bucket's CORS config");
      state.done.push({ partNumber: current.partNumber, etag });
      options.onState?.(structuredClone(state));
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, async () => {
        try {
          await worker();
        } catch (error) {
          stop.abort();
          throw error;
        }
      }),
    );
  } catch (error) {
    options.signal?.removeEventListener("abort", onAbort);
    if (options.signal?.aborted) {
      if (!options.keepOnAbort) await abortUpload(client, state.fileId).catch(() => undefined);
      throw abortError();
    }
    throw new UploadInterrupted(structuredClone(state), error);
  }
  options.signal?.removeEventListener("abort", onAbort);
  const parts = [...state.done].sort((a, b) => a.partNumber - b.partNumber);
  return (await completeUpload(client, state.fileId, parts)).file;
}

/**
 * The part's signed request, or a fresh one when it expires within 30 s or `always` (a resumed
 * upload, whose state's URLs are not trusted).
 */
async function freshPart(
  client: SignetClient,
  state: ResumeState,
  part: PartRequest,
  always = false,
): Promise<SignedRequest> {
  if (!always && Date.parse(part.expiresAt) - Date.now() > 30_000) return part;
  const renewed = await client.request<{ url: string; headers?: Record<string, string> }>(
    "POST",
    "/v1/uppy/sign",
    {
      body: {
        bucket: state.bucket,
        method: "PUT",
        key: state.key,
        uploadId: state.fileId,
        partNumber: part.partNumber,
      },
    },
  );
  return { ...part, url: renewed.url, headers: { ...part.headers, ...renewed.headers } };
}

/** Runs `attempt` up to `options.attempts` times with exponential backoff; aborts are final. */
async function withRetries<T>(options: UploadOptions, attempt: () => Promise<T>): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const final =
        i >= attempts ||
        (error as Error).name === "AbortError" ||
        options.signal?.aborted === true ||
        // a refusal other than expiry, throttling or a server fault will not change on retry
        (error instanceof TransferError &&
          error.status >= 400 &&
          error.status < 500 &&
          error.status !== 408 &&
          error.status !== 429);
      if (final) throw error;
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** (i - 1))));
    }
  }
}

/** base64 SHA-256 of the bytes (WebCrypto), as upload intents take it. */
async function sha256Base64(blob: Blob): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}
