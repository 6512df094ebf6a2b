/**
 * OpenStack Swift as a backend. Direct URLs are tempurl URLs (swift-tempurl.ts signs them, with
 * the format and Swift's own worked example); Signet's own object operations, multipart
 * completion and key rotation go through Swift's API as an admin user (tempauth v1.0).
 *
 *   {storageUrl}/{container}/{key}?temp_url_sig={hmac}&temp_url_expires={unix seconds}
 *       [&temp_url_prefix={folder}][&temp_url_ip_range={one range}]
 *
 *   hmac = HMAC-SHA256(Temp-URL-Key, [ "ip={range}\n" ] + "{METHOD}\n{expires}\n{path}") as hex
 *   path = /v1/{account}/{container}/{key}, or prefix:/v1/{account}/{container}/{folder}
 *
 * (sha512 signatures are "sha512:" + padded base64url.) Example: key "mykey", a GET of every
 * object under trips/2024/ in container photos of https://swift.example.com/v1/AUTH_account
 * until 1512508563 hashes "GET\n1512508563\nprefix:/v1/AUTH_account/photos/trips/2024/":
 *
 *   url: https://swift.example.com/v1/AUTH_account/photos/trips/2024/
 *       ?temp_url_sig=6e8b21b8ffe6cfb59bd50f3c26fc2ae4eadc8da6d64c8909dee348041f993826
 *       &temp_url_expires=1512508563&temp_url_prefix=trips%2F2024%2F
 *   objectUrlTemplate: https://swift.example.com/v1/AUTH_account/photos/{key}?(the same query)
 *
 * Swift answers 401 to that query on a PUT or DELETE (a HEAD passes, see below), on
 * trips/2023/a.jpg or trips/2024x/b, and after 1512508563.
 *
 * Settings (one bucket of the config file; SwiftBucketConfigSchema):
 *
 *   "media": { "backend": "swift", "storageUrl": "https://swift.example.com/v1/AUTH_acme",
 *              "container": "media", "tempUrlKey": "${SWIFT_TEMPURL_KEY}",
 *              "authUrl": "https://swift.example.com/auth/v1.0", "user": "acme:signet",
 *              "key": "${SWIFT_ADMIN_KEY}" }
 *
 *   storageUrl, container  where the objects are (the storage URL users' URLs are built on)
 *   tempUrlKey             the Temp-URL-Key Signet signs with (${ENV_NAME})
 *   tempUrlKey2            the key in Swift's second slot while a rotation is under way: Signet
 *                          never signs with it, and rotateKey() is refused until retireKey()
 *   keyLevel               "account" (default: X-Account-Meta-Temp-URL-Key, good for every
 *                          container) or "container" (X-Container-Meta-…, this container only)
 *   digest                 sha256 (default) or sha512; sha1 is refused
 *   authUrl, user, key     Signet's admin user (key, and user if wanted, as ${ENV_NAME}); needed
 *                          for object operations, multipart and key rotation, not for signing
 *   maxExpiresIn, maxObjectSize, cors   as for every bucket; Swift sets no expiry limit
 *
 * Swift's proxy needs tempurl (before the auth middleware) and slo in its pipeline, and tempurl's
 * allowed_digests must hold the digest.
 *
 * What a temp URL binds: one method per signature, the expiry, one object or one folder
 * (temp_url_prefix; Signet's folders end in "/", so "p/" covers p/o1 and p/p2/o3, never p3/o5),
 * and one IP range (temp_url_ip_range, with no host bits set). What unbound() names instead:
 *   - "methods": several methods, POST or LIST (tempurl never lists; Signet's POST is a form
 *     upload, which is Swift's formpost, not tempurl), and a PUT: Swift lets a HEAD through
 *     with any GET, PUT or POST signature for the same path, so a PUT URL also tells whoever
 *     may only write an object's size, type, ETag and metadata. A GET scope reveals that
 *     anyway, and a DELETE signature lets no HEAD through. Part URLs are exempt: the HEAD sees
 *     only the segment its uploader is writing.
 *   - "folder" for the whole container (""): it would reach the multipart segments.
 *   - "notBefore", "ip" for several ranges (or one Swift's ip_network() would refuse), and
 *     every other constraint: byte range, content length or length range, content type,
 *     checksum, headers, response overrides (Swift's filename and inline are not signed).
 * presign() refuses a scope with anything unbound; the service sends those through links.
 *
 * Multipart uploads are Static Large Objects whose manifest Signet writes. The segments live
 * in the bucket's own container, under a prefix no user key, folder URL or listing reaches:
 *
 *   .signet-segments/{key}/{uploadId}/upload   created by createMultipart: empty, its
 *                                              Content-Type is the object's; gone at complete
 *   .signet-segments/{key}/{uploadId}/00042    part 42 (five digits), PUT by the uploader
 *                                              through a temp URL presign() gives for `part`
 *
 * The same container, not a second one, because tempurl confines a container key's URLs to its
 * container, SLO segment reads included: a manifest GET through such a URL fails (409) when the
 * segments are elsewhere. Keys and folders under .signet-segments/ are refused (invalid_key),
 * list() never shows it, and a folder URL cannot cover the whole container. completeMultipart
 * checks each part exists with the given ETag, writes `PUT {key}?multipart-manifest=put` with
 * each segment's path, etag and size_bytes (so a segment swapped later fails the GET rather than
 * serving other bytes), and deletes unused parts and the marker. A part URL still valid after
 * complete or abort can leave an orphan segment: keep part URLs short, or abort again once they
 * expire (abort is idempotent). delete() takes a multipart object's segments with it; a put()
 * or another upload over it leaves them behind. An upload's names are up to 49 bytes longer
 * than its key, and Swift's default limit on names is 1,024 bytes: multipart refuses keys over
 * 975 bytes.
 *
 * Key rotation: rotateKey(new) sets Temp-URL-Key ← new and Temp-URL-Key-2 ← the current key,
 * then signs with the new one, so URLs signed before keep working; retireKey() removes
 * Temp-URL-Key-2, which ends them (at once when the proxies share memcache, else once their info
 * cache expires). useKeys() tells the backend what Swift already holds, e.g. at start-up when
 * the keys live in Signet's keyring.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { type Static, Type } from "@sinclair/typebox";
import { type Dispatcher, request } from "undici";
import {
  TIMED_BUCKET_FIELDS,
  backendStallMs,
  isSecretRef,
  resolveSecret,
  SecretRef,
} from "../../core/config-schema.js";
import { unavailable } from "../provider-errors.js";
import { constraintsOf } from "../../core/constraints.js";
import { bareEtag } from "../../core/etag.js";
import { invalidRequest, notFound, SignetError, stagedChanged } from "../../core/errors.js";
import { checkPartList } from "../../core/part-list.js";
import { assertValidKey } from "../../core/keys.js";
import type { Method } from "../../core/methods.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";
import {
  type SwiftDigest,
  type SwiftTempUrlKeys,
  type SwiftTempUrlOptions,
  SwiftTempUrlSigner,
  tempUrlKeyHeaders,
} from "./swift-tempurl.js";
import { assertAllBound } from "../bound.js";
import { nothingStaged } from "../staging.js";
import { SWIFT_CAPABILITIES } from "./capabilities.js";
import type {
  Backend,
  BackendCapabilities,
  KeyRotation,
  DirectRequest,
  DirectScope,
  ListPage,
  ObjectInfo,
  PartInfo,
  PostScope,
} from "../types.js";

/** An enum rather than a union of literals: its error names the allowed values. */
const oneOf = <T extends string>(values: readonly T[]) =>
  Type.Unsafe<T>({ type: "string", enum: values });

