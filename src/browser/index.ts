/**
 * `signet/browser`: Signet's SDK for browsers (fetch and XMLHttpRequest only, no `node:`
 * imports). Every API call is a standalone function of a client from `createClient`, so
 * bundlers keep only what an app uses.
 *
 *   const client = createClient({ server: "https://signet.example.com", token });
 *   const file = await upload(input.files[0], { client, bucket: "default", key: "a/b.pdf",
 *     onProgress: ({ loaded, total }) => bar.value = loaded / total });
 */
export * from "./api.js";
export { createClient, SignetApiError } from "./client.js";
export type { ClientOptions, RequestOptions, SignetClient } from "./client.js";
export { TransferError } from "./transfer.js";
export { upload, UploadInterrupted } from "./upload.js";
export type { ResumeState, UploadOptions } from "./upload.js";
export { uppySigner } from "./uppy.js";
export type * from "./types.js";
