/**
 * Azure Blob Storage as a backend: direct URLs are blob SAS URLs signed by azure-sas.ts (which has
 * the whole string-to-sign); object operations go through @azure/storage-blob with the same
 * credential.
 *
 * Direct URLs. One blob, one SAS permission (sr=b; sp is r for GET and HEAD, w for PUT, d for
 * DELETE), e.g. a PUT of in/a.bin into container signet of Azurite's development account, valid
 * until 2026-01-01T00:00:00Z:
 *
 *   http://127.0.0.1:10000/devstoreaccount1/signet/in/a.bin?sv=2025-11-05&spr=https%2Chttp
 *     &se=2026-01-01T00%3A00%3A00Z&sr=b&sp=w&sig=m79bjZRujafful%2FWaBSKffQDaw8d7%2FeZTdX2GGPjz34%3D
 *   with headers { "x-ms-blob-type": "BlockBlob" }
 *
 * The SAS binds, so unbound() names none of them: the key, the permission, expiry (se), notBefore
 * (st), one IPv4 address or range (ip: sip), the response overrides of a read (rscd, rsct), and
 * https (spr; http too only when the endpoint itself is http). It cannot bind, and unbound() names
 * for a link to enforce: "folder" (a container SAS is the whole container), "methods" (several
 * permissions in one URL, HEAD alone since r also serves GET, LIST, POST), "ip" (IPv6, several
 * ranges), "range", "contentLength", "contentLengthRange", "contentType", "checksumSha256",
 * "headers", and any constraint added later until this file learns it. presign() refuses a scope
 * with anything unbound: drop what a link or completion enforces before calling it. Within one
 * permission, r also serves HEAD and the blob's properties, and w also allows Put Blob, Put
 * Block, Put Block List, properties and metadata on that blob. Azure has no form upload:
 * presignPost() is null.
 *
 * Multipart. Azure has no upload object: blocks are staged on the blob and become its content when
 * a block list is committed. createMultipart() returns an id of Signet's own, holding nothing
 * secret (the type is there because completion is stateless and must set it):
 *
 *   {16 random bytes}.{content type}, each base64url     e.g. VQ8YjqzCgGUMG_4JATizRQ.aW1hZ2UvcG5n
 *
 * Part n's block id is base64(the 16 bytes ‖ n as 2 bytes big-endian): always 24 characters (Azure
 * wants one length for all blocks of a blob) and unique per upload and part. A part URL is the
 * blob's write SAS plus "&comp=block&blockid={id}" (Put Block); part 2 of that upload, above:
 *
 *   …/signet/in/a.bin?sv=…&sp=w&sig=…&comp=block&blockid=VQ8YjqzCgGUMG%2F4JATizRQAC
 *
 * comp and blockid are not signed: a part URL is a write SAS for the whole blob until it expires,
 * so keep it short, and let completion check what was committed. listParts() reads the uncommitted blocks (Get Block List)
 * and keeps this upload's. completeMultipart() checks that every part was staged and commits the
 * list itself (Put Block List). Azure has no part etags (Put Block answers none): a part's etag
 * is the block id listParts() reports, and an empty one stands for it (core/part-list.ts). A commit drops every other uncommitted block of the
 * blob, a concurrent upload's to the same key included. No Azure call deletes staged blocks, but
 * a commit drops them: abortMultipart(), when the upload staged blocks on a blob that has no
 * content yet, commits an empty block list (only while no blob exists) and deletes that empty
 * blob (only that one). A blob with content keeps them, as committing it again would change it:
 * they go with its next commit or are garbage-collected after 7 days. Part URLs work until they
 * expire either way.
 *
 * Revocation. With storedPolicies: { pool: n } (at most 5 policies per container, Azure's limit,
 * counting every policy there), createStoredPolicy(id, permissions, expiresOn) adds a stored
 * access policy, and presign({ ...scope, storedPolicy: id }) signs a SAS naming it (si) with no sp
 * or se, which the policy supplies: create it with sasPermissions(scope.methods, "b") and
 * scope.expiresAt. removeStoredPolicy(id) revokes every SAS naming it. A full pool is 409 conflict;
 * expired policies are dropped to make room. Azure applies a policy change within 30 s, both ways.
 * Service SAS only: a user delegation SAS cannot name a policy.
 *
 * Settings, a bucket of the config file:
 *
 *   { "backend": "azure", "accountName": "acme", "container": "uploads",
 *     "accountKey": "${AZURE_STORAGE_KEY}", "storedPolicies": { "pool": 5 } }
 *
 *   accountName, container   where the blobs are
 *   endpoint                 the blob endpoint, default https://{accountName}.blob.core.windows.net
 *                            (sovereign clouds; Azurite: http://127.0.0.1:10000/devstoreaccount1)
 *   accountKey               "${ENV}" naming the account key: service SAS and Shared Key requests
 *   userDelegation: true     instead, DefaultAzureCredential (Entra ID) for requests, and SAS
 *                            signed with user delegation keys, fetched for 7 days and renewed a day
 *                            before they expire; SAS live at most a day; await ready() first
 *   storedPolicies.pool      1..5: revocable direct URLs (accountKey only)
 *   maxExpiresIn, maxObjectSize, cors   as for every bucket
 *
 * Errors: a missing object is undefined (head, get) or nothing to do (delete); no answer, a 5xx or
 * no Entra token is 503 backend_unavailable; a range past the end 416; anything else Azure refuses
 * is 500 internal naming its status and code, never a request, a key or a signature.
 */
