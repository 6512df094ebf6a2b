/**
 * Uppy: `uppySigner` is the `signRequest` of `@uppy/aws-s3` (v5+) for Signet, so an app that
 * uses Uppy points it at Signet and its uploads become audited, granted upload intents:
 *
 *   const signer = uppySigner(client, { bucket: "default", uppy });
 *   uppy.use(AwsS3, {
 *     signRequest: signer.signRequest,
 *     getChunkSize: signer.getChunkSize,
 *     generateObjectKey: (f) => `in/${f.name}`,
 *   });
 *   uppy.addPostProcessor(signer.commit);
 *
 * Multipart uploads commit through Uppy's own CompleteMultipartUpload; a simple PUT has no such
 * step, so `commit` (an Uppy post-processor) completes those intents after the upload. Part
 * URLs bind each part's length (S3 needs it): the signer works it out from the file's size and
 * the chunk size it gives Uppy through `getChunkSize`, with Uppy's own rounding.
 */
import { completeUpload } from "./api.js";
import type { SignetClient } from "./client.js";
import type { UppyRequest } from "../api/types.js";

/** What `signRequest` answers (Uppy's `PresignedResponse`). */
export interface UppyPresigned {
  url: string;
  key?: string;
  headers?: Record<string, string>;
}

/** The part of an Uppy instance the signer reads (structural: this SDK imports no Uppy). */
export interface UppyLike {
  getFile(id: string): { response?: { body?: unknown } } | undefined;
  getFiles(): { size: number | null; s3Multipart?: { uploadId?: string; key?: string } }[];
}

const MiB = 1024 * 1024;
// @uppy/aws-s3's own bounds on parts (S3's): at least 5 MiB, at most 10,000 parts.
const MIN_CHUNK = 5 * MiB;
const MAX_PARTS = 10_000;

export function uppySigner(
  client: SignetClient,
  options: { bucket: string; uppy: UppyLike; chunkSize?: number },
) {
  // key → intent of a simple PUT, until the post-processor commits it
  const simple = new Map<string, string>();
  const getChunkSize = () => options.chunkSize ?? 8 * MiB;

  /** Part `n`'s length as Uppy cuts the file (S3Uploader: min 5 MiB, at most 10,000 parts). */
  const partLength = (uploadId: string, n: number): number | undefined => {
    const size = options.uppy.getFiles().find((f) => f.s3Multipart?.uploadId === uploadId)?.size;
    if (size === null || size === undefined) return undefined;
    let chunk = Math.max(getChunkSize(), MIN_CHUNK);
    if (Math.ceil(size / chunk) > MAX_PARTS) chunk = Math.ceil(size / MAX_PARTS);
    return Math.max(0, Math.min(chunk, size - (n - 1) * chunk));
  };

  return {
    getChunkSize,
    async signRequest(request: UppyRequest): Promise<UppyPresigned> {
      const contentLength =
        request.method === "PUT" && request.uploadId !== undefined && request.partNumber
          ? partLength(request.uploadId, request.partNumber)
          : undefined;
      const signed = await client.request<UppyPresigned & { fileId?: string; path?: string }>(
        "POST",
        "/v1/uppy/sign",
        { body: { bucket: options.bucket, ...request, contentLength } },
      );
      if (signed.fileId !== undefined) simple.set(signed.key ?? request.key, signed.fileId);
      // Signet's own S3-style URLs (`path`) go to the API origin this client uses, with its
      // credential like the rest of /v1; storage URLs go as signed.
      if (signed.path !== undefined)
        return {
          url: `${client.server}${signed.path}`,
          key: signed.key,
          headers: { ...signed.headers, ...(await client.authorization()) },
        };
      return { url: signed.url, key: signed.key, headers: signed.headers };
    },
    /** An Uppy post-processor: completes the simple uploads among `fileIDs`. */
    commit: async (fileIDs: string[]): Promise<void> => {
      for (const id of fileIDs) {
        const body = options.uppy.getFile(id)?.response?.body as { key?: string } | undefined;
        const fileId = body?.key === undefined ? undefined : simple.get(body.key);
        if (fileId === undefined) continue;
        await completeUpload(client, fileId);
        simple.delete(body!.key!);
      }
    },
  };
}
