/**
 * Uploads through an upload intent: one PUT for a small file, else parallel parts, each retried
 * with backoff and re-signed (`POST /v1/uploads/{id}/parts`) when its URL expired; then
 * complete, which commits only after Signet checked the stored object against the file's size
 * and sha256 (so a part corrupted on the way is refused there, never committed).
 *
 * Resume: a multipart upload keeps `{ version, fileId, size, mtimeMs, sha256, parts: {n: etag} }`
 * in a state file (default `FILE.signet-put.json`); a later put of the same, unchanged file to
 * the same place uploads only the parts it lacks, while the intent is still open.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { Transform } from "node:stream";
import { request } from "./http.js";
import type { FileInfo, Intent, PartRequest, SignedRequest, UploadInput } from "../api/types.js";
import { partsCutInOrder } from "../api/part-plan.js";
import type { Progress } from "./download.js";
import { sha256Of } from "./prefix-hash.js";
import { STALL_TIMEOUT, stallMsOf } from "../api/stall.js";
import { failure, SignetApiError, withRetries } from "./errors.js";

/** The control-plane calls an upload needs (SignetClient implements them). */
export interface UploadApi {
  server: string;
  createUpload(input: UploadInput, idempotencyKey?: string): Promise<Intent>;
  signParts(id: string, partNumbers: number[]): Promise<PartRequest[]>;
  completeUpload(
    id: string,
    parts: { partNumber: number; etag: string }[] | undefined,
    idempotencyKey?: string,
  ): Promise<{ file: FileInfo }>;
  getFile(id: string): Promise<FileInfo>;
}

export interface PutOptions {
  /** default: from the key's (else the file's) extension, else application/octet-stream */
  contentType?: string;
  expiresIn?: number;
  /** above this size (default 16 MiB) the file goes up in parallel parts */
  multipartThreshold?: number;
  /** default 8 MiB */
  partSize?: number;
  /** parallel parts (default 4) */
  concurrency?: number;
  onProgress?: Progress;
  /** replace a committed file at the key */
  upsert?: boolean;
  /** resume from (and keep) a state file; default true */
  resume?: boolean;
  /** default `FILE.signet-put.json` */
  stateFile?: string;
  /** attempts per part (default 5) */
  attempts?: number;
  /**
   * Seconds a PUT may go without sending or receiving a byte before it fails as `stalled` and
   * is tried again (default `STALL_TIMEOUT`, 60; 0 or Infinity: never; a negative is a RangeError)
   */
  stallTimeout?: number;
  /** told, before anything is sent, how many parts an interrupted upload already stored */
  onResume?: (storedParts: number) => void;
}

interface PutState {
  version: 1;
  server: string;
  bucket: string;
  key: string;
  fileId: string;
  size: number;
  mtimeMs: number;
  partSize: number;
  upload: { uploadId: string; partSize: number; parts: PartRequest[] };
  /** partNumber → etag of parts the store has */
  done: Record<string, string>;
}

/** Passes bytes through, counting them. */
class ByteMeter extends Transform {
  bytes = 0;

  constructor(onBytes: (n: number) => void) {
    super({
      transform: (chunk: Buffer, _enc, next) => {
        this.bytes += chunk.length;
        onBytes(chunk.length);
        next(null, chunk);
      },
    });
  }
}

/**
 * Streams a file, or its bytes `start..end` (inclusive), to a signed PUT; returns the ETag.
 * `onBytes` gets each chunk's length, and minus what was sent when the attempt fails. Fails
 * with `stalled` after `stallTimeout` seconds (default 60; 0: never) without a byte either way.
 */
export async function putBytes(
  signed: Pick<SignedRequest, "url" | "headers">,
  file: string,
  onBytes: (n: number) => void = () => {},
  range?: { start: number; end: number },
  stallTimeout = STALL_TIMEOUT,
): Promise<string> {
  const stallMs = stallMsOf(stallTimeout);
  const size = range === undefined ? (await stat(file)).size : range.end - range.start + 1;
  const source = createReadStream(file, range ?? {});
  const meter = new ByteMeter(onBytes);
  const body = source.pipe(meter);
  source.once("error", (err) => body.destroy(err));
  try {
    const res = await request(signed.url, {
      method: "PUT",
      headers: { ...signed.headers, "content-length": String(size) },
      body,
      stallMs,
    });
    if (res.statusCode >= 300) throw await failure(res.statusCode, res.body, res.headers);
    await res.body.dump();
    const etag = res.headers.etag;
    return typeof etag === "string" ? etag : "";
  } catch (err) {
    // A request that failed part-way (stalled, cut off, refused early) leaves the file
    // unpiped, not closed: each attempt would keep a descriptor.
    source.destroy();
    onBytes(-meter.bytes);
    throw err;
  }
}

/** A content type from a name's extension, else `application/octet-stream`. */
export async function guessContentType(...names: string[]): Promise<string> {
  // Loaded when a put needs it: the CLI's start-up stays free of the types table.
  const { contentTypeOf } = await import("../core/content-type.js");
  return contentTypeOf(...names);
}

async function readState(path: string): Promise<PutState | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as PutState;
  } catch {
    return undefined;
  }
}