import { randomBytes } from "node:crypto";
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";
import type { TokenCredential } from "@azure/identity";
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  type ContainerListBlobHierarchySegmentResponse,
  newPipeline,
  type RequestPolicyFactory,
  RestError,
  type SignedIdentifier,
  StorageSharedKeyCredential,
  type UserDelegationKey,
} from "@azure/storage-blob";
import { type Static, Type } from "@sinclair/typebox";
import { classify, unavailable } from "../provider-errors.js";
import { parseCidr } from "../../core/cidr.js";
import {
  backendStallMs,
  resolveSecret,
  SecretRef,
  TIMED_BUCKET_FIELDS,
} from "../../core/config-schema.js";
import { type Constraint, constraintsOf, type ScopeConstraints } from "../../core/constraints.js";
import { SignetError, stagedChanged } from "../../core/errors.js";
import { checkPartList } from "../../core/part-list.js";
import type { Method } from "../../core/methods.js";
import { trimSlash } from "../../core/urls.js";
import {
  type AzureLocation,
  type AzureSasKey,
  BLOCK_BLOB_HEADERS,
  type BlobSasOptions,
  sasPermissions,
  signBlobSas,
} from "./azure-sas.js";
import { assertAllBound } from "../bound.js";
import { nothingStaged } from "../staging.js";
import { AZURE_CAPABILITIES } from "./capabilities.js";
import type {
  Backend,
  BackendCapabilities,
  DirectRequest,
  DirectScope,
  ListPage,
  ObjectInfo,
  PartInfo,
  PostScope,
} from "../types.js";
import { extend } from "../../core/extend.js";

/** How long the read SAS of a staged blob lives while Azure copies it, in seconds. */
const PROMOTE_SOURCE_LIFE = 3600;

export const AzureBucketConfigSchema = Type.Object(
  {
    backend: Type.Literal("azure"),
    accountName: Type.String({ pattern: "^[a-z0-9]{3,24}$" }),
    // Azure's container names: 3 to 63 of a-z, 0-9 and single hyphens, not at either end.
    container: Type.String({ pattern: "^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$" }),
    endpoint: Type.Optional(Type.String({ pattern: "^https?://[^\\s?#]+$" })),
    accountKey: Type.Optional(SecretRef),
    userDelegation: Type.Optional(Type.Literal(true)),
    storedPolicies: Type.Optional(
      Type.Object(
        { pool: Type.Integer({ minimum: 1, maximum: 5 }) },
        { additionalProperties: false },
      ),
    ),
    ...TIMED_BUCKET_FIELDS,
  },
  { additionalProperties: false },
);
export type AzureBucketConfig = Static<typeof AzureBucketConfigSchema>;

/**
 * The backend of a validated bucket config. `at` is where the bucket sits in the config file
 * ("buckets.photos"), so that errors name the key; they never hold a secret.
 */
