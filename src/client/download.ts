/**
 * Parallel ranged downloads: a file is cut into parts, N connections fetch them at once and
 * write each chunk at its offset as it arrives (memory stays bounded by the chunks in flight,
 * never a whole part or file), each part is retried with backoff and its URL renewed when it
 * expires, and a state file beside the output lets an interrupted download resume with only
 * the parts it lacked. At the end the size and the sha256 are checked before the file takes
 * its name.
 *
 * Files: `OUT.signet-partial` (the bytes so far) and `OUT.signet-state.json`
 * (`{ version, validator, size, partSize, done: [partNumber…] }`).
 */
import { writeSync } from "node:fs";
import { type FileHandle, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { stallMsOf } from "../api/stall.js";
import { failure, SignetApiError, withRetries } from "./errors.js";
import { type Accept, type RawGetOptions, type RawHead, type RawReply, rawGet } from "./raw-get.js";
import { prefixHash } from "./prefix-hash.js";

/** Called with bytes done and the total, when known. */
export type Progress = (done: number, total: number | undefined) => void;

/** One part: inclusive byte offsets. */
export interface ByteRange {
  partNumber: number;
  start: number;
  end: number;
}

/** What to send for one part. */
export interface PartRequestInfo {
  url: string;
  headers: Record<string, string>;
}

/** Where a ranged download's bytes come from. */
export interface RangedSource {
  size: number;
  /** identifies the object's version (an ETag): a resume against another one starts over */
  validator: string;
  partSize: number;
  parts: ByteRange[];
  /** the request for one part; `renew` when the last one was refused as expired */
  request(part: ByteRange, renew: boolean): Promise<PartRequestInfo>;
  /** base64 sha256 the finished file must have, when known */
  sha256?: string;
  /**
   * A header every part's reply must repeat when it has it (the probe's ETag, else its
   * Last-Modified): a part of another version of the object is refused (`object_changed`).
   */
  identity?: { name: "etag" | "last-modified"; value: string };
}

export interface DownloadOptions {
  /** parallel connections (default 8) */
  concurrency?: number;
  onProgress?: Progress;
  /** attempts per part (default 5) */
  attempts?: number;
  signal?: AbortSignal;
  /**
   * Seconds a part may go without a byte before it fails as `stalled` and is tried again
   * (default `STALL_TIMEOUT`, 60; 0 or Infinity: never; a negative is a RangeError)
   */
  stallTimeout?: number;
}

export interface DownloadResult {
  bytes: number;
  /** base64 */
  sha256: string;
  /** true when the sha256 was compared with a known one */
  verified: boolean;
  /** parts skipped because an earlier run had them */
  resumedParts: number;
}

/** Cuts `size` bytes into parts of `partSize` (the last one shorter). */
export function planRanges(size: number, partSize: number): ByteRange[] {
  const parts: ByteRange[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++)
    parts.push({ partNumber: n, start, end: Math.min(size, start + partSize) - 1 });
  return parts;
}

interface State {
  version: 1;
  validator: string;
  size: number;
  partSize: number;
  done: number[];
}

const partialOf = (file: string) => `${file}.signet-partial`;
export const stateFileOf = (file: string) => `${file}.signet-state.json`;

async function loadState(file: string, source: RangedSource): Promise<Set<number>> {
  try {
    const state = JSON.parse(await readFile(stateFileOf(file), "utf8")) as State;
    const partial = await stat(partialOf(file));
    if (
      state.version === 1 &&
      state.validator === source.validator &&
      state.size === source.size &&
      state.partSize === source.partSize &&
      partial.size === source.size
    )
      return new Set(state.done);
  } catch {
    // no usable state: start over
  }
  return new Set();
}

/**
 * Fetches one part and writes it at its offset as it arrives (raw-get.ts hands over each read
 * as a view into its socket's buffer, written at once: memory stays at one read buffer per
 * connection); throws `short_body` when the reply is short, `long_body` when it is long,
 * `range_mismatch` when it is another range, `object_changed` when it is another version.
 */
async function fetchPart(
  fh: FileHandle,
  part: ByteRange,
  info: PartRequestInfo,
  size: number,
  onBytes: (n: number) => void,
  sending: RawGetOptions,
  identity?: RangedSource["identity"],
): Promise<void> {
  const whole = part.start === 0 && part.end === size - 1;
  let position = part.start;
  let written = 0;
  const accept: Accept = ({ statusCode, headers }) => {
    if (statusCode !== 206 && !(statusCode === 200 && whole)) {
      if (statusCode < 300)
        throw new SignetApiError(statusCode, "range_ignored", "the server ignored Range");
      return "text";
    }
    // A 206 must be the range asked for, of the object's size: bytes of another range would be
    // written at this part's offset, and only a known sha256 would notice.
    const contentRange = headers["content-range"];
    if (statusCode === 206 && contentRange !== `bytes ${part.start}-${part.end}/${size}`)
      throw new SignetApiError(
        502,
        "range_mismatch",
        `part ${part.partNumber}: asked for bytes ${part.start}-${part.end}/${size}, got ${String(contentRange)}`,
      );
    const seen = identity === undefined ? undefined : headers[identity.name];
    if (identity !== undefined && seen !== undefined && seen !== identity.value)
      throw new SignetApiError(
        409,
        "object_changed",
        `part ${part.partNumber}: the object changed (${identity.name} ${seen}, was ${identity.value})`,
      );
    return (chunk) => {
      if (position + chunk.length > part.end + 1)
        throw new SignetApiError(502, "long_body", `part ${part.partNumber} is longer than asked`);
      for (let at = 0; at < chunk.length;)
        at += writeSync(fh.fd, chunk, at, chunk.length - at, position + at);
      position += chunk.length;
      written += chunk.length;
      onBytes(chunk.length);
    };
  };
  let reply: RawReply;
  try {
    reply = await followRedirects(
      info.url,
      info.headers,
      `bytes=${part.start}-${part.end}`,
      accept,
      sending,
    );
  } catch (err) {
    onBytes(-written);
    throw err;
  }
  const { statusCode, headers } = reply.head;
  if (statusCode >= 300) throw await failure(statusCode, textOf(reply), headers);
  if (position !== part.end + 1) {
    onBytes(-written);
    throw new SignetApiError(502, "short_body", `part ${part.partNumber} ended early`);
  }
}

/** A reply's collected text, as `failure` reads a body. */
const textOf = (reply: RawReply) => ({ text: () => Promise.resolve(reply.text) });

/** Bytes of the file's front between two background flushes. */
const FLUSH_EVERY = 32 * 1024 * 1024;

/**
 * Downloads `source` to `file` in parallel parts (see the module comment). Throws
 * `SignetApiError` with code `checksum_mismatch` or `size_mismatch` when the result is not
 * the object; the partial file and state are then removed so the next run starts clean.
 */
export async function downloadRanged(
  source: RangedSource,
  file: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const stallMs = stallMsOf(options.stallTimeout);
  const partial = partialOf(file);
  const done = await loadState(file, source);
  const fh = await open(partial, done.size > 0 ? "r+" : "w+");
  let bytes = 0;
  for (const part of source.parts)
    if (done.has(part.partNumber)) bytes += part.end - part.start + 1;
  const resumedParts = done.size;
  let sha256: string | undefined;
  options.onProgress?.(bytes, source.size);
  // One state write at a time; parts that finish meanwhile are saved together by the next one.
  let saving: Promise<void> = Promise.resolve();
  let saveQueued = false;
  const writeState = async () => {
    saveQueued = false;
    const state: State = {
      version: 1,
      validator: source.validator,
      size: source.size,
      partSize: source.partSize,
      done: [...done].sort((a, b) => a - b),
    };
    await writeFile(`${stateFileOf(file)}.tmp`, JSON.stringify(state));
    await rename(`${stateFileOf(file)}.tmp`, stateFileOf(file));
  };
  const save = () => {
    if (!saveQueued) {
      saveQueued = true;
      saving = saving.catch(() => undefined).then(writeState);
    }
    return saving;
  };
  // The sha256 is computed while the download runs: whenever the parts at the front are done,
  // a worker thread reads them back (from the page cache) and hashes them in order, so only the
  // tail is left at the end (prefix-hash.ts).
  const ordered = [...source.parts].sort((a, b) => a.start - b.start);
  let next = 0;
  const hash = prefixHash(partial, source.size);
  // The front is also flushed to disk as it grows, one flush at a time in the background, so
  // that the final fsync has only the last parts left: the kernel would start writing back only
  // at dirty_background_ratio (gigabytes). A failed flush fails the download, as a later fsync
  // would not report that error again.
  let flushedTo = 0;
  let flushing: Promise<void> | undefined;
  let flushError: unknown;
  const hashPrefix = () => {
    const from = next;
    while (next < ordered.length && done.has(ordered[next]!.partNumber)) next++;
    if (from === next) return;
    const end = ordered[next - 1]!.end + 1;
    hash.advance(end);
    if (flushing !== undefined || end - flushedTo < FLUSH_EVERY) return;
    flushedTo = end;
    flushing = fh
      .datasync()
      .catch((err: unknown) => void (flushError ??= err))
      .finally(() => (flushing = undefined));
  };
  try {
    await fh.truncate(source.size);
    await save();
    hashPrefix();
    const queue = source.parts.filter((p) => !done.has(p.partNumber));
    // The first part that fails for good stops the others before the file is closed.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const worker = async () => {
      for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
        const current = part;
        await withRetries(
          async (renew) =>
            fetchPart(
              fh,
              current,
              await source.request(current, renew),
              source.size,
              (n) => {
                bytes += n;
                options.onProgress?.(bytes, source.size);
              },
              { signal, stallMs },
              source.identity,
            ),
          { attempts: options.attempts, signal },
        );
        done.add(current.partNumber);
        hashPrefix();
        // Not awaited: the next part starts while the state is written (awaited at the end).
        void save().catch(() => undefined);
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency ?? 8, queue.length));
    const results = await Promise.allSettled(
      Array.from({ length: workers }, () =>
        worker().catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      ),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined)
      throw stop.signal.aborted ? stop.signal.reason : (failed as PromiseRejectedResult).reason;
    await flushing;
    if (flushError !== undefined) throw flushError;
    // The file is flushed to disk while the hash catches up on the last parts.
    [, sha256] = await Promise.all([fh.sync(), hash.digest()]);
  } finally {
    if (sha256 === undefined) await hash.stop();
    await flushing;
    await fh.close();
    await saving.catch(() => undefined);
  }
  const size = (await stat(partial)).size;
  const clean = async () => {
    await rm(partial, { force: true });
    await rm(stateFileOf(file), { force: true });
  };
  if (size !== source.size) {
    await clean();
    throw new SignetApiError(0, "size_mismatch", `got ${size} bytes, expected ${source.size}`);
  }
  if (source.sha256 !== undefined && sha256 !== source.sha256) {
    await clean();
    throw new SignetApiError(
      0,
      "checksum_mismatch",
      `sha256 ${sha256} differs from the object's ${source.sha256}`,
    );
  }
  await rename(partial, file);
  await rm(stateFileOf(file), { force: true });
  return { bytes: size, sha256, verified: source.sha256 !== undefined, resumedParts };
}

