/**
 * Uppy: `uppySigner` is the `signRequest` of `@uppy/aws-s3` (v5+) for Signet, so an app that
 * uses Uppy points it at Signet and its uploads become audited, granted upload intents:
 *
 *   const signer = uppySigner(client, { bucket: "default" });
 *   uppy.use(AwsS3, { signRequest: signer.signRequest, generateObjectKey: (f) => `in/${f.name}` });
 *   uppy.addPostProcessor(signer.commit(uppy));
 *
 * Multipart uploads commit through Uppy's own CompleteMultipartUpload; a simple PUT has no such
 * step, so `commit` (an Uppy post-processor) completes those intents after the upload.
 */
import { completeUpload } from "./api.js";
import type { SignetClient } from "./client.js";

/** What Uppy's `signRequest` receives (its `PresignableRequest`). */
export interface UppyRequest {
  method: "PUT" | "POST" | "GET" | "DELETE";
  key: string;
  uploadId?: string;
  partNumber?: number;
  contentType?: string;
  expiresIn?: number;
}

/** What `signRequest` answers (Uppy's `PresignedResponse`). */
export interface UppyPresigned {
  url: string;
  key?: string;
  headers?: Record<string, string>;
}

/** The part of an Uppy instance `commit` uses (structural, so this SDK needs no Uppy import). */
export interface UppyLike {
  getFile(id: string): { response?: { body?: unknown } } | undefined;
}

export function uppySigner(client: SignetClient, options: { bucket: string }) {
  // key → intent of a simple PUT, until the post-processor commits it
  const simple = new Map<string, string>();
  return {
    async signRequest(request: UppyRequest): Promise<UppyPresigned> {
      const signed = await client.request<UppyPresigned & { fileId?: string; path?: string }>(
        "POST",
        "/v1/uppy/sign",
        { body: { bucket: options.bucket, ...request } },
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
    commit(uppy: UppyLike) {
      return async (fileIDs: string[]) => {
        for (const id of fileIDs) {
          const key = (uppy.getFile(id)?.response?.body as { key?: string } | undefined)?.key;
          const fileId = key === undefined ? undefined : simple.get(key);
          if (fileId === undefined) continue;
          await completeUpload(client, fileId);
          simple.delete(key!);
        }
      };
    },
  };
}