export function createAzureBackend(
  config: AzureBucketConfig,
  env: NodeJS.ProcessEnv,
  at?: string,
): AzureBackend {
  const field = (name: string) => (at === undefined ? name : `${at}.${name}`);
  if ((config.accountKey === undefined) === (config.userDelegation === undefined))
    throw new Error(
      `invalid config: ${at ?? "the bucket"} needs exactly one of accountKey, userDelegation`,
    );
  let credential: AzureCredential;
  if (config.accountKey !== undefined) {
    credential = { accountKey: resolveSecret(config.accountKey, env, field("accountKey")) };
  } else {
    credential = { tokenCredential: lazyDefaultAzureCredential() };
  }
  try {
    return new AzureBackend({
      accountName: config.accountName,
      container: config.container,
      endpoint: config.endpoint,
      credential,
      storedPolicyPool: config.storedPolicies?.pool,
      stallMs: backendStallMs(config),
    });
  } catch (err) {
    if (err instanceof RangeError)
      throw new Error(`invalid config: ${at ?? "the bucket"}: ${err.message}`);
    throw err;
  }
}

/** What Signet's requests and SAS are signed with. */
export type AzureCredential = { accountKey: string } | { tokenCredential: TokenCredential };

export interface AzureBackendOptions extends AzureLocation {
  credential: AzureCredential;
  /** how many stored access policies the container may hold (1..5); absent, none are made */
  storedPolicyPool?: number;
  /** how long a try may wait for Azure's answer's head (ms; default 60 s) */
  stallMs?: number;
}

/** A scope that may name a stored access policy made with createStoredPolicy. */
export interface AzureDirectScope extends DirectScope {
  storedPolicy?: string;
}

/** Azure's limit of blocks per blob. */
export const MAX_PARTS = 50_000;
/** The longest a service SAS may live: as S3 and GCS, and a SAS without a policy is irrevocable. */
const SERVICE_SAS_MAX_EXPIRES_IN = 7 * 86400;
/** The longest a user delegation SAS may live: its key must outlive it, and keys last 7 days. */
const DELEGATION_SAS_MAX_EXPIRES_IN = 86400;
/**
 * Fail fast rather than keep a caller waiting (the SDK's default backs off for minutes): 3 tries,
 * the SDK waiting (2^(n-1) - 1) × 0.25 s before try n.
 */
const RETRY = { maxTries: 3, retryDelayInMs: 250, maxRetryDelayInMs: 2000 };
/**
 * The SDK's pipeline with {@link RETRY} and a client timeout on every try: the SDK has none of its
 * own (its `tryTimeoutInMs` only asks the service to time itself out, which would also cut a long
 * download), so a silent Azure would hold a request for ever. The timeout is Node's HTTP
 * client's: from the request to the answer's head, each try (an upload goes in 4 MiB blocks,
 * each its own request).
 */
function timedPipeline(
  credential: Parameters<typeof newPipeline>[0],
  stallMs = backendStallMs({}),
): ReturnType<typeof newPipeline> {
  const pipeline = newPipeline(credential, { retryOptions: RETRY });
  const timeout: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: (request) => {
        request.timeout = stallMs;
        return next.sendRequest(request);
      },
    }),
  };
  pipeline.factories.push(timeout);
  return pipeline;
}

/** uploadStream buffers up to this many blocks of this size per upload. */
const PUT_BLOCK_SIZE = 4 * 1024 * 1024;
const PUT_CONCURRENCY = 4;

/** The method sets that one SAS permission allows exactly (r serves GET and HEAD alike). */
const SAS_METHOD_SETS = new Set(["GET", "GET HEAD", "PUT", "DELETE"]);

/** The constraints a SAS binds, some only for some values; every other one is unbound. */
const SAS_BINDS: Partial<Record<Constraint, (c: ScopeConstraints) => boolean>> = {
  responseContentDisposition: () => true,
  responseContentType: () => true,
  ip: ({ ip }) => ip?.length === 1 && parseCidr(ip[0] ?? "").family === "ipv4",
};

export class AzureBackend implements Backend {
  readonly kind = "azure";
  readonly capabilities: BackendCapabilities;
  readonly maxExpiresIn: number;
  private readonly location: AzureLocation;
  /** the account key (service SAS) or the user delegation keys */
  private readonly signer: string | DelegationKeys;
  private readonly container: ContainerClient;
  private readonly storedPolicyPool: number | undefined;
  readonly revocation?: Backend["revocation"];
  /** Stored-policy edits are read-modify-write of one list: one at a time. */
  private policyEdits: Promise<unknown> = Promise.resolve();

