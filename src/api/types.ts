/**
 * The wire types of Signet's HTTP API (`/v1`): what requests carry and replies hold, as JSON.
 * The SDKs (`signet`, `signet/browser`) import only these, never the service's internals, so
 * the package's type declarations stay small and the contract is written in one place.
 * Times are ISO 8601 UTC strings; sizes are bytes; `sha256`/`checksumSha256` are base64.
 */

/** Every method a scope can carry; LIST is a GET on a folder path. */
export type Method = "GET" | "HEAD" | "PUT" | "DELETE" | "POST" | "LIST";

/** Grant actions. */
export type Action = "read" | "write" | "delete" | "list" | "share";

/** How a URL is delivered: the backend's own URL, a Signet link, or the best that enforces all. */
export type Delivery = "direct" | "link" | "auto";

/** Who checks each part of a scope: the backend's signature, Signet (a link), or `complete`. */
export type Enforcer = "backend" | "signet" | "complete";

/** The error body every refusal carries: `{ error: ApiErrorBody }`. */
export interface ApiErrorBody {
  /** stable code, e.g. `unauthorized`, `invalid_request`, `forbidden`, `not_found` */
  code: string;
  message: string;
  /** the request field at fault, when one is */
  field?: string;
}

/** `POST /v1/presign` (and each entry of a batch): a scope to sign. */
export interface PresignInput {
  bucket: string;
  /** one object; or `prefix` for a folder */
  key?: string;
  prefix?: string;
  method?: Method;
  methods?: Method[];
  /** seconds; defaults to min(900, the grant's maximum) */
  expiresIn?: number;
  notBefore?: string;
  contentType?: string;
  contentLength?: number;
  contentLengthRange?: [number, number];
  checksumSha256?: string;
  /** `bytes=START-END` */
  range?: string;
  /** lower-case names; the client must send them exactly */
  headers?: Record<string, string>;
  responseContentDisposition?: string;
  responseContentType?: string;
  /** one CIDR or a list, IPv4 or IPv6 */
  ip?: string | string[];
  delivery?: Delivery;
  revocable?: boolean;
  /** allowed `Referer` origins (checked by Signet: the URL is a link) */
  referrers?: string[];
  /** a raw write at a key a file holds replaces that file (needs write and delete there) */
  upsert?: boolean;
  /** answer a short `/u/{id}` URL standing for the signed one */
  short?: boolean;
  /** form POST: the status storage answers a successful upload with */
  successActionStatus?: 200 | 201 | 204;
  /** form POST: where storage redirects the browser after a successful upload */
  successActionRedirect?: string;
}

/** A signed request: what to send, where, until when, and who enforces each constraint. */
export interface SignedRequest {
  id: string;
  url: string;
  method: Method;
  methods?: Method[];
  /** every header the client must send exactly as given */
  headers: Record<string, string>;
  /** form POST fields */
  fields?: Record<string, string>;
  /** for a folder scope: a URL holding the literal `{key}` */
  objectUrlTemplate?: string;
  expiresAt: string;
  expiresIn: number;
  enforcedBy: Record<string, Enforcer>;
}

/** One entry of `POST /v1/presign/batch`'s `results`, in input order. */
export type BatchResult = ({ ok: true } & SignedRequest) | { ok: false; error: ApiErrorBody };

/**
 * `POST /v1/presign/parts`: a download plan of ranged GETs over one object, cut in parts of
 * `partSize` bytes or into `parts` parts (one of the two).
 */
export type PartPlanInput = Omit<
  PresignInput,
  "method" | "methods" | "prefix" | "range" | "successActionStatus" | "successActionRedirect"
> & {
  key: string;
  partSize?: number;
  parts?: number;
};

/** One part of a plan or a multipart upload: inclusive byte offsets and its signed request. */
export type PartRequest = { partNumber: number; start: number; end: number } & SignedRequest;

export interface PartPlan {
  size: number;
  etag: string;
  parts: PartRequest[];
}

export type FileStatus = "pending" | "committed" | "superseded" | "deleted";

/** `GET /v1/files`: files the caller may read, filtered; a page of `limit` (at most 1,000). */
export interface FileListQuery {
  bucket?: string;
  /** keys starting with this */
  prefix?: string;
  owner?: string;
  status?: FileStatus;
  cursor?: string;
  limit?: number;
}

/** A registered object with an opaque id. */
export interface FileInfo {
  id: string;
  bucket: string;
  key: string;
  size: number | null;
  sha256: string | null;
  contentType: string;
  owner: string;
  status: FileStatus;
  etag: string | null;
  createdAt: string;
  committedAt: string | null;
  /** set when Signet found the committed bytes changed outside it: the file answers 409 */
  changedAt: string | null;
}

