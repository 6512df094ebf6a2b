/**
 * What /docs says about each operation: summary, description, tag, whether it is public (no
 * bearer token: health, service info, and the data plane, whose URLs carry their own
 * signature), its success reply and the errors it can answer. Applied to the generated
 * document by the OpenAPI plugin's `transform`, so routes keep only their validation schemas
 * and replies are serialized as before (a response schema on a route would make Fastify drop
 * undeclared fields). Keyed by `METHOD url` as the route declares it.
 */
import { type TSchema, Type } from "@sinclair/typebox";

const Str = Type.String();
const Time = Type.String({ format: "date-time" });
const Nullable = (t: TSchema) => Type.Union([t, Type.Null()]);
const Any = Type.Object({}, { additionalProperties: true });

export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "stable error code, e.g. invalid_request, forbidden" }),
      message: Str,
      field: Type.Optional(Type.String({ description: "the request field at fault" })),
    }),
  },
  { $id: "ErrorReply", title: "Error" },
);

const SignedRequest = Type.Object(
  {
    id: Type.String({ description: "token id: revoke it with POST /v1/revocations" }),
    url: Str,
    method: Str,
    methods: Type.Optional(Type.Array(Str)),
    headers: Type.Record(Str, Str, { description: "send every one exactly" }),
    fields: Type.Optional(Type.Record(Str, Str, { description: "form POST fields" })),
    objectUrlTemplate: Type.Optional(
      Type.String({ description: "folder scope: `{key}` marks the key" }),
    ),
    expiresAt: Time,
    expiresIn: Type.Integer(),
    enforcedBy: Type.Record(
      Str,
      Type.Union([Type.Literal("backend"), Type.Literal("signet"), Type.Literal("complete")]),
    ),
  },
  { title: "SignedRequest" },
);
const Part = Type.Intersect([
  Type.Object({ partNumber: Type.Integer(), start: Type.Integer(), end: Type.Integer() }),
  SignedRequest,
]);
const FileInfo = Type.Object(
  {
    id: Str,
    bucket: Str,
    key: Str,
    size: Nullable(Type.Integer()),
    sha256: Nullable(Str),
    contentType: Str,
    owner: Str,
    status: Type.Union(
      ["pending", "committed", "superseded", "deleted"].map((s) => Type.Literal(s)),
    ),
    etag: Nullable(Str),
    createdAt: Time,
    committedAt: Nullable(Time),
    changedAt: Nullable(
      Type.String({
        format: "date-time",
        description: "when Signet found the committed bytes changed outside it (409 file_changed)",
      }),
    ),
  },
  { title: "File" },
);
const Share = Type.Object(
  {
    id: Str,
    url: Type.Optional(Str),
    bucket: Str,
    prefix: Str,
    methods: Type.Array(Str),
    mode: Type.Union([Type.Literal("redirect"), Type.Literal("proxy")]),
    expiresAt: Time,
    createdAt: Time,
    revokedAt: Nullable(Time),
  },
  { title: "Share" },
);
const Intent = Type.Object(
  {
    file: FileInfo,
    upload: Type.Union([
      SignedRequest,
      Type.Object({ uploadId: Str, partSize: Type.Integer(), parts: Type.Array(Part) }),
    ]),
    expiresAt: Time,
  },
  { title: "UploadIntent" },
);
const Page = (item: TSchema) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Str) });
const Grant = Type.Object(
  {
    id: Str,
    principal: Str,
    buckets: Type.Array(Str),
    prefix: Type.Optional(Str),
    actions: Type.Array(Str),
    maxExpiresIn: Type.Optional(Type.Integer()),
    require: Type.Optional(Any),
  },
  { title: "Grant" },
);
const Bucket = Type.Object({ name: Str, source: Str, config: Any }, { title: "Bucket" });
const ApiKey = Type.Object(
  {
    id: Str,
    name: Str,
    role: Str,
    createdAt: Time,
    expiresAt: Nullable(Time),
    revokedAt: Nullable(Time),
  },
  { title: "ApiKey" },
);
const Key = Type.Object(
  { kid: Str, status: Str, createdAt: Time, retiredAt: Nullable(Time) },
  { title: "SigningKey" },
);
const AuditRecord = Type.Object(
  {
    id: Type.Union([Type.Integer(), Str]),
    at: Time,
    action: Type.Optional(Str),
    event: Type.Optional(Str),
    principal: Nullable(Str),
    tokenId: Nullable(Str),
    bucket: Nullable(Str),
    key: Nullable(Str),
    method: Nullable(Str),
    status: Nullable(Type.Integer()),
    outcome: Type.Optional(Str),
    reason: Type.Optional(
      Nullable(Type.String({ description: "a refusal's error code, e.g. token_revoked" })),
    ),
    ip: Nullable(Str),
    detail: Nullable(Any),
  },
  { title: "AuditRecord" },
);
const Bytes = Type.String({ description: "the object's bytes", format: "binary" });
const Empty = Type.Null({ description: "no body" });