  constructor(options: AzureBackendOptions) {
    const { accountName, container, credential, storedPolicyPool } = options;
    const endpoint = trimSlash(options.endpoint ?? `https://${accountName}.blob.core.windows.net`);
    this.location = { accountName, container, endpoint };
    let service: BlobServiceClient;
    if ("accountKey" in credential) {
      const key = credential.accountKey;
      // Canonical base64 or nothing: a wrong key would only show as 403s on every URL.
      if (key.length === 0 || Buffer.from(key, "base64").toString("base64") !== key)
        throw new RangeError("the account key is not base64");
      this.signer = key;
      service = new BlobServiceClient(
        endpoint,
        timedPipeline(new StorageSharedKeyCredential(accountName, key), options.stallMs),
      );
    } else {
      service = new BlobServiceClient(
        endpoint,
        timedPipeline(credential.tokenCredential, options.stallMs),
      );
      this.signer = new DelegationKeys(service);
    }
    if (storedPolicyPool !== undefined) {
      if (!Number.isInteger(storedPolicyPool) || storedPolicyPool < 1 || storedPolicyPool > 5)
        throw new RangeError("storedPolicies.pool must be 1 to 5, Azure's limit per container");
      if (this.signer instanceof DelegationKeys)
        throw new RangeError(
          "storedPolicies needs accountKey: a user delegation SAS cannot name a stored policy",
        );
    }
    this.storedPolicyPool = storedPolicyPool;
    this.capabilities = { ...AZURE_CAPABILITIES, revocation: storedPolicyPool !== undefined };
    // With a pool, revocable direct URLs name a stored access policy made for their token id:
    // removing the policy revokes them.
    if (storedPolicyPool !== undefined)
      this.revocation = {
        prepare: async (scope: DirectScope): Promise<DirectScope> => {
          await this.createStoredPolicy(
            scope.tokenId,
            sasPermissions(scope.methods, "b"),
            scope.expiresAt,
          );
          return extend(scope, {
            storedPolicy: scope.tokenId,
            revocable: true,
          }) as AzureDirectScope;
        },
        revoke: (tokenId: string) => this.removeStoredPolicy(tokenId),
      };
    this.container = service.getContainerClient(container);
    this.maxExpiresIn =
      this.signer instanceof DelegationKeys
        ? DELEGATION_SAS_MAX_EXPIRES_IN
        : SERVICE_SAS_MAX_EXPIRES_IN;
  }

  /** Fetches a user delegation key when none fresh is cached; nothing to do with an account key. */
  async ready(): Promise<void> {
    if (this.signer instanceof DelegationKeys) await this.signer.ensure();
  }

  unbound(scope: DirectScope): string[] {
    const names: string[] = [];
    if (scope.key === undefined) names.push("folder");
    if (!SAS_METHOD_SETS.has([...new Set(scope.methods)].sort().join(" "))) names.push("methods");
    const c = scope.constraints;
    for (const name of constraintsOf(c)) if (!SAS_BINDS[name]?.(c)) names.push(name);
    return names;
  }

  presign(scope: AzureDirectScope): DirectRequest {
    // unbound() names "folder" when there is no key.
    assertAllBound(this.unbound(scope), "an Azure SAS");
    const { constraints: c } = scope;
    const key = scope.key!;
    const [method, ...more] = scope.methods as [Method, ...Method[]];
    if (scope.part !== undefined && method !== "PUT")
      throw new SignetError("invalid_request", "a part URL is for PUT only", "method");
    const options: BlobSasOptions = {
      blob: key,
      startsOn: scope.notBefore,
      ip: c.ip,
      contentDisposition: c.responseContentDisposition,
      contentType: c.responseContentType,
    };
    if (scope.storedPolicy === undefined) {
      options.permissions = sasPermissions(scope.methods, "b");
      options.expiresOn = scope.expiresAt;
    } else {
      this.requirePolicyPool();
      options.policyId = scope.storedPolicy;
    }
    let { url } = signBlobSas(this.location, this.sasKey(scope.expiresAt), options);
    if (scope.part !== undefined) {
      const blockId = blockIdOf(scope.part.uploadId, scope.part.partNumber);
      url += `&comp=block&blockid=${encodeURIComponent(blockId)}`;
    }
    const request: DirectRequest = {
      url,
      method,
      headers: method === "PUT" ? { ...BLOCK_BLOB_HEADERS } : {},
    };
    if (more.length > 0) request.methods = scope.methods;
    return request;
  }

