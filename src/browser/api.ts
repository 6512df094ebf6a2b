/**
 * Typed calls to Signet's control plane (/v1). Each is a standalone function of a client so
 * an app's bundle carries only those it uses. Errors are `SignetApiError`.
 */
import type { SignetClient } from "./client.js";
import type {
  AuditQuery,
  AuditRecord,
  BatchResult,
  BucketConfig,
  BucketInfo,
  FileInfo,
  FileListQuery,
  Grant,
  GrantInput,
  Intent,
  IntentInput,
  KeyRetirement,
  KeyRotation,
  Listing,
  Page,
  PartPlan,
  PartPlanInput,
  PartRequest,
  PresignRequest,
  RevokeResult,
  RevokeTarget,
  Share,
  ShareInput,
  SignedRequest,
} from "./types.js";

const enc = encodeURIComponent;

/** POST /v1/presign: one signed request. */
export const presign = (c: SignetClient, req: PresignRequest) =>
  c.request<SignedRequest>("POST", "/v1/presign", { body: req });

/** POST /v1/presign/batch: up to 1,000, answered in input order. */
export const presignBatch = (c: SignetClient, requests: PresignRequest[]) =>
  c.request<{ results: BatchResult[] }>("POST", "/v1/presign/batch", { body: { requests } });

/** POST /v1/presign/parts: a download plan, one range-bound GET per part. */
export const presignParts = (c: SignetClient, input: PartPlanInput) =>
  c.request<PartPlan>("POST", "/v1/presign/parts", { body: input });

/** POST /v1/uploads: an upload intent (a pending file plus its signed upload request(s)). */
export const createUpload = (c: SignetClient, input: IntentInput, idempotencyKey?: string) => {
  const { upsert, ...rest } = input;
  return c.request<Intent>("POST", "/v1/uploads", {
    body: upsert ? { ...rest, upsert } : rest,
    headers: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey },
  });
};

/** POST /v1/uploads/{id}/parts: fresh signed requests for a multipart intent's parts. */
export const signUploadParts = async (
  c: SignetClient,
  id: string,
  partNumbers: number[],
  expiresIn?: number,
) =>
  (
    await c.request<{ parts: PartRequest[] }>("POST", `/v1/uploads/${enc(id)}/parts`, {
      body: { partNumbers, expiresIn },
    })
  ).parts;

/** POST /v1/uploads/{id}/complete: Signet checks the stored object, then commits it. */
export const completeUpload = (
  c: SignetClient,
  id: string,
  parts?: { partNumber: number; etag: string }[],
) =>
  c.request<{ file: FileInfo }>("POST", `/v1/uploads/${enc(id)}/complete`, {
    body: parts === undefined ? {} : { parts },
  });

/** POST /v1/uploads/{id}/abort: removes the intent's partial data. */
export const abortUpload = (c: SignetClient, id: string) =>
  c.request<{ file: FileInfo }>("POST", `/v1/uploads/${enc(id)}/abort`, { body: {} });

export const getFile = (c: SignetClient, id: string) =>
  c.request<FileInfo>("GET", `/v1/files/${enc(id)}`);

/** GET /v1/files: files the caller's grants reach, by bucket and key prefix. */
export const listFiles = (c: SignetClient, query: FileListQuery) =>
  c.request<Page<FileInfo>>("GET", "/v1/files", { query: { ...query } });

export const deleteFile = (c: SignetClient, id: string) =>
  c.request<void>("DELETE", `/v1/files/${enc(id)}`);

/** Reads one page of a folder listing through a LIST-signed folder URL (no credential sent). */
export async function listFolder(
  signed: Pick<SignedRequest, "url" | "headers">,
  query: { cursor?: string; limit?: number } = {},
): Promise<Listing> {
  const url = new URL(signed.url);
  if (query.cursor !== undefined) url.searchParams.set("cursor", query.cursor);
  if (query.limit !== undefined) url.searchParams.set("limit", String(query.limit));
  const res = await fetch(url, { headers: { ...signed.headers, accept: "application/json" } });
  if (!res.ok) throw new Error(`listing refused: HTTP ${res.status}`);
  return (await res.json()) as Listing;
}