export type SwiftKeyLevel = "account" | "container";

export const SwiftBucketConfigSchema = Type.Object(
  {
    backend: Type.Literal("swift"),
    storageUrl: Type.String({ pattern: "^https?://" }),
    container: Type.String({ minLength: 1, maxLength: 256, pattern: "^[^/]+$" }),
    tempUrlKey: SecretRef,
    tempUrlKey2: Type.Optional(SecretRef),
    keyLevel: Type.Optional(oneOf<SwiftKeyLevel>(["account", "container"])),
    digest: Type.Optional(oneOf<SwiftDigest>(["sha256", "sha512"])),
    authUrl: Type.Optional(Type.String({ pattern: "^https?://" })),
    /** a name such as "acme:signet", or a ${ENV_NAME} reference */
    user: Type.Optional(Type.String({ minLength: 1 })),
    key: Type.Optional(SecretRef),
    ...TIMED_BUCKET_FIELDS,
  },
  { additionalProperties: false },
);
export type SwiftBucketConfig = Static<typeof SwiftBucketConfigSchema>;

/**
 * A backend for one configured bucket, its secrets resolved from `env`. Refusals are
 * "invalid config: {key} …" naming the config key (under `at`, e.g. "buckets.media"), never a
 * secret.
 */
export function createSwiftBackend(
  config: SwiftBucketConfig,
  env: NodeJS.ProcessEnv,
  at?: string,
): SwiftBackend {
  const field = (name: string) => (at === undefined ? name : `${at}.${name}`);
  const refuse = (name: string, message: string) =>
    new Error(`invalid config: ${field(name)}: ${message}`);
  const resolve = (name: "tempUrlKey" | "tempUrlKey2" | "user" | "key", ref: string) =>
    resolveSecret(ref, env, field(name));

  const { authUrl, user, key } = config;
  const given = [authUrl, user, key].filter((value) => value !== undefined).length;
  if (given !== 0 && given !== 3) throw refuse("authUrl", "authUrl, user and key go together");
  const keys: SwiftTempUrlKeys = { tempUrlKey: resolve("tempUrlKey", config.tempUrlKey) };
  if (config.tempUrlKey2 !== undefined)
    keys.tempUrlKey2 = resolve("tempUrlKey2", config.tempUrlKey2);
  const options: SwiftBackendOptions = {
    storageUrl: config.storageUrl,
    container: config.container,
    keys,
    keyLevel: config.keyLevel,
    digest: config.digest,
    stallMs: backendStallMs(config),
  };
  if (authUrl !== undefined && user !== undefined && key !== undefined)
    options.admin = {
      authUrl,
      user: isSecretRef(user) ? resolve("user", user) : user,
      key: resolve("key", key),
    };
  try {
    return new SwiftBackend(options);
  } catch (err) {
    if (!(err instanceof SignetError) || err.field === undefined) throw err;
    throw refuse(err.field, err.message);
  }
}