  presignPost(_scope: PostScope): null {
    return null;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return objectInfo(key, await this.container.getBlobClient(key).getProperties());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw azureError(err, "reading a blob's properties");
    }
  }

  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    // A count of 0 would mean "to the end": never let a reversed range read the whole blob.
    if (range !== undefined && range.end < range.start)
      throw new SignetError("invalid_request", "the range ends before it starts", "range");
    try {
      const download = await this.container
        .getBlobClient(key)
        .download(range?.start, range && range.end - range.start + 1);
      // A ranged answer's Content-Length is the range's; the blob's size follows the "/".
      const total = /\/(\d+)$/.exec(download.contentRange ?? "")?.[1];
      // Named one by one: the answer's fields are getters, which a spread would not copy.
      const info = objectInfo(key, {
        contentLength: total === undefined ? download.contentLength : Number(total),
        etag: download.etag,
        contentType: download.contentType,
        lastModified: download.lastModified,
      });
      // The SDK's Node build answers with a RetriableReadableStream, a Readable.
      return { info, body: download.readableStreamBody as Readable };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw azureError(err, "reading a blob");
    }
  }

  async put(
    key: string,
    body: Readable,
    meta: { contentType: string; contentLength?: number },
  ): Promise<ObjectInfo> {
    const counted = new ByteCounter(meta.contentLength);
    // Errors, the counter's own included, reach uploadStream through `counted`, which then
    // commits nothing: the blob keeps its old content.
    pipeline(body, counted, () => undefined);
    try {
      const written = await this.container
        .getBlockBlobClient(key)
        .uploadStream(counted, PUT_BLOCK_SIZE, PUT_CONCURRENCY, {
          blobHTTPHeaders: { blobContentType: meta.contentType },
        });
      const { etag, lastModified } = written;
      return objectInfo(key, {
        contentLength: counted.size,
        etag,
        contentType: meta.contentType,
        lastModified,
      });
    } catch (err) {
      counted.destroy();
      throw azureError(err, "writing a blob");
    }
  }

  /**
   * Copy Blob (beginCopyFromURL) from a short-lived read SAS of the staged blob, polled to its
   * end, then the staged blob is deleted. Within one account the copy is server-side.
   *
   * Only the checked blob moves: the copy carries its ETag as a source condition
   * (`sourceConditions.ifMatch`, x-ms-source-if-match: "copy the source blob only if its ETag
   * matches the value specified. If the ETag values don't match, the Blob service returns
   * status code 412", Copy Blob, "Request headers"), and Azure changes a blob's ETag on every
   * write, so other bytes staged since are refused before anything is written: 409 conflict.
   */
  async promote(from: string, to: string, checked: ObjectInfo): Promise<ObjectInfo> {
    const source = this.presign({
      bucket: "",
      methods: ["GET"],
      key: from,
      expiresAt: new Date(Date.now() + PROMOTE_SOURCE_LIFE * 1000),
      principal: "system:promote",
      tokenId: randomBytes(12).toString("base64url"),
      constraints: {},
    }).url;
    try {
      const poller = await this.container
        .getBlobClient(to)
        .beginCopyFromURL(source, { sourceConditions: { ifMatch: checked.etag } });
      await poller.pollUntilDone();
    } catch (err) {
      if (isNotFound(err)) throw nothingStaged();
      if (err instanceof RestError && err.statusCode === 412) throw stagedChanged();
      throw azureError(err, "copying a blob");
    }
    await this.delete(from);
    const info = await this.head(to);
    if (info === undefined)
      throw new SignetError("conflict", "the blob was deleted as soon as it was written");
    return info;
  }

  async delete(key: string): Promise<void> {
    try {
      // Snapshots go too: Azure refuses to delete a blob that has some otherwise.
      await this.container.getBlobClient(key).deleteIfExists({ deleteSnapshots: "include" });
    } catch (err) {
      throw azureError(err, "deleting a blob");
    }
  }

  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<ListPage> {
    let page: ContainerListBlobHierarchySegmentResponse | undefined;
    try {
      ({ value: page } = await this.container
        .listBlobsByHierarchy("/", { prefix })
        .byPage({ continuationToken: options.cursor, maxPageSize: options.limit })
        .next());
    } catch (err) {
      if (options.cursor !== undefined && err instanceof RestError && err.statusCode === 400)
        throw new SignetError("invalid_request", "the cursor is not valid", "cursor");
      throw azureError(err, "listing blobs");
    }
    if (!page) return { items: [], prefixes: [], nextCursor: null };
    return {
      items: page.segment.blobItems.map((blob) => objectInfo(blob.name, blob.properties)),
      prefixes: page.segment.blobPrefixes?.map((p) => p.name) ?? [],
      nextCursor: page.continuationToken || null,
    };
  }

  async createMultipart(_key: string, meta: { contentType: string }): Promise<string> {
    const nonce = randomBytes(NONCE_BYTES).toString("base64url");
    return `${nonce}.${Buffer.from(meta.contentType, "utf8").toString("base64url")}`;
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    parseUploadId(uploadId);
    let blocks;
    try {
      ({ uncommittedBlocks: blocks } = await this.container
        .getBlockBlobClient(key)
        .getBlockList("uncommitted"));
    } catch (err) {
      // A blob with neither content nor staged blocks.
      if (isNotFound(err)) return [];
      throw azureError(err, "listing a blob's blocks");
    }
    return (blocks ?? [])
      .flatMap(({ name, size }) => {
        const partNumber = partNumberOf(uploadId, name);
        return partNumber === undefined ? [] : [{ partNumber, size, etag: name }];
      })
      .sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    const { contentType } = parseUploadId(uploadId);
    const staged = new Map((await this.listParts(key, uploadId)).map((p) => [p.partNumber, p]));
    const named = checkPartList(parts, staged);
    const numbers = named.map((p) => p.partNumber);
    try {
      const committed = await this.container.getBlockBlobClient(key).commitBlockList(
        numbers.map((n) => blockIdOf(uploadId, n)),
        { blobHTTPHeaders: { blobContentType: contentType } },
      );
      const size = named.reduce((sum, p) => sum + p.size, 0);
      const { etag, lastModified } = committed;
      return objectInfo(key, { contentLength: size, etag, contentType, lastModified });
    } catch (err) {
      throw azureError(err, "committing a block list");
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    if ((await this.listParts(key, uploadId)).length === 0) return;
    const blob = this.container.getBlockBlobClient(key);
    let etag: string | undefined;
    try {
      ({ etag } = await blob.commitBlockList([], { conditions: { ifNoneMatch: "*" } }));
    } catch (err) {
      // A blob with content is there (409 BlobAlreadyExists, or 412): it is left as it is.
      if (err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412)) return;
      throw azureError(err, "dropping an upload's blocks");
    }
    try {
      await blob.delete({ conditions: { ifMatch: etag } });
    } catch (err) {
      // Gone already, or committed over since: not this upload's to delete.
      if (err instanceof RestError && (err.statusCode === 404 || err.statusCode === 412)) return;
      throw azureError(err, "deleting an aborted upload's empty blob");
    }
  }

  /**
   * Adds a stored access policy granting `permissions` (SAS letters, e.g. "r") until `expiresOn`;
   * 409 conflict when the id exists or the pool is full.
   */
  async createStoredPolicy(id: string, permissions: string, expiresOn: Date): Promise<void> {
    const pool = this.requirePolicyPool();
    if (id.length < 1 || id.length > 64)
      throw new SignetError("invalid_request", "a stored policy id is 1 to 64 characters", "id");
    let letters: string;
    try {
      letters = BlobSASPermissions.parse(permissions).toString();
    } catch {
      throw new SignetError("invalid_request", "not SAS permission letters", "permissions");
    }
    await this.editPolicies((policies) => {
      const now = Date.now();
      // An expired policy authorises nothing any more; its slot is free.
      const live = policies.filter((p) => (p.accessPolicy.expiresOn?.getTime() ?? now + 1) > now);
      if (live.some((p) => p.id === id))
        throw new SignetError("conflict", `stored access policy ${id} exists`);
      if (live.length >= pool)
        throw new SignetError("conflict", `the pool of ${pool} stored access policies is full`);
      return [...live, { id, accessPolicy: { permissions: letters, expiresOn } }];
    });
  }

  /** Removes a stored access policy, revoking every SAS naming it; none by that id is fine. */
  async removeStoredPolicy(id: string): Promise<void> {
    this.requirePolicyPool();
    await this.editPolicies((policies) =>
      policies.some((p) => p.id === id) ? policies.filter((p) => p.id !== id) : undefined,
    );
  }

  private requirePolicyPool(): number {
    if (this.storedPolicyPool === undefined)
      throw new SignetError(
        "constraint_not_enforceable",
        "this bucket has no stored access policies (storedPolicies in its config)",
      );
    return this.storedPolicyPool;
  }

  /** Rewrites the container's policy list with `edit`'s answer (undefined: leave it). */
  private editPolicies(
    edit: (policies: SignedIdentifier[]) => SignedIdentifier[] | undefined,
  ): Promise<void> {
    const run = this.policyEdits.then(async () => {
      try {
        const current = await this.container.getAccessPolicy();
        const next = edit(current.signedIdentifiers);
        // The public access level is part of the same ACL: keep it as it is.
        if (next !== undefined)
          await this.container.setAccessPolicy(current.blobPublicAccess, next);
      } catch (err) {
        throw azureError(err, "editing stored access policies");
      }
    });
    this.policyEdits = run.catch(() => undefined);
    return run;
  }

  private sasKey(expiresAt: Date): AzureSasKey {
    return typeof this.signer === "string"
      ? { accountKey: this.signer }
      : { userDelegationKey: this.signer.current(expiresAt) };
  }
}

