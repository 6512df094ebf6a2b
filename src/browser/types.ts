/** Shapes of Signet's API replies and inputs as the browser sees them (see DESIGN.md). */

export type Method = "GET" | "HEAD" | "PUT" | "DELETE" | "LIST" | "POST";

/** What one signed URL permits (POST /v1/presign); see the README's scope table. */
export interface PresignRequest {
  bucket: string;
  key?: string;
  prefix?: string;
  method?: Method;
  methods?: Method[];
  expiresIn?: number;
  notBefore?: string;
  range?: string;
  contentType?: string;
  contentLength?: number;
  contentLengthRange?: [number, number];
  checksumSha256?: string;
  headers?: Record<string, string>;
  ip?: string | string[];
  responseContentDisposition?: string;
  responseContentType?: string;
  delivery?: "direct" | "link" | "auto";
  revocable?: boolean;
}

/** A signed request: send `method` to `url` with every header in `headers` (and `fields` for POST). */
export interface SignedRequest {
  id: string;
  url: string;
  method: Method;
  methods?: Method[];
  headers: Record<string, string>;
  fields?: Record<string, string>;
  objectUrlTemplate?: string;
  expiresAt: string;
  expiresIn: number;
  enforcedBy: Record<string, "backend" | "signet" | "complete">;
}

/** A page of a list: pass `nextCursor` back as `cursor` for the next one (null at the end). */
export interface Page<T> {
  items: T[];
  nextCursor: string | number | null;
}

/** A registered file (GET /v1/files/{id}). */
export interface FileInfo {
  id: string;
  bucket: string;
  key: string;
  size: number | null;
  sha256: string | null;
  contentType: string;
  owner: string;
  status: "pending" | "committed" | "superseded" | "deleted";
  etag: string | null;
  createdAt: string;
  committedAt: string | null;
}

/** One part of a multipart intent: bytes `start..end` (inclusive) go to its signed request. */
export type PartRequest = { partNumber: number; start: number; end: number } & SignedRequest;

/** POST /v1/uploads's reply: a pending file and how to upload its bytes. */
export interface Intent {
  file: FileInfo;
  upload: SignedRequest | { uploadId: string; partSize: number; parts: PartRequest[] };
  expiresAt: string;
}

export interface IntentInput {
  bucket: string;
  key?: string;
  prefix?: string;
  name?: string;
  size: number;
  sha256?: string;
  /** default: from the key's (or name's) extension, else application/octet-stream */
  contentType?: string;
  multipart?: { partSize: number };
  method?: "PUT" | "POST";
  expiresIn?: number;
  /** replace a committed file (needs write and delete); sent only when true */
  upsert?: boolean;
}

export interface ShareInput {
  bucket: string;
  prefix: string;
  methods: Method[];
  expiresIn?: number;
  ip?: string | string[];
  mode?: "redirect" | "proxy";
}

export interface Share {
  id: string;
  url?: string;
  bucket: string;
  prefix: string;
  methods: Method[];
  mode: "redirect" | "proxy";
  expiresAt: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface AuditRecord {
  id: number;
  at: string;
  event: string;
  principal: string | null;
  bucket: string | null;
  key: string | null;
  tokenId?: string | null;
  detail?: unknown;
  [other: string]: unknown;
}

/** A folder listing from a LIST-signed folder URL. */
export interface Listing {
  items: { key: string; size: number; etag: string; lastModified: string }[];
  prefixes: string[];
  nextCursor: string | null;
}