/** One operation's documentation. */
export interface OperationDoc {
  summary: string;
  description: string;
  tags: string[];
  /** no bearer token (the URL carries its own signature, or nothing is needed) */
  public?: boolean;
  /** status → schema of the success reply */
  ok: Record<number, TSchema>;
  /** error statuses it can answer (ErrorReply) */
  errors: number[];
}

const V1 = [400, 401, 403, 404, 429];
const ADMIN = [400, 401, 403, 404];
const DATA = [400, 403, 404, 416];

const op = (
  summary: string,
  description: string,
  tags: string[],
  ok: Record<number, TSchema>,
  errors: number[],
  pub = false,
): OperationDoc => ({ summary, description, tags, ok, errors, public: pub });

/**
 * The operations of one route that answers several methods: `shared` holds what they have in
 * common, `methods` what each one changes (a method's entry must end up with a summary and a
 * description, from either).
 */
function route(
  url: string,
  shared: Partial<OperationDoc>,
  methods: Record<string, Partial<OperationDoc>>,
): Record<string, OperationDoc> {
  return Object.fromEntries(
    Object.entries(methods).map(([method, own]) => [
      `${method} ${url}`,
      { ...shared, ...own } as OperationDoc,
    ]),
  );
}

/** A data-plane CORS preflight, answered from the bucket's config. */
const preflight = (summary: string): Partial<OperationDoc> => ({
  summary,
  description: "Answered from the bucket's `cors` config.",
  ok: { 204: Empty },
  errors: [403],
});