export interface SwiftAdminCredentials {
  /** tempauth's (or swauth's) v1.0 URL, e.g. https://swift.example.com/auth/v1.0 */
  authUrl: string;
  user: string;
  key: string;
}

export interface SwiftBackendOptions {
  storageUrl: string;
  container: string;
  keys: SwiftTempUrlKeys;
  keyLevel?: SwiftKeyLevel;
  digest?: SwiftDigest;
  admin?: SwiftAdminCredentials;
  /** how long a request to Swift may send and receive nothing (ms; default 60 s) */
  stallMs?: number;
}

/** Where multipart segments live; keys and folders under it are refused. */
export const SEGMENT_PREFIX = ".signet-segments/";
/** As many parts as S3 allows (Swift's SLO takes 1,000 unless max_manifest_segments says more). */
export const MAX_PART_NUMBER = 10_000;
/** Swift's default max_object_name_length. */
const MAX_NAME_BYTES = 1024;
const UPLOAD_ID = /^[A-Za-z0-9_-]{24}$/;
const PART_NAME = /^\d{5}$/;
const MARKER = "upload";
/** What an upload's longest name (its marker) adds to the key. */
const NAME_OVERHEAD = `${SEGMENT_PREFIX}/${"u".repeat(24)}/${MARKER}`.length;

const TEMPURL_METHODS: readonly Method[] = ["GET", "HEAD", "PUT", "DELETE"];
/** A listing page Swift serves under any container_listing_limit worth the name. */
const PAGE = 1000;
/** 10,000 parts, 1,000 a page, plus room for the marker and foreign sub-folders. */
const MAX_SEGMENT_PAGES = 20;
/** Segments deleted at once by abort and complete. */
const DELETE_CONCURRENCY = 8;

/** The folder of one upload's segments. */
function uploadFolder(key: string, uploadId: string): string {
  if (!UPLOAD_ID.test(uploadId)) throw invalidRequest("not a swift upload id", "uploadId");
  if (Buffer.byteLength(key) + NAME_OVERHEAD > MAX_NAME_BYTES)
    throw new SignetError(
      "invalid_key",
      `key is too long for swift multipart (at most ${MAX_NAME_BYTES - NAME_OVERHEAD} bytes)`,
      "key",
    );
  return `${SEGMENT_PREFIX}${key}/${uploadId}/`;
}

/** The segment object of one part: .signet-segments/{key}/{uploadId}/{partNumber, 5 digits}. */
export function segmentName(key: string, uploadId: string, partNumber: number): string {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER)
    throw invalidRequest(`partNumber must be 1 to ${MAX_PART_NUMBER}`, "partNumber");
  return `${uploadFolder(key, uploadId)}${partName(partNumber)}`;
}

const partName = (partNumber: number) => String(partNumber).padStart(5, "0");

/** A key or folder a user may name: valid, and outside the segments. */
function visible(name: string, field: string): string {
  if (name.startsWith(SEGMENT_PREFIX))
    throw new SignetError(
      "invalid_key",
      `${SEGMENT_PREFIX} is reserved for multipart segments`,
      field,
    );
  return name;
}
const userKey = (key: string) => visible(assertValidKey(key), "key");

const quoteEtag = (etag: string) => `"${bareEtag(etag)}"`;

export class SwiftBackend implements Backend {
  readonly kind = "swift";
  readonly capabilities: BackendCapabilities;
  /** Swift sets no limit of its own; the bucket's maxExpiresIn does. */
  readonly maxExpiresIn = Number.MAX_SAFE_INTEGER;
  readonly keyLevel: SwiftKeyLevel;
  private readonly storageUrl: string;
  private readonly container: string;
  private readonly digest: SwiftDigest;
  readonly #admin: SwiftAdmin | undefined;
  #keys!: SwiftTempUrlKeys;
  #signer!: SwiftTempUrlSigner;

