/**
 * The one interface every backend implements (tus-node-server's store idea): signing of
 * direct URLs and form posts, what the provider can bind, and the few object operations
 * Signet performs with its own credentials (links in proxy mode, listings, checks at
 * complete, multipart completion). A backend knows its provider and nothing about routes,
 * principals or the database: it is handed scopes already checked against the caller's grants
 * and the bucket's limits.
 */
import type { Readable } from "node:stream";
import type { DirectScope } from "../core/direct-scope.js";
import type { Method } from "../core/methods.js";

export type { DirectScope };

export interface DirectRequest {
  url: string;
  method: Method;
  methods?: Method[];
  /** every header the client must send exactly as given (lower-case names) */
  headers: Record<string, string>;
  /** form fields, for a browser form POST */
  fields?: Record<string, string>;
  /** for a folder: a URL with the literal {key} where an object's (whole) key goes */
  objectUrlTemplate?: string;
}

/** A browser form upload: the policy fixes a key or a folder, bounds and types. */
export interface PostScope {
  bucket: string;
  key?: string;
  folder?: string;
  expiresAt: Date;
  principal: string;
  tokenId: string;
  contentLengthRange?: [number, number];
  /** an exact type, or a pattern such as "image/*" */
  contentType?: string;
  checksumSha256?: string;
  successActionStatus?: 200 | 201 | 204;
  successActionRedirect?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
  /** base64 SHA-256 of the bytes, when the backend knows it */
  sha256?: string;
}

export interface ListPage {
  items: ObjectInfo[];
  /** the "sub-folders" directly under the listed prefix (each ending in "/") */
  prefixes: string[];
  nextCursor: string | null;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
}

export interface Backend {
  readonly kind: string;
  /** the longest lifetime the provider accepts for a direct URL, in seconds */
  readonly maxExpiresIn: number;
  /**
   * What of this scope the provider's own signature cannot bind, named as in `enforcedBy`
   * ("folder", "methods", "notBefore", "ip", "range", "contentType", …); empty when the
   * direct URL enforces all of it. Value-dependent: Azure binds one IPv4 range, not two.
   */
  unbound(scope: DirectScope): string[];
  presign(scope: DirectScope): DirectRequest;
  /** null when the provider has no browser form upload */
  presignPost(scope: PostScope): Required<Pick<DirectRequest, "url" | "fields">> | null;

  head(key: string): Promise<ObjectInfo | undefined>;
  /** the bytes (end inclusive); undefined when there is no such object */
  get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined>;
  put(
    key: string,
    body: Readable,
    meta: { contentType: string; contentLength?: number },
  ): Promise<ObjectInfo>;
  delete(key: string): Promise<void>;
  list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage>;

  /**
   * Provider-side revocation of direct URLs, where the provider has it (Azure's stored access
   * policies): `prepare` readies a scope (409 conflict when it cannot now), `revoke` ends every
   * URL signed for that token id.
   */
  readonly revocation?: {
    prepare(scope: DirectScope): Promise<DirectScope>;
    revoke(tokenId: string): Promise<void>;
  };

  createMultipart(key: string, meta: { contentType: string }): Promise<string>;
  listParts(key: string, uploadId: string): Promise<PartInfo[]>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}