/** Uploads `file` to `bucket/key`; see the module comment. Returns the committed file. */
export async function putFile(
  api: UploadApi,
  file: string,
  bucket: string,
  key: string,
  options: PutOptions = {},
): Promise<FileInfo> {
  // A bad stallTimeout is refused before an intent is made (putBytes would refuse every PUT).
  stallMsOf(options.stallTimeout);
  const { size, mtimeMs } = await stat(file);
  const partSize = options.partSize ?? 8 * 1024 * 1024;
  const multipart = size > (options.multipartThreshold ?? 16 * 1024 * 1024);
  const stateFile = options.stateFile ?? `${file}.signet-put.json`;
  const resume = options.resume ?? true;

  let state = resume && multipart ? await readState(stateFile) : undefined;
  if (
    state !== undefined &&
    !(
      state.version === 1 &&
      state.server === api.server &&
      state.bucket === bucket &&
      state.key === key &&
      state.size === size &&
      state.mtimeMs === mtimeMs &&
      state.partSize === partSize &&
      (await api.getFile(state.fileId).then(
        (f) => f.status === "pending",
        () => false,
      ))
    )
  )
    state = undefined;

  // The state file is data anyone who can write beside FILE could have planted: its part plan
  // must cut the file in order, and its part URLs are not used (the parts left are signed
  // afresh below), so the bytes go only where Signet signs.
  if (
    state !== undefined &&
    !partsCutInOrder(
      state.size,
      state.upload?.partSize,
      state.upload?.parts,
      typeof state.done === "object" && state.done !== null
        ? Object.keys(state.done).map(Number)
        : [undefined],
    )
  )
    state = undefined;
  const resumed = state !== undefined;
  if (state !== undefined) options.onResume?.(Object.keys(state.done).length);
  let intent: Intent | undefined;
  if (state === undefined) {
    intent = await api.createUpload(
      {
        bucket,
        key,
        size,
        sha256: await sha256Of(file),
        contentType: options.contentType ?? (await guessContentType(key, file)),
        expiresIn: options.expiresIn,
        ...(multipart ? { multipart: { partSize } } : {}),
        ...(options.upsert ? { upsert: true } : {}),
      },
      randomUUID(),
    );
    if (!("url" in intent.upload))
      state = {
        version: 1,
        server: api.server,
        bucket,
        key,
        fileId: intent.file.id,
        size,
        mtimeMs,
        partSize,
        upload: intent.upload,
        done: {},
      };
  }

  let sent = 0;
  const onBytes = (n: number) => {
    sent += n;
    options.onProgress?.(sent, size);
  };

  if (state === undefined) {
    // A single PUT: nothing to resume, transient failures retried.
    const single = intent!.upload as SignedRequest;
    await withRetries(() => putBytes(single, file, onBytes, undefined, options.stallTimeout), {
      attempts: options.attempts,
    });
    return (await api.completeUpload(intent!.file.id, undefined, randomUUID())).file;
  }

  const current = state;
  const save = async () => {
    if (!resume) return;
    // It holds signed part URLs, which are bearer secrets until they expire: owner-only.
    await writeFile(`${stateFile}.tmp`, JSON.stringify(current), { mode: 0o600 });
    await rename(`${stateFile}.tmp`, stateFile);
  };
  // State writes are chained so two parts finishing together never interleave.
  let saving: Promise<void> = save();
  for (const part of current.upload.parts)
    if (current.done[part.partNumber] !== undefined) sent += part.end - part.start + 1;
  options.onProgress?.(sent, size);

  const queue = current.upload.parts.filter((p) => current.done[p.partNumber] === undefined);
  if (resumed && queue.length > 0) {
    const fresh = await api.signParts(
      current.fileId,
      queue.map((p) => p.partNumber),
    );
    for (const [i, part] of queue.entries()) {
      const signed = fresh.find((f) => f.partNumber === part.partNumber);
      if (signed === undefined) throw new SignetApiError(0, "no_part", "no part URL was signed");
      queue[i] = current.upload.parts[part.partNumber - 1] = {
        ...signed,
        start: part.start,
        end: part.end,
      };
    }
  }
  const expiring = (signed: SignedRequest) => Date.parse(signed.expiresAt) - Date.now() < 5_000;
  const renew = async (part: PartRequest): Promise<PartRequest> => {
    const [fresh] = await api.signParts(current.fileId, [part.partNumber]);
    if (fresh === undefined) throw new SignetApiError(0, "no_part", "no part URL was signed");
    const renewed = { ...fresh, start: part.start, end: part.end };
    current.upload.parts[part.partNumber - 1] = renewed;
    return renewed;
  };
  const worker = async () => {
    for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
      let signed = part;
      const etag = await withRetries(
        async (expired) => {
          if (expired || expiring(signed)) signed = await renew(signed);
          const range = { start: signed.start, end: signed.end };
          return putBytes(signed, file, onBytes, range, options.stallTimeout);
        },
        { attempts: options.attempts },
      );
      current.done[signed.partNumber] = etag;
      saving = saving.then(save);
      await saving;
    }
  };
  // A part that fails for good stops new parts; those in flight finish and are recorded, so a
  // resume does not send them again.
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
  const results = await Promise.allSettled(
    Array.from({ length: workers }, () =>
      worker().catch((err: unknown) => {
        queue.length = 0;
        throw err;
      }),
    ),
  );
  await saving;
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  const parts = Object.entries(current.done)
    .map(([n, etag]) => ({ partNumber: Number(n), etag }))
    .sort((a, b) => a.partNumber - b.partNumber);
  const { file: committed } = await api.completeUpload(current.fileId, parts, randomUUID());
  await rm(stateFile, { force: true });
  return committed;
}