const NONCE_BYTES = 16;
const UPLOAD_ID = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/;

function parseUploadId(uploadId: string): { nonce: Buffer; contentType: string } {
  const match = UPLOAD_ID.exec(uploadId);
  if (match === null)
    throw new SignetError("invalid_request", "not an Azure upload id", "uploadId");
  const [, nonce = "", type = ""] = match;
  return {
    nonce: Buffer.from(nonce, "base64url"),
    contentType: Buffer.from(type, "base64url").toString("utf8"),
  };
}

/** The block id of a part: base64(upload nonce ‖ part number as uint16 BE), 24 characters. */
export function blockIdOf(uploadId: string, partNumber: number): string {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS)
    throw new SignetError(
      "invalid_request",
      `a part number is 1 to ${MAX_PARTS} on Azure`,
      "partNumber",
    );
  const number = Buffer.alloc(2);
  number.writeUInt16BE(partNumber);
  return Buffer.concat([parseUploadId(uploadId).nonce, number]).toString("base64");
}

/** The part number a block id stands for in this upload; undefined for another upload's block. */
export function partNumberOf(uploadId: string, blockId: string): number | undefined {
  const raw = Buffer.from(blockId, "base64");
  const { nonce } = parseUploadId(uploadId);
  if (raw.length !== NONCE_BYTES + 2 || !raw.subarray(0, NONCE_BYTES).equals(nonce))
    return undefined;
  const partNumber = raw.readUInt16BE(NONCE_BYTES);
  return partNumber >= 1 && partNumber <= MAX_PARTS ? partNumber : undefined;
}