/** Redirects a URL source follows: a short URL's 307 to a link, the link's 302 to storage. */
const MAX_REDIRECTS = 5;

/**
 * GETs `url` with `headers` and `range` (raw-get.ts; `accept` as there, for the last reply),
 * following redirects: Signet's links, short URLs and shares answer one to a short-lived URL (a
 * link's lives 60 s), so each part follows it afresh. `headers` go only to the first URL's
 * origin, until a redirect leaves it; a redirect from https to http is refused.
 */
async function followRedirects(
  url: string,
  headers: Record<string, string>,
  range: string,
  accept: Accept,
  sending: RawGetOptions,
): Promise<RawReply> {
  let current = url;
  const redirect = (head: RawHead) =>
    [301, 302, 303, 307, 308].includes(head.statusCode) && head.headers.location !== undefined;
  // Once a redirect has left the first origin the headers stay behind, even if one comes back.
  let sameOrigin = true;
  for (let hop = 0; ; hop++) {
    sameOrigin &&= new URL(current).origin === new URL(url).origin;
    const reply = await rawGet(
      current,
      { ...(sameOrigin ? headers : {}), range },
      (head) => (redirect(head) ? "text" : accept(head)),
      sending,
    );
    if (!redirect(reply.head)) return reply;
    if (hop === MAX_REDIRECTS)
      throw new SignetApiError(
        reply.head.statusCode,
        "too_many_redirects",
        `${url} redirects too often`,
      );
    const target = new URL(reply.head.headers.location!, current);
    // Only http(s), and never from https down to http (curl and browsers warn on it too).
    if (
      !["http:", "https:"].includes(target.protocol) ||
      (new URL(current).protocol === "https:" && target.protocol === "http:")
    )
      throw new SignetApiError(
        reply.head.statusCode,
        "insecure_redirect",
        `${new URL(current).origin} redirects to ${target.protocol}//${target.host}`,
      );
    current = target.toString();
  }
}