/** Every documented operation; a route missing here is a test failure (docs-metrics.test.ts). */
export const OPERATIONS: Record<string, OperationDoc> = {
  "POST /v1/presign": op(
    "Sign one request",
    "A signed request for one object or a folder, no wider than one of the caller's grants. `enforcedBy` says who enforces each constraint; one that no path can enforce is refused (400 constraint_not_enforceable).",
    ["presign"],
    { 200: SignedRequest },
    V1,
  ),
  "POST /v1/presign/batch": op(
    "Sign up to 1,000 requests",
    "Each entry is signed or refused on its own; results are in input order.",
    ["presign"],
    { 200: Type.Object({ results: Type.Array(Any) }) },
    V1,
  ),
  "POST /v1/presign/parts": op(
    "Plan a parallel download",
    "Range-bound GET requests over one object, one per part (by partSize or a number of parts).",
    ["presign"],
    { 200: Type.Object({ size: Type.Integer(), etag: Str, parts: Type.Array(Part) }) },
    V1,
  ),
  "POST /v1/uploads": op(
    "Create an upload intent",
    "A pending file plus the signed request(s) to upload its bytes: one PUT, a form POST, or multipart parts. It commits only at complete, after Signet checked the stored object. Idempotent with an Idempotency-Key header.",
    ["uploads"],
    { 201: Intent },
    [...V1, 409],
  ),
  "POST /v1/uploads/:id/complete": op(
    "Complete an upload intent",
    "Checks the parts list (400 invalid_part_order: not ascending or a part twice; 400 invalid_part: a part not uploaded, another ETag, or a part of the plan missing) and the stored object (exists, size, type, sha256), then commits the file; a stored object that does not match is deleted and refused (409). Idempotent: a committed file answers 200 again.",
    ["uploads"],
    { 200: Type.Object({ file: FileInfo }) },
    [...V1, 409],
  ),
  "POST /v1/uploads/:id/abort": op(
    "Abort an upload intent",
    "Removes the intent's partial data; the file is marked deleted. Idempotent: an aborted intent answers 200 with the same file again; a committed file is 409.",
    ["uploads"],
    { 200: Type.Object({ file: FileInfo }) },
    V1,
  ),
  "POST /v1/uploads/:id/parts": op(
    "Re-sign parts of a multipart intent",
    "Fresh signed PUT requests for parts whose URLs expired (the intent's owner only), binding what the intent's own did: each part's start, end and length. A part past the end is 400 invalid_part. Size and sha256 are still checked at complete.",
    ["uploads"],
    { 200: Type.Object({ parts: Type.Array(Part) }) },
    V1,
  ),
  "GET /v1/files": op(
    "List files",
    "Files the caller may read, by bucket, key prefix, owner and status (pending, committed, superseded or deleted).",
    ["files"],
    { 200: Page(FileInfo) },
    V1,
  ),
  "GET /v1/files/:id": op(
    "Get a file",
    "One file by its opaque id (404 when the caller's grants do not reach it).",
    ["files"],
    { 200: FileInfo },
    V1,
  ),
  "DELETE /v1/files/:id": op(
    "Delete a file",
    "Deletes a committed file and its bytes (needs the delete action).",
    ["files"],
    { 204: Empty },
    [...V1, 409],
  ),
  "POST /v1/shares": op(
    "Share a folder",
    "One link (`/s/{token}/…`) to a folder, covering objects added later; revocable.",
    ["shares"],
    { 201: Share },
    V1,
  ),
  "GET /v1/shares": op(
    "List shares",
    "Shares the caller created.",
    ["shares"],
    { 200: Page(Share) },
    V1,
  ),
  "DELETE /v1/shares/:id": op(
    "Delete a share",
    "Revokes the link at once.",
    ["shares"],
    { 204: Empty },
    V1,
  ),
  "POST /v1/revocations": op(
    "Revoke a token",
    "201 only when Signet or the backend will really refuse the token afterwards; otherwise 409 not_revocable. A token revoked before answers 200 with the time it was first revoked.",
    ["revocations"],
    {
      200: Type.Object({ tokenId: Str, revokedAt: Time }, { title: "TokenRevokedBefore" }),
      201: Type.Union([
        Type.Object({ tokenId: Str, revokedAt: Time }, { title: "TokenRevocation" }),
        Type.Object(
          {
            principal: Type.Optional(Str),
            bucket: Type.Optional(Str),
            prefix: Type.Optional(Str),
            revokedAt: Time,
            revoked: Type.Integer({ description: "tokens refused from now on" }),
            notRevocable: Type.Array(Type.Object({ tokenId: Str, expiresAt: Time }), {
              description: "direct URLs nobody can refuse, left to expire",
            }),
          },
          { title: "BulkRevocation" },
        ),
      ]),
    },
    [...V1, 409],
  ),
  "GET /v1/keys": op(
    "List signing keys",
    "The keyring: one active key, older ones verifying until retired (admin).",
    ["keys"],
    { 200: Page(Key) },
    ADMIN,
  ),
  "POST /v1/keys": op(
    "Rotate the signing key",
    "A new active key; the previous one keeps verifying (admin).",
    ["keys"],
    { 201: Key },
    ADMIN,
  ),
  "POST /v1/keys/:kid/retire": op(
    "Retire a signing key",
    "URLs signed with it stop working; the active key cannot be retired (409).",
    ["keys"],
    { 200: Key },
    [...ADMIN, 409],
  ),
  "POST /v1/apikeys": op(
    "Create an API key",
    "Its secret is in this reply only (admin).",
    ["apikeys"],
    { 201: Type.Intersect([ApiKey, Type.Object({ key: Str })]) },
    ADMIN,
  ),
  "GET /v1/apikeys": op(
    "List API keys",
    "Without secrets (admin).",
    ["apikeys"],
    { 200: Page(ApiKey) },
    ADMIN,
  ),
  "DELETE /v1/apikeys/:id": op(
    "Revoke an API key",
    "The key and every URL it issued stop working (admin).",
    ["apikeys"],
    { 204: Empty },
    ADMIN,
  ),
  "POST /v1/grants": op(
    "Create a grant",
    "What a principal may do on buckets and folders (admin).",
    ["grants"],
    { 201: Grant },
    ADMIN,
  ),
  "GET /v1/grants": op(
    "List grants",
    "Config and API grants (admin).",
    ["grants"],
    { 200: Page(Grant) },
    ADMIN,
  ),
  "DELETE /v1/grants/:id": op(
    "Delete a grant",
    "API grants only (admin).",
    ["grants"],
    { 204: Empty },
    ADMIN,
  ),
  "POST /v1/buckets": op(
    "Create a bucket",
    "A named binding to a backend; buckets created here carry no secret (admin).",
    ["buckets"],
    { 201: Bucket },
    [...ADMIN, 409],
  ),
  "GET /v1/buckets": op(
    "List buckets",
    "Config and API buckets (admin).",
    ["buckets"],
    { 200: Page(Bucket) },
    ADMIN,
  ),
  "DELETE /v1/buckets/:name": op(
    "Delete a bucket",
    "API buckets only (admin).",
    ["buckets"],
    { 204: Empty },
    [...ADMIN, 409],
  ),
  "POST /v1/buckets/:name/rotate-key": op(
    "Rotate a bucket's backend key",
    "A new generated key (e.g. a Swift temp URL key) signs from now on; the previous one still verifies (admin).",
    ["buckets"],
    { 200: Type.Object({ bucket: Str, rotatedAt: Time }) },
    [...ADMIN, 409, 503],
  ),
  "POST /v1/buckets/:name/retire-key": op(
    "Retire a bucket's previous key",
    "URLs signed with it stop working (admin).",
    ["buckets"],
    { 200: Type.Object({ bucket: Str, retiredAt: Time }) },
    [...ADMIN, 409, 503],
  ),
  "GET /v1/audit": op(
    "Read the audit trail",
    "Audit records, filtered and paged (admin).",
    ["audit"],
    { 200: Page(AuditRecord) },
    ADMIN,
  ),
  "GET /healthz": op("Liveness", "200 while the process runs.", ["health"], { 200: Any }, [], true),
  "GET /readyz": op(
    "Readiness",
    "200 when every dependency answers, else 503 naming each check: the database, Redis (with shared quotas), the JWKS endpoint (with JWTs), and each bucket's backend (`bucket:NAME`: one listing of at most one key; a missing bucket or container is `unavailable: PROVIDER: bucket missing (…)`; a sign-only bucket is `skipped: …`). Each check has 2 s; JWKS and bucket answers are remembered 10 s.",
    ["health"],
    { 200: Any },
    [503],
    true,
  ),
  "GET /r/:fileId": op(
    "Redirect to a file",
    "With the app's session (bearer or cookie): 302 to a fresh short-lived URL of a committed file the caller may read.",
    ["app flows"],
    { 302: Empty },
    [401, 404, 409],
  ),
  ...route(
    "/o/*",
    { tags: ["data plane"], ok: { 200: Empty }, errors: DATA, public: true },
    {
      GET: {
        summary: "Read an object (embedded store)",
        description:
          "Authorized by the signed URL's `t` token, not a bearer token. Range, If-None-Match and If-Modified-Since are honoured; a folder path ending in `/` is the listing (LIST scope).",
        ok: { 200: Bytes, 206: Bytes },
        errors: [...DATA, 412],
      },
      HEAD: {
        summary: "Object metadata (embedded store)",
        description: "As GET, without the body; needs a HEAD scope.",
      },
      PUT: {
        summary: "Write an object or part (embedded store)",
        description:
          "Streams the body under the signed URL's constraints (length, type, sha256); with uploadId and partNumber, one multipart part.",
        errors: [...DATA, 409, 413, 507],
      },
      DELETE: {
        summary: "Delete an object (embedded store)",
        description:
          "Needs a DELETE scope; a committed file's bytes are never deleted this way (409).",
        ok: { 204: Empty },
        errors: [...DATA, 409],
      },
      POST: {
        summary: "Form upload (embedded store)",
        description: "A browser form POST with the reply's `fields` and a `file` field.",
        ok: { 204: Empty },
        errors: [...DATA, 413],
      },
      OPTIONS: preflight("CORS preflight"),
    },
  ),
  // One operation for every method: what differs is only the redirect's status.
  ...route(
    "/u/:id",
    {
      summary: "Follow a short URL",
      description:
        "A short URL issued with `short: true` answers 302 (GET, HEAD) or 307 (PUT, POST, DELETE) to the signed request it stands for (the method and body kept); expired, revoked and unknown ids are refused like tokens.",
      tags: ["links"],
      ok: { 307: Empty },
      errors: DATA,
      public: true,
    },
    { GET: { ok: { 302: Empty } }, HEAD: { ok: { 302: Empty } }, PUT: {}, POST: {}, DELETE: {} },
  ),
  ...route(
    "/l/*",
    { tags: ["links"], ok: { 200: Empty }, errors: DATA, public: true },
    {
      GET: {
        summary: "Follow a link",
        description:
          "Signet verifies the link token, then redirects (302, a direct URL of at most 60 s) or streams the bytes itself.",
        ok: { 200: Bytes, 302: Empty },
      },
      HEAD: { summary: "Link metadata", description: "As GET, without the body." },
      PUT: {
        summary: "Upload through a link",
        description: "Signet checks every constraint, then proxies or redirects.",
        ok: { 200: Empty, 307: Empty },
        errors: [...DATA, 413],
      },
      DELETE: {
        summary: "Delete through a link",
        description: "Needs a DELETE scope.",
        ok: { 204: Empty },
      },
      OPTIONS: preflight("CORS preflight (links)"),
    },
  ),
  ...route(
    "/s/*",
    { tags: ["links"], ok: { 200: Empty }, errors: DATA, public: true },
    {
      GET: {
        summary: "Read from a shared folder",
        description: "`/s/{token}/` lists (LIST shares), `/s/{token}/{key}` reads an object.",
        ok: { 200: Bytes, 302: Empty },
      },
      HEAD: { summary: "Metadata from a shared folder", description: "As GET, without the body." },
      PUT: {
        summary: "Upload into a shared folder",
        description: "For shares that allow PUT.",
        errors: [...DATA, 413],
      },
      DELETE: {
        summary: "Delete from a shared folder",
        description: "For shares that allow DELETE.",
        ok: { 204: Empty },
      },
      OPTIONS: preflight("CORS preflight (shares)"),
    },
  ),
  "GET /presign/*": op(
    "Presign (AWS example service compatible)",
    "`{ URL, Method, Header }` for the key after /presign/ in the compat bucket, like the classic AWS presign example service.",
    ["compatibility"],
    { 200: Type.Object({ URL: Str, Method: Str, Header: Type.Record(Str, Type.Array(Str)) }) },
    V1,
  ),
  "GET /data/download/*": op(
    "Fence: download URL",
    "Gen3 Fence / Syfon: `{ url }` for a guid (302 with ?redirect=true); `/data/download/{guid}/part?start=&end=` for a byte range.",
    ["compatibility"],
    { 200: Type.Object({ url: Str }), 302: Empty },
    V1,
  ),
  "POST /data/upload": op(
    "Fence: new upload",
    "A guid and an upload URL for `file_name`.",
    ["compatibility"],
    { 201: Any },
    V1,
  ),
  "GET /data/upload/*": op(
    "Fence: upload URL",
    "A new upload URL for an existing guid.",
    ["compatibility"],
    { 200: Type.Object({ url: Str }) },
    V1,
  ),
  "POST /data/multipart/init": op(
    "Fence: multipart init",
    "A guid and an uploadId.",
    ["compatibility"],
    { 201: Any },
    V1,
  ),
  "POST /data/multipart/upload": op(
    "Fence: sign a part",
    "`{ presigned_url }` for one part.",
    ["compatibility"],
    { 200: Type.Object({ presigned_url: Str }) },
    V1,
  ),
  "POST /data/multipart/complete": op(
    "Fence: complete multipart",
    "Commits after checking the stored object.",
    ["compatibility"],
    { 200: Any },
    [...V1, 409],
  ),
  "GET /ga4gh/drs/v1/service-info": op(
    "DRS service info",
    "GA4GH service-info for DRS 1.4.",
    ["compatibility"],
    { 200: Any },
    [],
    true,
  ),
  "GET /ga4gh/drs/v1/objects/:id": op(
    "DRS object",
    "A committed file as a DRS object (checksums in hex).",
    ["compatibility"],
    { 200: Any },
    V1,
  ),
  "GET /ga4gh/drs/v1/objects/:id/access/:accessId": op(
    "DRS access URL",
    "A short-lived URL for the object's bytes.",
    ["compatibility"],
    { 200: Type.Object({ url: Str, headers: Type.Optional(Any) }) },
    V1,
  ),
};