/** User delegation keys live 7 days; one is renewed once it could no longer cover a longest SAS. */
const KEY_LIFETIME_MS = 7 * 86400_000 - 5 * 60_000;
const KEY_RENEW_BEFORE_MS = DELEGATION_SAS_MAX_EXPIRES_IN * 1000 + 3600_000;
/** Starts a key a little in the past, so that a clock ahead of Azure's still has a valid key. */
const KEY_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The user delegation key SAS are signed with, cached until near its expiry. presign() is
 * synchronous: it signs with the cached key and starts a renewal when the key nears its end.
 */
class DelegationKeys {
  private key: UserDelegationKey | undefined;
  private fetching: Promise<void> | undefined;

  constructor(private readonly service: BlobServiceClient) {}

  /** The cached key, when it outlives `until`; 503 otherwise (a renewal is then under way). */
  current(until: Date): UserDelegationKey {
    // The next call tries again; ready() is where a failure is reported.
    if (!this.fresh()) this.renew().catch(() => undefined);
    const key = this.key;
    if (key === undefined || key.signedExpiresOn < until)
      throw new SignetError(
        "backend_unavailable",
        "no Azure user delegation key is ready for this expiry yet; retry shortly",
      );
    return key;
  }

  async ensure(): Promise<void> {
    if (!this.fresh()) await this.renew();
  }

