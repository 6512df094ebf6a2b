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
import type { CommitGuard, WriteCondition } from "../store/embedded.js";

/**
 * A write's type and length (bytes); `condition` and `guard` are honoured atomically with the
 * write where `capabilities.conditionalWrites` (the embedded store); a provider's backend ignores
 * them, and its callers check them just before the write instead.
 */
export interface PutMeta {
  contentType: string;
  contentLength?: number;
  condition?: WriteCondition;
  guard?: CommitGuard;
}

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
/**
 * A browser form upload's policy in provider-neutral terms (S3's and GCS's POST policies take the
 * same conditions). Exactly one of key and folder; lengths in bytes.
 */
export interface FormPolicyInput {
  /** one object; give exactly one of key and folder */
  key?: string;
  /** any key under this folder ("" is the whole bucket) */
  folder?: string;
  expiresAt: Date;
  /** the signing time (truncated to the second); default now */
  date?: Date;
  /** bytes, both inclusive */
  contentLength?: { min: number; max: number };
  /** an exact Content-Type, sent as a field; or a prefix such as "image/", which the form's own
   *  Content-Type field must start with */
  contentType?: string | { startsWith: string };
  /** the reply to a successful upload */
  successActionStatus?: 200 | 201 | 204;
  /** or a redirect to this URL with bucket, key and etag in its query */
  successActionRedirect?: string;
}

export interface PostScope {
  bucket: string;
  generation?: string;
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
  /**
   * What no provider's POST policy can bind (only Signet's own form token does): client
   * address ranges, allowed referrers, required headers, a start time. A provider's
   * presignPost refuses a scope with any of them (bound.ts `postUnbound`).
   */
  notBefore?: Date;
  ip?: string[];
  referrers?: string[];
  headers?: Record<string, string>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
  /** base64 SHA-256 of the bytes, when the backend knows it */
  sha256?: string;
  /**
   * The version of these bytes a URL can be pinned to (the embedded store's blob id, GCS's
   * generation); undefined where the backend cannot pin one. A backend that reports versions
   * must honour `DirectScope.version` in the GET and HEAD URLs it signs.
   */
  version?: string;
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

/**
 * The rows of DESIGN.md's "what each binds" table (docs/backends.md keeps the project's copy,
 * which a test checks against every backend's declaration).
 */
export const BIND_ROWS = [
  "method, expiry",
  "response overrides",
  "byte range",
  "folder",
  "IP",
  "exact length, type",
  "length range, type pattern",
  "sha256 of body",
  "revocation",
  "multipart",
] as const;
export type BindRow = (typeof BIND_ROWS)[number];

/**
 * What a backend can do, as data (tus's `DataStore.extensions` idea): code above backends/
 * reads these instead of testing a backend's class or kind.
 */
export interface BackendCapabilities {
  /**
   * For each row of the binds table, how the provider's own signature binds it (a short
   * phrase), or false when it cannot: then Signet serves it through a link, or checks it at
   * complete. Static per provider; `unbound()` is the per-scope answer.
   */
  readonly binds: Readonly<Record<BindRow, string | false>>;
  /** Signet verifies this backend's direct URLs on its own data plane (`/o`): the embedded store */
  readonly signetVerified: boolean;
  /**
   * Signet holds credentials for the object operations a proxied link needs (get, put, delete,
   * list, head). False for a Swift bucket with only a temp URL key: its links can only redirect.
   */
  readonly proxy: boolean;
  /** `Backend.revocation` is set: the provider revokes direct URLs by token id */
  readonly revocation: boolean;
  /** `Backend.keyRotation` is set: Signet can rotate the provider's signing key */
  readonly keyRotation: boolean;
  /**
   * If-None-Match / If-Match on PUT and DELETE checked atomically by the store itself (the
   * embedded store); elsewhere links check them against a HEAD, and direct URLs never claim them
   */
  readonly conditionalWrites: boolean;
  /** a committed version can be pinned into a URL (embedded blob id, GCS generation) */
  readonly versions: boolean;
  /** multipart uploads with part URLs (`createMultipart` and friends work) */
  readonly multipart: boolean;
  /** a browser form POST (`presignPost` returns a form) */
  readonly formPost: boolean;
  /** a direct URL for a folder: for every method, one method per signature, or none */
  readonly folderScope: "all" | "one-method" | "none";
  /**
   * Methods a direct URL signed for one method lets through as well (Swift's tempurl passes a
   * HEAD with any GET, PUT or POST signature). Presign lists them in the reply's `methods`.
   */
  readonly alsoAllows: Readonly<Partial<Record<Method, readonly Method[]>>>;
}

/** Keys a provider signs with that Signet can rotate (Swift's temp URL keys). */
export interface SigningKeys {
  current: string;
  /** the key the current one replaced, still accepted by the provider until retired */
  previous?: string;
}

/** Provider-side key rotation (see `BackendCapabilities.keyRotation`). */
export interface KeyRotation {
  /** Sign with `keys.current` from now on; `keys` says what the provider holds. Sends nothing. */
  useKeys(keys: SigningKeys): void;
  /** Sets `newKey` as current and keeps the old one as previous; conflict while one is kept. */
  rotateKey(newKey: string): Promise<Required<SigningKeys>>;
  /** Removes the previous key: URLs signed with it fail from then on. */
  retireKey(): Promise<void>;
  /** Why rotation cannot run now (missing admin credentials), or undefined when it can. */
  unavailable(): string | undefined;
}

export interface Backend {
  readonly kind: string;
  readonly capabilities: BackendCapabilities;
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
  /**
   * The object and its whole bytes when this process already holds both in memory, else
   * undefined (then `head` and `get`); never does I/O. Only the embedded store has it.
   */
  inMemory?(key: string): { info: ObjectInfo; bytes: Buffer } | undefined;
  /** the bytes (end inclusive); undefined when there is no such object */
  get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined>;
  put(key: string, body: Readable, meta: PutMeta): Promise<ObjectInfo>;
  /**
   * Deletes the object (none there is no error). `condition` (If-Match / If-None-Match) is
   * checked atomically with the delete where `capabilities.conditionalWrites` is true; elsewhere
   * it is not passed (links check it against a HEAD first).
   */
  delete(key: string, condition?: WriteCondition): Promise<void>;
  /**
   * Makes the object staged at `from` (an upload intent's own key) the object at `to` with
   * Signet's credentials, server-side, then removes `from`: the commit step of an intent, so
   * that pending bytes never sit where committed bytes are served. Answers the object now at
   * `to` (its ETag is the version Signet records); 409 conflict when nothing is staged.
   * `checked` is the staged object complete checked (as `head` answered it): every backend
   * promotes only that object, pinned by its version or ETag with the provider's own source
   * precondition, else 409 conflict (`stagedChanged`, core/errors.ts) with `to` left as it was: a
   * PUT through the intent's still-live URL may have staged other bytes since the check.
   */
  promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo>;
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

  /** Provider-side key rotation, where Signet can do it (Swift temp URL keys). */
  readonly keyRotation?: KeyRotation;

  createMultipart(key: string, meta: { contentType: string }): Promise<string>;
  listParts(key: string, uploadId: string): Promise<PartInfo[]>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}