export const createShare = (c: SignetClient, input: ShareInput) =>
  c.request<Share & { url: string }>("POST", "/v1/shares", { body: input });
export const listShares = (c: SignetClient, query: { cursor?: string; limit?: number } = {}) =>
  c.request<Page<Share>>("GET", "/v1/shares", { query });
export const deleteShare = (c: SignetClient, id: string) =>
  c.request<void>("DELETE", `/v1/shares/${enc(id)}`);

/**
 * POST /v1/revocations: refuses at once a revocable signed request or share (its id, or
 * `{ tokenId }`), everything issued to a principal (`{ principal }`) or inside a folder
 * (`{ bucket, prefix }`). 409 `not_revocable` for a direct URL nobody can refuse.
 */
export const revoke = (c: SignetClient, target: string | RevokeTarget) =>
  c.request<RevokeResult>("POST", "/v1/revocations", {
    body: typeof target === "string" ? { tokenId: target } : target,
  });

// Admin: buckets, signing keys, API keys, grants, audit.
export const listBuckets = (c: SignetClient) => c.request<Page<BucketInfo>>("GET", "/v1/buckets");
export const createBucket = (c: SignetClient, name: string, config: BucketConfig) =>
  c.request<BucketInfo>("POST", "/v1/buckets", { body: { name, config } });
export const deleteBucket = (c: SignetClient, name: string) =>
  c.request<void>("DELETE", `/v1/buckets/${enc(name)}`);
/** POST /v1/buckets/{name}/rotate-key: a new generated key signs from now on. */
export const rotateBucketKey = (c: SignetClient, name: string) =>
  c.request<KeyRotation>("POST", `/v1/buckets/${enc(name)}/rotate-key`, { body: {} });
/** POST /v1/buckets/{name}/retire-key: URLs signed with the previous key stop working. */
export const retireBucketKey = (c: SignetClient, name: string) =>
  c.request<KeyRetirement>("POST", `/v1/buckets/${enc(name)}/retire-key`, { body: {} });

export interface SigningKey {
  kid: string;
  status?: string;
  createdAt?: string;
  [k: string]: unknown;
}
export const listKeys = (c: SignetClient) => c.request<Page<SigningKey>>("GET", "/v1/keys");
export const rotateKey = (c: SignetClient) => c.request<SigningKey>("POST", "/v1/keys");
export const retireKey = (c: SignetClient, kid: string) =>
  c.request<SigningKey>("POST", `/v1/keys/${enc(kid)}/retire`);

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: string;
  [k: string]: unknown;
}
export const listApiKeys = (c: SignetClient) => c.request<Page<ApiKeyInfo>>("GET", "/v1/apikeys");
/** POST /v1/apikeys: the reply's `key` is the secret, shown this once only. */
export const createApiKey = (
  c: SignetClient,
  input: { name: string; role: string; expiresIn?: number },
) => c.request<ApiKeyInfo & { key: string }>("POST", "/v1/apikeys", { body: input });
export const revokeApiKey = (c: SignetClient, id: string) =>
  c.request<void>("DELETE", `/v1/apikeys/${enc(id)}`);

/** A grant as the API answers it (the API's `Grant`). */
export type GrantInfo = Grant;
/** GET /v1/grants and POST /v1/grants (admin): see `GrantInput` for quotas and requirements. */
export const listGrants = (c: SignetClient) => c.request<Page<Grant>>("GET", "/v1/grants");
export const createGrant = (c: SignetClient, grant: GrantInput) =>
  c.request<Grant>("POST", "/v1/grants", { body: grant });
export const deleteGrant = (c: SignetClient, id: string) =>
  c.request<void>("DELETE", `/v1/grants/${enc(id)}`);

/** GET /v1/audit (admin): newest first. */
export const listAudit = (c: SignetClient, query: AuditQuery = {}) =>
  c.request<Page<AuditRecord>>("GET", "/v1/audit", { query: { ...query } });