/**
 * A source over any HTTP(S) URL that supports Range, following redirects: a `bytes=0-0` probe
 * learns the size (Content-Range) and validator (ETag, else Last-Modified). Throws
 * `range_unsupported` when the server answers without a Content-Range; a probe that fails as a
 * part may (a network error, `stalled` after `stallTimeout` seconds, a 5xx, a 429) is tried
 * again, `attempts` times in all.
 */
export async function urlSource(
  url: string,
  options: {
    partSize?: number;
    headers?: Record<string, string>;
    sha256?: string;
    stallTimeout?: number;
    /** attempts of the probe (default 5) */
    attempts?: number;
  } = {},
): Promise<RangedSource> {
  const stallMs = stallMsOf(options.stallTimeout);
  const headers = options.headers ?? {};
  const unsupported = (status: number) =>
    new SignetApiError(
      status,
      "range_unsupported",
      `${new URL(url).host} does not answer Range requests`,
    );
  // A reply without the range (the whole object) is not read: the connection is dropped.
  // Tried again as a part is: a reset, a stall, a 5xx or a 429 is not the URL's answer.
  const reply = await withRetries(
    async () => {
      const probed = await followRedirects(
        url,
        headers,
        "bytes=0-0",
        (head) => {
          if (head.statusCode >= 300) return "text";
          if (head.statusCode !== 206) throw unsupported(head.statusCode);
          return () => undefined;
        },
        { stallMs },
      );
      const { statusCode, headers: replied } = probed.head;
      if (statusCode >= 300) throw await failure(statusCode, textOf(probed), replied);
      return probed;
    },
    { attempts: options.attempts },
  );
  const { statusCode, headers: replied } = reply.head;
  const total = /\/(\d+)$/.exec(replied["content-range"] ?? "")?.[1];
  if (total === undefined) throw unsupported(statusCode);
  const size = Number(total);
  const validator = [replied.etag, replied["last-modified"]]
    .filter((v) => typeof v === "string")
    .join(" ");
  const partSize = options.partSize ?? defaultPartSize(size);
  const { etag, "last-modified": lastModified } = replied;
  const identity =
    typeof etag === "string"
      ? ({ name: "etag", value: etag } as const)
      : typeof lastModified === "string"
        ? ({ name: "last-modified", value: lastModified } as const)
        : undefined;
  return {
    identity,
    size,
    validator: `${url} ${validator}`,
    partSize,
    parts: planRanges(size, partSize),
    request: async () => ({ url, headers }),
    sha256: options.sha256,
  };
}

const MIB = 1024 * 1024;

/**
 * Download part size for `size` bytes: a 32nd of it (four parts for each of the default 8
 * connections), in whole MiB from 1 to 64 MiB (larger only past 10,000 parts). Few requests
 * keep the per-request cost (a signed URL checked and a file looked up by the server, a
 * request and a state write here) off the bytes; four rounds keep the last one, and the sha256
 * still to compute after it, short; a part of several MiB is held to a per-connection rate cap
 * from its first bytes. It does not depend on the connections, so that a resume with another
 * `-c` still finds its state file's part size.
 */
export function defaultPartSize(size: number): number {
  const even = Math.ceil(size / DEFAULT_PARTS / MIB) * MIB;
  return Math.max(Math.min(Math.max(even, MIB), 64 * MIB), Math.ceil(size / 10_000));
}

const DEFAULT_PARTS = 32;