  constructor(options: SwiftBackendOptions) {
    this.storageUrl = options.storageUrl;
    this.container = options.container;
    this.digest = options.digest ?? "sha256";
    this.keyLevel = options.keyLevel ?? "account";
    this.useKeys(options.keys);
    if (options.admin !== undefined)
      this.#admin = new SwiftAdmin(
        options.admin,
        accountOf(options.storageUrl),
        options.stallMs ?? backendStallMs({}),
      );
    // Without admin credentials Signet cannot proxy a link's requests: links can only redirect.
    this.capabilities = { ...SWIFT_CAPABILITIES, proxy: this.#admin !== undefined };
  }

  /** Key rotation in the interface's terms: current/previous are Temp-URL-Key and -Key-2. */
  readonly keyRotation: KeyRotation = {
    useKeys: (keys) =>
      this.useKeys(
        keys.previous === undefined
          ? { tempUrlKey: keys.current }
          : { tempUrlKey: keys.current, tempUrlKey2: keys.previous },
      ),
    rotateKey: async (newKey) => {
      const keys = await this.rotateKey(newKey);
      return { current: keys.tempUrlKey, previous: keys.tempUrlKey2 };
    },
    retireKey: () => this.retireKey(),
    unavailable: () =>
      this.#admin === undefined
        ? "has no swift admin credentials (authUrl, user, key) to rotate its key"
        : undefined,
  };