/** `POST /v1/uploads`: an upload intent. */
export interface UploadInput {
  bucket: string;
  key?: string;
  prefix?: string;
  name?: string;
  size: number;
  sha256?: string;
  /** default: from the key's (or name's) extension, else application/octet-stream */
  contentType?: string;
  multipart?: { partSize: number };
  /** PUT (default) or POST, a browser form upload */
  method?: "PUT" | "POST";
  expiresIn?: number;
  /** replace a committed file at the key (needs write and delete) */
  upsert?: boolean;
  /** answer short `/u/{id}` URLs standing for the signed ones (each part's too) */
  short?: boolean;
}

/** A pending file plus the signed request(s) to upload its bytes. */
export interface Intent {
  file: FileInfo;
  upload: SignedRequest | MultipartUpload;
  expiresAt: string;
}

export interface MultipartUpload {
  uploadId: string;
  partSize: number;
  parts: PartRequest[];
}

/** `POST /v1/shares`: a folder shared through one link. */
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

/**
 * A grant (`POST /v1/grants`): `principal` may do `actions` in `buckets`, under `prefix` when
 * given (`${sub}` there is the caller's subject).
 */
export interface GrantInput {
  principal: string;
  buckets: string[];
  prefix?: string;
  actions: Action[];
  /** longest URL lifetime under this grant, in seconds */
  maxExpiresIn?: number;
  /** URLs issued under this grant per principal: per minute, per day (429 `rate_limited` beyond) */
  quota?: { perMinute?: number; perDay?: number };
  /**
   * What every URL under this grant must bind: at most `contentLengthMax` bytes uploaded, one of
   * `contentTypes`, a client address in `ip` (CIDR ranges)
   */
  require?: { contentLengthMax?: number; contentTypes?: string[]; ip?: string | string[] };
}

export interface Grant extends GrantInput {
  id: string;
}

/**
 * What `POST /v1/revocations` revokes: one signed request or share by its id, everything issued
 * to a principal, or everything issued inside a folder (`bucket` and `prefix`, "" for the whole
 * bucket).
 */
export type RevokeTarget =
  { tokenId: string } | { principal: string } | { bucket: string; prefix: string };

/** The answer of `POST /v1/revocations`. */
export interface RevokeResult {
  /** when it was revoked (ISO 8601); for a token revoked before, that earlier time */
  revokedAt: string;
  tokenId?: string;
  principal?: string;
  bucket?: string;
  prefix?: string;
  /** for a principal or a folder: how many tokens are now refused */
  revoked?: number;
  /** for a principal or a folder: direct URLs nobody can refuse, left to expire */
  notRevocable?: { tokenId: string; expiresAt: string }[];
}

/** A bucket's config: its backend and that backend's settings (see the README). */
export interface BucketConfig {
  backend: "local" | "s3" | "gcs" | "azure" | "swift";
  [setting: string]: unknown;
}

export interface BucketInfo {
  name: string;
  source: "config" | "api";
  config: BucketConfig;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface KeyInfo {
  kid: string;
  status: "active" | "verifying" | "retired";
  createdAt: string;
  retiredAt: string | null;
}

export interface KeyRotation {
  bucket: string;
  rotatedAt: string;
}

export interface KeyRetirement {
  bucket: string;
  retiredAt: string;
}

/** `GET /v1/audit` filters. */
export interface AuditQuery {
  since?: string;
  until?: string;
  principal?: string;
  action?: string;
  bucket?: string;
  prefix?: string;
  tokenId?: string;
  outcome?: "allowed" | "refused";
  cursor?: string;
  limit?: number;
}

/** One audit record. Older servers name the action `event`. */
export interface AuditRecord {
  id: number | string;
  at: string;
  action?: string;
  event?: string;
  principal: string | null;
  tokenId: string | null;
  bucket: string | null;
  key: string | null;
  method: string | null;
  status: number | null;
  outcome?: "allowed" | "refused";
  reason?: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/**
 * A folder listing: a GET on a folder URL signed for LIST (`…/s/{token}/`, `…/o/{bucket}/{prefix}/`),
 * asking for JSON.
 */
export interface Listing {
  items: { key: string; size: number; etag: string; lastModified: string }[];
  /** the "sub-folders" directly under the listed prefix, each ending in "/" */
  prefixes: string[];
  nextCursor: string | null;
}

/** A page of a list: `cursor` for the next one is `nextCursor` until it is null. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What Uppy's `signRequest` receives (its `PresignableRequest`). */
export interface UppyRequest {
  method: "PUT" | "POST" | "GET" | "DELETE";
  key: string;
  uploadId?: string;
  partNumber?: number;
  contentType?: string;
  expiresIn?: number;
}