const ERROR_TEXT: Record<number, string> = {
  400: "malformed request, invalid key, expiry too long or a constraint no path can enforce",
  401: "missing, malformed, unknown, expired or revoked credentials",
  403: "outside the caller's grants (the message names the rule), or a data-plane token refused",
  404: "unknown, or not visible to the caller",
  409: "conflict (file changed, not revocable, active key)",
  412: "precondition failed",
  413: "payload too large",
  416: "range not satisfiable",
  429: "rate limited (Retry-After)",
  503: "backend unavailable",
  507: "insufficient storage",
};

type Operation = Record<string, unknown> & { responses?: Record<string, unknown> };
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown>>;
};

const json = (schema: TSchema) => ({ "application/json": { schema } });

/**
 * The generated document with the catalog merged in: for each operation its summary,
 * description, tags, success and error replies, and `security: []` when it is public.
 */
export function documentAll<T>(openapi: T): T {
  const doc = openapi as Document;
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, Error: ErrorReply },
  };
  const errorRef = { $ref: "#/components/schemas/Error" };
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    // Back from OpenAPI's `{name}` / `{*}` to the route's `:name` / `*`.
    const url = path.replace(/\{\*\}/g, "*").replace(/\{([^}]+)\}/g, ":$1");
    for (const [method, operation] of Object.entries(operations)) {
      const entry = OPERATIONS[`${method.toUpperCase()} ${url}`];
      if (entry === undefined) continue;
      const responses: Record<string, unknown> = {};
      for (const [status, body] of Object.entries(entry.ok))
        responses[status] =
          body.type === "null"
            ? { description: body.description ?? "no body" }
            : {
                description: body.description ?? "success",
                content:
                  body.format === "binary"
                    ? { "application/octet-stream": { schema: body } }
                    : json(body),
              };
      for (const status of entry.errors)
        responses[status] = {
          description: ERROR_TEXT[status] ?? "error",
          content: { "application/json": { schema: errorRef } },
        };
      // A route with several methods shares one operation object among them: each gets its own.
      (operations as Record<string, unknown>)[method] = {
        ...operation,
        summary: entry.summary,
        description: entry.description,
        tags: entry.tags,
        responses,
        ...(entry.public ? { security: [] } : {}),
      };
    }
  }
  return openapi;
}