  /** Sign with keys.tempUrlKey from now on; keys says what Swift holds. Nothing is sent. */
  useKeys(keys: SwiftTempUrlKeys): void {
    if (keys.tempUrlKey2 === "") throw invalidRequest("swift temp URL key is empty", "tempUrlKey2");
    this.#signer = new SwiftTempUrlSigner({
      storageUrl: this.storageUrl,
      container: this.container,
      tempUrlKey: keys.tempUrlKey,
      digest: this.digest,
    });
    this.#keys = { ...keys };
  }

  /**
   * Temp-URL-Key ← newKey, Temp-URL-Key-2 ← the current key, on the account or the container;
   * then signs with newKey; returns the keys Swift now holds (for Signet's keyring). Refused
   * (conflict) while a second key is still set: overwriting it would end the URLs signed with it
   * unannounced.
   */
  async rotateKey(newKey: string): Promise<Required<SwiftTempUrlKeys>> {
    const admin = this.admin("key rotation");
    const current = this.#keys.tempUrlKey;
    if (this.#keys.tempUrlKey2 !== undefined)
      throw new SignetError("conflict", "retire the previous swift temp URL key first");
    if (newKey === "" || newKey === current)
      throw invalidRequest("the new swift temp URL key must be a different, non-empty one");
    const keys = { tempUrlKey: newKey, tempUrlKey2: current };
    await this.setKeys(admin, keys);
    this.useKeys(keys);
    return keys;
  }

  /** Removes Temp-URL-Key-2: every URL signed with it fails from then on. */
  async retireKey(): Promise<void> {
    const keys = { tempUrlKey: this.#keys.tempUrlKey };
    await this.setKeys(this.admin("key rotation"), keys);
    this.useKeys(keys);
  }

  private async setKeys(admin: SwiftAdmin, keys: SwiftTempUrlKeys): Promise<void> {
    const path = this.keyLevel === "account" ? "" : this.containerPath();
    const headers = tempUrlKeyHeaders(this.keyLevel, keys);
    const res = await admin.send("POST", path, { headers });
    await res.body.dump();
    if (!ok(res)) throw failure(res.statusCode, `set the ${this.keyLevel}'s temp URL keys`);
  }

  unbound(scope: DirectScope): string[] {
    if (scope.key !== undefined) userKey(scope.key);
    if (scope.folder !== undefined) visible(scope.folder, "folder");
    const names: string[] = [];
    const [method, ...more] = scope.methods;
    if (
      method === undefined ||
      more.length > 0 ||
      !TEMPURL_METHODS.includes(method) ||
      // A plain PUT signature also passes HEAD: a link is better, where Signet can serve one;
      // with only a temp URL key it cannot, and presign names HEAD in the reply's methods.
      (method === "PUT" && scope.part === undefined && this.#admin !== undefined)
    )
      names.push("methods");
    if (scope.folder === "") names.push("folder");
    if (scope.notBefore !== undefined) names.push("notBefore");
    const { ip } = scope.constraints;
    if (ip !== undefined && (ip.length !== 1 || !this.takesIpRange(ip[0]!))) names.push("ip");
    // Anything but ip is unbound, so a new constraint is never dropped silently.
    for (const name of constraintsOf(scope.constraints)) if (name !== "ip") names.push(name);
    return names;
  }

  /** Whether Swift can check this range: its ip_network() refuses host bits, as the signer does. */
  private takesIpRange(range: string): boolean {
    try {
      this.#signer.objectUrl("ip-check", { method: "GET", expiresAt: new Date(0), ipRange: range });
      return true;
    } catch (err) {
      if (err instanceof SignetError) return false;
      throw err;
    }
  }

  presign(scope: DirectScope): DirectRequest {
    assertAllBound(this.unbound(scope), "a swift temp URL");
    const method = scope.methods[0]!;
    const options: SwiftTempUrlOptions = {
      method,
      expiresAt: scope.expiresAt,
      ipRange: scope.constraints.ip?.[0],
    };
    if (scope.part !== undefined) {
      if (method !== "PUT" || scope.key === undefined)
        throw invalidRequest("a part URL is a PUT of one key's part", "part");
      const { uploadId, partNumber } = scope.part;
      const segment = segmentName(scope.key, uploadId, partNumber);
      return { url: this.#signer.objectUrl(segment, options), method, headers: {} };
    }
    if (scope.key !== undefined)
      return { url: this.#signer.objectUrl(scope.key, options), method, headers: {} };
    if (scope.folder === undefined) throw invalidRequest("a scope names a key or a folder");
    const { url, objectUrlTemplate } = this.#signer.folderUrl(scope.folder, options);
    return { url, method, headers: {}, objectUrlTemplate };
  }

  /** Signet's POST is a browser form upload: Swift's formpost, another signature. */
  presignPost(_scope: PostScope): null {
    return null;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const name = userKey(key);
    const res = await this.admin("head").send("HEAD", this.objectPath(name));
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    if (!ok(res)) throw failure(res.statusCode, "HEAD an object");
    return infoFrom(name, res, Number(header(res, "content-length")));
  }

  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const name = userKey(key);
    const headers: Record<string, string> =
      range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` };
    const res = await this.admin("get").send("GET", this.objectPath(name), { headers });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode === 416) {
      await res.body.dump();
      throw new SignetError("range_not_satisfiable", "the range starts past the object's end");
    }
    // Swift answers 200 to a Range it ignores: never hand those bytes out as the range.
    if (res.statusCode !== (range === undefined ? 200 : 206)) {
      await res.body.dump();
      throw failure(res.statusCode, "GET an object");
    }
    const size = Number(
      range === undefined
        ? header(res, "content-length")
        : /\/(\d+)$/.exec(header(res, "content-range") ?? "")?.[1],
    );
    return { info: infoFrom(name, res, size), body: res.body };
  }

  async put(
    key: string,
    body: Readable,
    meta: { contentType: string; contentLength?: number },
  ): Promise<ObjectInfo> {
    const name = userKey(key);
    const md5 = createHash("md5");
    const sha256 = createHash("sha256");
    let size = 0;
    async function* hashed() {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        md5.update(chunk);
        sha256.update(chunk);
        yield chunk;
      }
    }
    const headers: Record<string, string> = { "content-type": meta.contentType };
    if (meta.contentLength !== undefined) headers["content-length"] = String(meta.contentLength);
    const res = await this.admin("put").send("PUT", this.objectPath(name), {
      headers,
      body: Readable.from(hashed(), { objectMode: false }),
    });
    await res.body.dump();
    if (res.statusCode !== 201) throw failure(res.statusCode, "PUT an object");
    // Swift's ETag is the MD5 of what it stored: the SHA-256 is only reported for those bytes.
    const etag = header(res, "etag") ?? "";
    if (bareEtag(etag) !== md5.digest("hex"))
      throw new SignetError("backend_unavailable", "swift stored other bytes than Signet sent");
    return {
      key: name,
      size,
      etag: quoteEtag(etag),
      contentType: meta.contentType,
      lastModified: dateOf(header(res, "last-modified")),
      sha256: sha256.digest("base64"),
    };
  }

  /** Idempotent; a multipart object goes with its segments. */
  async delete(key: string): Promise<void> {
    const admin = this.admin("delete");
    const path = this.objectPath(userKey(key));
    const found = await admin.send("HEAD", path);
    await found.body.dump();
    if (found.statusCode === 404) return;
    if (!ok(found)) throw failure(found.statusCode, "HEAD an object");
    if (header(found, "x-static-large-object")?.toLowerCase() !== "true")
      return this.deleteObject(path);
    // SLO deletes the segments, then the manifest; its outcome is in the body of a 200.
    const res = await admin.send("DELETE", `${path}?multipart-manifest=delete`, {
      headers: { accept: "application/json" },
    });
    if (!ok(res)) {
      await res.body.dump();
      throw failure(res.statusCode, "DELETE a multipart object");
    }
    const outcome = (await res.body.json()) as { "Response Status"?: string };
    if (!/^(200|404) /.test(outcome["Response Status"] ?? ""))
      throw new SignetError(
        "backend_unavailable",
        `swift answered ${outcome["Response Status"]} to DELETE a multipart object`,
      );
  }

  /**
   * Swift's COPY (Destination: {container}/{to}); a multipart object's manifest is copied
   * itself (`multipart-manifest=get`), so the new manifest names the same segments and no byte
   * moves. Then the staged object is deleted, a manifest without its segments.
   *
   * Only the checked object moves. Swift's COPY evaluates conditional headers against the
   * *source* (copy middleware, "Object Copy": "if the incoming request has some conditional
   * headers (e.g. Range, If-Match), the source object will be evaluated for these headers"), on
   * the same GET that feeds the copy, so `If-Match` with the checked ETag is a source
   * precondition: 412, nothing written, when other bytes were staged since. A manifest's GET
   * with `multipart-manifest=get` compares If-Match with the manifest's own MD5, not the SLO
   * ETag `head` reports; the HEAD below answers both (`Etag`, `X-Manifest-Etag`, one version),
   * so the SLO ETag is compared with the checked one and the COPY pinned to that manifest's
   * ETag. A Swift too old to send X-Manifest-Etag cannot pin a manifest: refused (503). The
   * segments need no pin: the manifest records each one's ETag and size, and Swift refuses to
   * serve an SLO whose segment changed. Swift's ETags are MD5s: the pin is as strong as MD5.
   */
  async promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo> {
    const source = this.objectPath(userKey(from));
    const name = userKey(to);
    const admin = this.admin("copy");
    const found = await admin.send("HEAD", source);
    await found.body.dump();
    if (found.statusCode === 404) throw nothingStaged();
    if (!ok(found)) throw failure(found.statusCode, "HEAD an object");
    const slo = header(found, "x-static-large-object")?.toLowerCase() === "true";
    let pin = bareEtag(checked.etag);
    if (slo) {
      if (bareEtag(header(found, "etag") ?? "") !== pin) throw stagedChanged();
      const manifest = header(found, "x-manifest-etag");
      if (manifest === undefined)
        throw new SignetError(
          "backend_unavailable",
          "swift sent no X-Manifest-Etag: a multipart object cannot be promoted pinned",
        );
      pin = bareEtag(manifest);
    }
    const res = await admin.send("COPY", slo ? `${source}?multipart-manifest=get` : source, {
      headers: {
        destination: `${encodeURIComponent(this.container)}/${encodeKeyPath(name)}`,
        "if-match": `"${pin}"`,
      },
    });
    await res.body.dump();
    if (res.statusCode === 404) throw nothingStaged();
    if (res.statusCode === 412) throw stagedChanged();
    if (!ok(res)) throw failure(res.statusCode, "COPY an object");
    await this.deleteObject(source);
    const info = await this.head(name);
    if (info === undefined)
      throw new SignetError("backend_unavailable", "swift lost the object it just copied");
    return info;
  }

  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage> {
    visible(prefix, "prefix");
    const limit = Math.min(options.limit, 10_000);
    const page = await this.listing(prefix, options.cursor, limit);
    const items: ObjectInfo[] = [];
    const prefixes: string[] = [];
    for (const entry of page) {
      if ("subdir" in entry) {
        if (!entry.subdir.startsWith(SEGMENT_PREFIX)) prefixes.push(entry.subdir);
      } else if (!entry.name.startsWith(SEGMENT_PREFIX)) {
        items.push({
          key: entry.name,
          size: entry.bytes,
          etag: quoteEtag(entry.slo_etag ?? entry.hash),
          contentType: entry.content_type,
          lastModified: new Date(`${entry.last_modified}Z`),
        });
      }
    }
    // A full page may have more after it, even when the hidden prefix was taken out of it.
    const last = page.at(-1);
    const nextCursor =
      page.length === limit && last !== undefined
        ? "subdir" in last
          ? last.subdir
          : last.name
        : null;
    return { items, prefixes, nextCursor };
  }

  async createMultipart(key: string, meta: { contentType: string }): Promise<string> {
    const name = userKey(key);
    const uploadId = randomBytes(18).toString("base64url");
    const res = await this.admin("multipart").send(
      "PUT",
      this.segmentPath(name, uploadId, MARKER),
      {
        headers: { "content-type": meta.contentType, "content-length": "0" },
        body: "",
      },
    );
    await res.body.dump();
    if (res.statusCode !== 201) throw failure(res.statusCode, "start a multipart upload");
    return uploadId;
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    const name = userKey(key);
    await this.uploadType(name, uploadId);
    return this.segments(name, uploadId);
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    const name = userKey(key);
    const contentType = await this.uploadType(name, uploadId);
    const stored = new Map((await this.segments(name, uploadId)).map((p) => [p.partNumber, p]));
    const manifest = checkPartList(parts, stored).map((part) => ({
      path: `/${this.container}/${segmentName(name, uploadId, part.partNumber)}`,
      etag: bareEtag(part.etag),
      size_bytes: part.size,
    }));

    const admin = this.admin("multipart");
    const res = await admin.send("PUT", `${this.objectPath(name)}?multipart-manifest=put`, {
      headers: { "content-type": contentType },
      body: JSON.stringify(manifest),
    });
    if (res.statusCode === 400) {
      // e.g. a segment changed since the check, or more parts than max_manifest_segments
      const reason = (await res.body.text()).trim().slice(0, 300);
      throw invalidRequest(`swift refused the multipart manifest: ${reason}`, "parts");
    }
    await res.body.dump();
    if (res.statusCode !== 201) throw failure(res.statusCode, "write a multipart manifest");

    const used = new Set(parts.map((p) => p.partNumber));
    const unused = [...stored.keys()].filter((n) => !used.has(n));
    await this.deleteSegments(name, uploadId, [...unused.map(partName), MARKER]);
    const info = await this.head(name);
    if (info === undefined)
      throw new SignetError("backend_unavailable", "swift lost the object it just completed");
    return info;
  }

  /** Deletes the segments and the marker; idempotent. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const name = userKey(key);
    const parts = await this.segments(name, uploadId);
    await this.deleteSegments(name, uploadId, [
      ...parts.map((p) => partName(p.partNumber)),
      MARKER,
    ]);
  }

  /** The upload's content type, from its marker; not_found when there is no such upload. */
  private async uploadType(key: string, uploadId: string): Promise<string> {
    const res = await this.admin("multipart").send("HEAD", this.segmentPath(key, uploadId, MARKER));
    await res.body.dump();
    if (res.statusCode === 404) throw notFound("upload");
    if (!ok(res)) throw failure(res.statusCode, "HEAD a multipart upload");
    return header(res, "content-type") ?? "application/octet-stream";
  }

  /** The parts uploaded so far: five-digit names directly in the upload's folder. */
  private async segments(key: string, uploadId: string): Promise<PartInfo[]> {
    const folder = uploadFolder(key, uploadId);
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_SEGMENT_PAGES; page++) {
      const entries = await this.listing(folder, marker, PAGE);
      for (const entry of entries) {
        if ("subdir" in entry) continue;
        const rest = entry.name.slice(folder.length);
        if (PART_NAME.test(rest))
          parts.push({ partNumber: Number(rest), size: entry.bytes, etag: quoteEtag(entry.hash) });
      }
      if (entries.length < PAGE) return parts;
      const last = entries.at(-1)!;
      marker = "subdir" in last ? last.subdir : last.name;
    }
    throw new SignetError("backend_unavailable", "a swift multipart upload has too many segments");
  }

  private async deleteSegments(key: string, uploadId: string, names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += DELETE_CONCURRENCY)
      await Promise.all(
        names
          .slice(i, i + DELETE_CONCURRENCY)
          .map((n) => this.deleteObject(this.segmentPath(key, uploadId, n))),
      );
  }

  private async deleteObject(path: string): Promise<void> {
    const res = await this.admin("delete").send("DELETE", path);
    await res.body.dump();
    if (res.statusCode !== 404 && !ok(res)) throw failure(res.statusCode, "DELETE an object");
  }

  /** One page of the container listing under `prefix`, folded at "/". */
  private async listing(
    prefix: string,
    marker: string | undefined,
    limit: number,
  ): Promise<ListingEntry[]> {
    const query = new URLSearchParams({
      format: "json",
      prefix,
      delimiter: "/",
      limit: `${limit}`,
    });
    if (marker !== undefined) query.set("marker", marker);
    const res = await this.admin("list").send("GET", `${this.containerPath()}?${query}`);
    if (res.statusCode === 204) {
      await res.body.dump();
      return [];
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw failure(res.statusCode, "list the container");
    }
    return (await res.body.json()) as ListingEntry[];
  }

  private admin(operation: string): SwiftAdmin {
    if (this.#admin === undefined)
      throw new SignetError(
        "backend_unavailable",
        `swift ${operation} needs admin credentials (authUrl, user, key)`,
      );
    return this.#admin;
  }

  private containerPath(): string {
    return `/${encodeURIComponent(this.container)}`;
  }

  private objectPath(name: string): string {
    return `${this.containerPath()}/${encodeKeyPath(name)}`;
  }

  private segmentPath(key: string, uploadId: string, name: string): string {
    return this.objectPath(`${uploadFolder(key, uploadId)}${name}`);
  }
}

type ListingEntry =
  | { subdir: string }
  | {
      name: string;
      bytes: number;
      hash: string;
      content_type: string;
      /** UTC, without a zone: 2026-11-22T10:48:33.382160 */
      last_modified: string;
      /** a multipart object's ETag (hash is its manifest's) */
      slo_etag?: string;
    };

type Response = Dispatcher.ResponseData;

const ok = (res: Response) => res.statusCode >= 200 && res.statusCode < 300;

function header(res: Pick<Response, "headers">, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const dateOf = (value: string | undefined) => (value === undefined ? new Date() : new Date(value));

function infoFrom(key: string, res: Response, size: number): ObjectInfo {
  return {
    key,
    size,
    etag: quoteEtag(header(res, "etag") ?? ""),
    contentType: header(res, "content-type") ?? "application/octet-stream",
    lastModified: dateOf(header(res, "last-modified")),
  };
}

/** The refusal for an answer Signet did not expect (its body drained, never echoed). */
function failure(status: number, what: string): SignetError {
  switch (status) {
    case 401:
    case 403:
      return new SignetError("backend_unavailable", `swift refused Signet's admin user to ${what}`);
    case 413:
      return new SignetError("payload_too_large", "the object is larger than swift takes");
    case 404:
      // Object-level 404s are answered before this (absent object, nothing staged, no upload):
      // what is left is the container itself.
      return unavailable("swift", "bucket missing", undefined, 404);
    default:
      return new SignetError("backend_unavailable", `swift answered ${status} to ${what}`);
  }
}

/** The account of a storage URL: its last path segment (AUTH_acme). */
function accountOf(storageUrl: string): string {
  return decodeURIComponent(trimSlash(new URL(storageUrl).pathname).split("/").at(-1) ?? "");
}

interface SwiftRequest {
  headers?: Record<string, string>;
  body?: string | Readable;
}

interface Session {
  token: string;
  /** where the admin user's requests go (X-Storage-Url), the same account as the config's */
  storageUrl: string;
  /** when to authenticate again before Swift would refuse the token */
  renewAt: number;
}

/** Renew this long before tempauth says the token expires. */
const RENEW_MARGIN_MS = 60_000;

/**
 * Signet's admin user: tempauth v1.0 (GET authUrl with X-Auth-User and X-Auth-Key gives
 * X-Auth-Token and X-Storage-Url), the token cached until shortly before X-Auth-Token-Expires.
 */
class SwiftAdmin {
  readonly #credentials: SwiftAdminCredentials;
  #session: Session | undefined;
  #authenticating: Promise<Session> | undefined;

  constructor(
    credentials: SwiftAdminCredentials,
    private readonly account: string,
    private readonly stallMs: number,
  ) {
    this.#credentials = { ...credentials };
  }

  /**
   * A request to `path` under the storage URL. A 401 drops the token; the request is sent again
   * once with a new one, unless its body is a stream, which cannot be replayed.
   */
  async send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: SwiftRequest = {},
  ): Promise<Response> {
    const first = await this.attempt(method, path, options);
    if (first.statusCode !== 401 || options.body instanceof Readable) return first;
    await first.body.dump();
    return this.attempt(method, path, options);
  }

  private async attempt(
    method: Dispatcher.HttpMethod,
    path: string,
    options: SwiftRequest,
  ): Promise<Response> {
    const session = await this.session();
    const res = await call(`${session.storageUrl}${path}`, this.stallMs, {
      method,
      headers: { ...options.headers, "x-auth-token": session.token },
      body: options.body,
    });
    if (res.statusCode === 401 && this.#session === session) this.#session = undefined;
    return res;
  }

  private async session(): Promise<Session> {
    if (this.#session !== undefined && Date.now() < this.#session.renewAt) return this.#session;
    this.#authenticating ??= this.authenticate().finally(() => {
      this.#authenticating = undefined;
    });
    this.#session = await this.#authenticating;
    return this.#session;
  }

  private async authenticate(): Promise<Session> {
    const { authUrl, user, key } = this.#credentials;
    const res = await call(authUrl, this.stallMs, {
      method: "GET",
      headers: { "x-auth-user": user, "x-auth-key": key },
    });
    await res.body.dump();
    if (res.statusCode === 401 || res.statusCode === 403)
      throw new SignetError("backend_unavailable", "swift refused Signet's admin credentials");
    const token = header(res, "x-auth-token");
    const storageUrl = header(res, "x-storage-url");
    if (!ok(res) || token === undefined || storageUrl === undefined)
      throw new SignetError("backend_unavailable", `swift auth answered ${res.statusCode}`);
    if (accountOf(storageUrl) !== this.account)
      throw new SignetError(
        "backend_unavailable",
        "swift's admin user belongs to another account than storageUrl",
      );
    const seconds = Number(header(res, "x-auth-token-expires"));
    const renewAt = Number.isFinite(seconds)
      ? Date.now() + seconds * 1000 - RENEW_MARGIN_MS
      : Infinity;
    return { token, storageUrl: trimSlash(storageUrl), renewAt };
  }
}

/**
 * undici's request; a failure (refused, reset, `stallMs` of silence, body cut off) is
 * backend_unavailable.
 */
async function call(
  url: string,
  stallMs: number,
  options: SwiftRequest & { method: Dispatcher.HttpMethod },
): Promise<Response> {
  try {
    // undici refreshes the first while a body goes out, the second while one comes in.
    return await request(url, { ...options, headersTimeout: stallMs, bodyTimeout: stallMs });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new SignetError(
      "backend_unavailable",
      `the request to swift failed (${typeof code === "string" ? code : "network error"})`,
    );
  }
}