  private fresh(): boolean {
    return (
      this.key !== undefined &&
      this.key.signedExpiresOn.getTime() - Date.now() > KEY_RENEW_BEFORE_MS
    );
  }

  private renew(): Promise<void> {
    this.fetching ??= (async () => {
      const now = Date.now();
      try {
        const key = await this.service.getUserDelegationKey(
          new Date(now - KEY_CLOCK_SKEW_MS),
          new Date(now + KEY_LIFETIME_MS),
        );
        this.key = {
          signedObjectId: key.signedObjectId,
          signedTenantId: key.signedTenantId,
          signedStartsOn: key.signedStartsOn,
          signedExpiresOn: key.signedExpiresOn,
          signedService: key.signedService,
          signedVersion: key.signedVersion,
          signedDelegatedUserTenantId: key.signedDelegatedUserTenantId,
          value: key.value,
        };
      } catch (err) {
        throw azureError(err, "getting a user delegation key");
      }
    })().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }
}

/** DefaultAzureCredential, loaded on first use: @azure/identity adds ~0.4 s to start-up. */
function lazyDefaultAzureCredential(): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import("@azure/identity").then(
        ({ DefaultAzureCredential }) => new DefaultAzureCredential(),
      );
      return (await credential).getToken(scopes, options);
    },
  };
}

/** Counts the bytes passing through; with an expected length, errors on any other. */
class ByteCounter extends Transform {
  size = 0;

  constructor(private readonly expected: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.expected !== undefined && this.size > this.expected)
      done(new SignetError("invalid_request", "the body is longer than its declared length"));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.expected !== undefined && this.size !== this.expected)
      done(new SignetError("invalid_request", "the body ended before its declared length"));
    else done();
  }
}

function objectInfo(
  key: string,
  p: { contentLength?: number; etag?: string; contentType?: string; lastModified?: Date },
): ObjectInfo {
  if (p.contentLength === undefined || p.etag === undefined || p.lastModified === undefined)
    throw new SignetError("internal", "Azure answered without a blob's size, etag or date");
  return {
    key,
    size: p.contentLength,
    // Headers carry the etag quoted, listings bare: quoted everywhere, as HTTP has it.
    etag: p.etag.startsWith('"') ? p.etag : `"${p.etag}"`,
    contentType: p.contentType ?? "application/octet-stream",
    lastModified: p.lastModified,
  };
}

const isNotFound = (err: unknown) => err instanceof RestError && err.statusCode === 404;

/** @azure/identity's errors, by name: it is loaded only when user delegation is configured. */
const IDENTITY_ERRORS = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
]);

/**
 * A SignetError for a failed Azure call. The SDK's error is dropped, not kept as a cause: it
 * holds the request, whose headers carry a Shared Key signature or a bearer token.
 */
function azureError(err: unknown, doing: string): Error {
  if (err instanceof SignetError) return err;
  if (err instanceof RestError) {
    const status = err.statusCode;
    if (status === undefined || status >= 500)
      return new SignetError("backend_unavailable", `Azure Blob Storage failed ${doing}`);
    const failure = classify(err.code, status);
    if (failure !== undefined) return unavailable("azure", failure, err.code, status);
    if (status === 416)
      return new SignetError("range_not_satisfiable", "the range starts past the blob's end");
    return new SignetError(
      "internal",
      `Azure Blob Storage refused ${doing}: ${status} ${err.code ?? ""}`.trimEnd(),
    );
  }
  if (err instanceof Error && IDENTITY_ERRORS.has(err.name))
    return new SignetError("backend_unavailable", `no Entra ID token for ${doing}`);
  return err instanceof Error ? err : new Error(String(err));
}
