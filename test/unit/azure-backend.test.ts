/**
 * The Azure backend without Azure: what unbound() names for each scope, presign's URLs (the
 * signature itself is azure-sas's, checked against the SDK in azure-sas.test.ts), the block id
 * scheme, the bucket config, the user delegation key cache (getUserDelegationKey stubbed, the
 * clock faked) and an unreachable endpoint. test/peers/azure-backend.test.ts runs it on Azurite.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import type { TokenCredential } from "@azure/identity";
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  RestError,
  SASProtocol,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SAS_VERSION } from "../../src/backends/azure/azure-sas.js";
import {
  AzureBackend,
  type AzureBackendOptions,
  type AzureBucketConfig,
  AzureBucketConfigSchema,
  type AzureDirectScope,
  blockIdOf,
  createAzureBackend,
  MAX_PARTS,
  partNumberOf,
} from "../../src/backends/azure/azure.js";
import { SignetError } from "../../src/core/errors.js";
import { parser } from "../../src/core/schema.js";

// Azurite's public development account; its key is published and signs nothing real.
const ACCOUNT = "devstoreaccount1";
const ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const EXPIRES_AT = new Date("2026-03-02T10:15:00Z");

const backend = (options: Partial<AzureBackendOptions> = {}) =>
  new AzureBackend({
    accountName: ACCOUNT,
    container: "signet",
    credential: { accountKey: ACCOUNT_KEY },
    ...options,
  });

const scope = (over: Partial<AzureDirectScope> = {}): AzureDirectScope => ({
  bucket: "files",
  methods: ["GET"],
  key: "in/a b.bin",
  expiresAt: EXPIRES_AT,
  principal: "alice",
  tokenId: "tok-1",
  constraints: {},
  ...over,
});

const query = (url: string) => Object.fromEntries(new URL(url).searchParams);

/** The SignetError a call throws (fails the test when it throws none). */
function refusal(call: () => unknown): SignetError {
  try {
    call();
  } catch (err) {
    if (err instanceof SignetError) return err;
    throw err;
  }
  throw new Error("expected a SignetError");
}

async function rejection(promise: Promise<unknown>): Promise<SignetError> {
  const err = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (err instanceof SignetError) return err;
  throw err;
}

describe("unbound()", () => {
  it.each<[string, Partial<AzureDirectScope>]>([
    ["a GET of one key", {}],
    ["GET and HEAD, which r allows exactly", { methods: ["GET", "HEAD"] }],
    ["a PUT", { methods: ["PUT"] }],
    ["a DELETE", { methods: ["DELETE"] }],
    ["notBefore (st)", { notBefore: new Date("2026-03-02T10:00:00Z") }],
    ["one IPv4 address (sip)", { constraints: { ip: ["203.0.113.7/32"] } }],
    ["one IPv4 range (sip)", { constraints: { ip: ["10.0.0.0/8"] } }],
    [
      "response overrides (rscd, rsct)",
      {
        constraints: {
          responseContentDisposition: 'attachment; filename="a.bin"',
          responseContentType: "text/plain",
        },
      },
    ],
    ["a multipart part", { methods: ["PUT"], part: { uploadId: "x", partNumber: 1 } }],
  ])("binds %s", (_, over) => {
    expect(backend().unbound(scope(over))).toEqual([]);
  });

  it.each<[string, Partial<AzureDirectScope>, string[]]>([
    ["HEAD alone (r would also allow GET)", { methods: ["HEAD"] }, ["methods"]],
    ["GET and PUT", { methods: ["GET", "PUT"] }, ["methods"]],
    ["PUT and DELETE", { methods: ["PUT", "DELETE"] }, ["methods"]],
    ["LIST", { methods: ["LIST"] }, ["methods"]],
    ["a form POST", { methods: ["POST"] }, ["methods"]],
    ["a folder", { key: undefined, folder: "in/" }, ["folder"]],
    ["the whole bucket", { key: undefined, folder: "" }, ["folder"]],
    ["an IPv6 range", { constraints: { ip: ["2001:db8::/32"] } }, ["ip"]],
    ["two IPv4 ranges", { constraints: { ip: ["10.0.0.0/8", "192.168.0.0/16"] } }, ["ip"]],
    ["a byte range", { constraints: { range: { start: 0, end: 99 } } }, ["range"]],
    [
      "an exact length",
      { methods: ["PUT"], constraints: { contentLength: 10 } },
      ["contentLength"],
    ],
    [
      "a length range",
      { methods: ["PUT"], constraints: { contentLengthRange: [1, 10] } },
      ["contentLengthRange"],
    ],
    [
      "a content type",
      { methods: ["PUT"], constraints: { contentType: "image/png" } },
      ["contentType"],
    ],
    [
      "a sha256",
      {
        methods: ["PUT"],
        constraints: { checksumSha256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
      },
      ["checksumSha256"],
    ],
    ["required headers", { constraints: { headers: { "x-trace": "1" } } }, ["headers"]],
    [
      "all of a folder listing from IPv6 with a range",
      {
        key: undefined,
        folder: "in/",
        methods: ["GET", "LIST"],
        constraints: { range: { start: 0, end: 9 }, ip: ["::1/128"], responseContentType: "a/b" },
      },
      ["folder", "methods", "range", "ip"],
    ],
  ])("names what it cannot bind: %s", (_, over, names) => {
    expect(backend().unbound(scope(over)).sort()).toEqual([...names].sort());
  });
});

describe("presign()", () => {
  it("signs a GET of one blob: sp=r, sr=b, se, https only", () => {
    const signed = backend().presign(scope());
    const url = new URL(signed.url);
    expect(`${url.origin}${url.pathname}`).toBe(
      "https://devstoreaccount1.blob.core.windows.net/signet/in/a%20b.bin",
    );
    expect(query(signed.url)).toMatchObject({
      sp: "r",
      sr: "b",
      se: "2026-03-02T10:15:00Z",
      spr: "https",
      sv: SAS_VERSION,
    });
    expect(url.searchParams.has("st")).toBe(false);
    expect(signed).toMatchObject({ method: "GET", headers: {} });
    expect(signed.methods).toBeUndefined();
  });

  it("signs what @azure/storage-blob signs for the same PUT", () => {
    const signed = backend().presign(scope({ methods: ["PUT"] }));
    const sdk = generateBlobSASQueryParameters(
      {
        version: SAS_VERSION,
        containerName: "signet",
        blobName: "in/a b.bin",
        permissions: BlobSASPermissions.parse("w"),
        expiresOn: EXPIRES_AT,
        protocol: SASProtocol.Https,
      },
      new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY),
    ).toString();
    expect(new URL(signed.url).search).toBe(`?${sdk}`);
  });

  it("lists x-ms-blob-type for a PUT, and nothing for a read or a delete", () => {
    const b = backend();
    expect(b.presign(scope({ methods: ["PUT"] })).headers).toEqual({
      "x-ms-blob-type": "BlockBlob",
    });
    expect(b.presign(scope({ methods: ["DELETE"] }))).toMatchObject({
      method: "DELETE",
      headers: {},
    });
    expect(query(b.presign(scope({ methods: ["DELETE"] })).url).sp).toBe("d");
  });

  it("answers both methods of a GET and HEAD scope with one r SAS", () => {
    const signed = backend().presign(scope({ methods: ["GET", "HEAD"] }));
    expect(signed).toMatchObject({ method: "GET", methods: ["GET", "HEAD"] });
    expect(query(signed.url).sp).toBe("r");
  });

  it("signs notBefore, one IPv4 range and the response overrides", () => {
    const signed = backend().presign(
      scope({
        notBefore: new Date("2026-03-02T10:00:00.900Z"),
        constraints: {
          ip: ["10.1.0.0/16"],
          responseContentDisposition: 'attachment; filename="a.bin"',
          responseContentType: "text/plain",
        },
      }),
    );
    expect(query(signed.url)).toMatchObject({
      st: "2026-03-02T10:00:00Z",
      sip: "10.1.0.0-10.1.255.255",
      rscd: 'attachment; filename="a.bin"',
      rsct: "text/plain",
    });
  });

  it("allows http as well only when the endpoint is http", () => {
    const signed = backend({ endpoint: "http://127.0.0.1:10000/devstoreaccount1/" }).presign(
      scope(),
    );
    expect(
      signed.url.startsWith("http://127.0.0.1:10000/devstoreaccount1/signet/in/a%20b.bin?"),
    ).toBe(true);
    expect(query(signed.url).spr).toBe("https,http");
  });

  it.each<[string, Partial<AzureDirectScope>]>([
    ["range", { constraints: { range: { start: 0, end: 9 } } }],
    ["folder", { key: undefined, folder: "in/" }],
    ["methods", { methods: ["HEAD"] }],
    ["ip", { constraints: { ip: ["2001:db8::/32"] } }],
  ])("refuses a scope whose %s it cannot bind", (name, over) => {
    const err = refusal(() => backend().presign(scope(over)));
    expect(err).toMatchObject({ code: "constraint_not_enforceable", field: name });
  });

  it("signs a part as the blob's write SAS plus Put Block's comp and blockid", async () => {
    const b = backend();
    const uploadId = await b.createMultipart("in/a b.bin", { contentType: "image/png" });
    const put = b.presign(scope({ methods: ["PUT"] }));
    const part = b.presign(scope({ methods: ["PUT"], part: { uploadId, partNumber: 3 } }));
    expect(part.url).toBe(
      `${put.url}&comp=block&blockid=${encodeURIComponent(blockIdOf(uploadId, 3))}`,
    );
    expect(query(part.url)).toMatchObject({ comp: "block", blockid: blockIdOf(uploadId, 3) });
    expect(part).toMatchObject({ method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" } });
  });

  it("refuses a part URL for anything but PUT, or for a malformed upload id", async () => {
    const b = backend();
    const uploadId = await b.createMultipart("k", { contentType: "image/png" });
    expect(refusal(() => b.presign(scope({ part: { uploadId, partNumber: 1 } })))).toMatchObject({
      code: "invalid_request",
      field: "method",
    });
    expect(
      refusal(() =>
        b.presign(scope({ methods: ["PUT"], part: { uploadId: "upload-1", partNumber: 1 } })),
      ),
    ).toMatchObject({ code: "invalid_request", field: "uploadId" });
  });

  it("names a stored access policy (si) and leaves sp and se to it", () => {
    const signed = backend({ storedPolicyPool: 5 }).presign(scope({ storedPolicy: "pol-1" }));
    const q = query(signed.url);
    expect(q.si).toBe("pol-1");
    expect(q.sp).toBeUndefined();
    expect(q.se).toBeUndefined();
  });

  it("refuses a stored access policy on a bucket without a pool", () => {
    expect(refusal(() => backend().presign(scope({ storedPolicy: "pol-1" })))).toMatchObject({
      code: "constraint_not_enforceable",
    });
  });

  it("has no form upload", () => {
    expect(
      backend().presignPost({
        bucket: "files",
        key: "k",
        expiresAt: EXPIRES_AT,
        principal: "alice",
        tokenId: "t",
      }),
    ).toBeNull();
  });
});

describe("block ids", () => {
  it("reproduces the documented example", () => {
    const uploadId = "VQ8YjqzCgGUMG_4JATizRQ.aW1hZ2UvcG5n";
    expect(blockIdOf(uploadId, 2)).toBe("VQ8YjqzCgGUMG/4JATizRQAC");
    expect(partNumberOf(uploadId, "VQ8YjqzCgGUMG/4JATizRQAC")).toBe(2);
  });

  it("are 24 base64 characters that map back to their part, for this upload only", async () => {
    const b = backend();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 100 }),
        fc.integer({ min: 1, max: MAX_PARTS }),
        async (contentType, partNumber) => {
          const uploadId = await b.createMultipart("k", { contentType });
          const other = await b.createMultipart("k", { contentType });
          const id = blockIdOf(uploadId, partNumber);
          expect(id).toMatch(/^[A-Za-z0-9+/]{24}$/);
          expect(partNumberOf(uploadId, id)).toBe(partNumber);
          expect(partNumberOf(other, id)).toBeUndefined();
        },
      ),
    );
  });

  it("differ for every part of an upload", async () => {
    const uploadId = await backend().createMultipart("k", { contentType: "a/b" });
    const ids = Array.from({ length: 1000 }, (_, i) => blockIdOf(uploadId, i + 1));
    expect(new Set(ids).size).toBe(1000);
  });

  it("come from upload ids that hold a nonce and the content type, nothing else", async () => {
    const b = backend();
    const [first, second] = await Promise.all(
      [1, 2].map(() => b.createMultipart("k", { contentType: "image/png" })),
    );
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}\.aW1hZ2UvcG5n$/);
    expect(first).not.toBe(second);
  });

  it("refuse a part number outside 1..50000 and a malformed upload id", async () => {
    const uploadId = await backend().createMultipart("k", { contentType: "a/b" });
    for (const n of [0, MAX_PARTS + 1, 1.5])
      expect(refusal(() => blockIdOf(uploadId, n))).toMatchObject({ field: "partNumber" });
    expect(refusal(() => blockIdOf("../x", 1))).toMatchObject({ field: "uploadId" });
  });
});

describe("bucket config", () => {
  const parse = parser(AzureBucketConfigSchema, "buckets.photos");
  const valid: AzureBucketConfig = {
    backend: "azure",
    accountName: "acme",
    container: "photo-uploads",
    endpoint: "https://acme.blob.core.usgovcloudapi.net",
    accountKey: "${AZURE_KEY}",
    storedPolicies: { pool: 5 },
    maxExpiresIn: 3600,
    maxObjectSize: 1 << 30,
  };

  /** The bucket without its account key and policy pool. */
  const keyless = { backend: "azure", accountName: "acme", container: "photo-uploads" } as const;

  it("accepts a full bucket", () => {
    expect(parse(valid)).toEqual(valid);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an unknown property", { region: "westeurope" }, "buckets.photos.region"],
    ["a pool of 6", { storedPolicies: { pool: 6 } }, "buckets.photos.storedPolicies.pool"],
    ["a pool of 0", { storedPolicies: { pool: 0 } }, "buckets.photos.storedPolicies.pool"],
    ["a key written in the file", { accountKey: ACCOUNT_KEY }, "buckets.photos.accountKey"],
    ["another backend", { backend: "s3" }, "buckets.photos.backend"],
    ["a container name Azure refuses", { container: "Photos_1" }, "buckets.photos.container"],
    ["an endpoint that is no URL", { endpoint: "acme.blob" }, "buckets.photos.endpoint"],
  ])("refuses %s, naming it", (_, change, field) => {
    expect(refusal(() => parse({ ...valid, ...change }))).toMatchObject({
      code: "invalid_request",
      field,
    });
  });

  it("resolves the key from the environment", () => {
    const b = createAzureBackend(valid, { AZURE_KEY: ACCOUNT_KEY }, "buckets.photos");
    expect(b).toMatchObject({ kind: "azure", maxExpiresIn: 7 * 86400 });
  });

  it("fails naming the config key when the variable is not set", () => {
    expect(() => createAzureBackend(valid, {}, "buckets.photos")).toThrow(
      "invalid config: buckets.photos.accountKey names ${AZURE_KEY}, which is not set",
    );
  });

  it("fails on a key that is not base64 without printing it", () => {
    const secret = "not-a-key-but-secret!";
    let message = "";
    try {
      createAzureBackend(valid, { AZURE_KEY: secret }, "buckets.photos");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe("invalid config: buckets.photos: the account key is not base64");
    expect(message).not.toContain(secret);
  });

  it("needs exactly one of accountKey and userDelegation", () => {
    const message =
      "invalid config: buckets.photos needs exactly one of accountKey, userDelegation";
    expect(() => createAzureBackend(keyless, {}, "buckets.photos")).toThrow(message);
    expect(() =>
      createAzureBackend(
        { ...valid, userDelegation: true },
        { AZURE_KEY: ACCOUNT_KEY },
        "buckets.photos",
      ),
    ).toThrow(message);
  });

  it("builds a user delegation backend without touching the network, and no stored policies", () => {
    const b = createAzureBackend({ ...keyless, userDelegation: true }, {}, "buckets.photos");
    expect(b).toMatchObject({ kind: "azure", maxExpiresIn: 86400 });
    expect(() =>
      createAzureBackend(
        { ...keyless, userDelegation: true, storedPolicies: { pool: 1 } },
        {},
        "buckets.photos",
      ),
    ).toThrow(/^invalid config: buckets\.photos: storedPolicies needs accountKey/);
  });
});

describe("user delegation keys", () => {
  const T0 = new Date("2026-03-01T00:00:00Z");
  const DAY = 86400_000;
  // Never asked for a token: getUserDelegationKey, the one call made, is stubbed.
  const credential: TokenCredential = {
    getToken: () => Promise.reject(new Error("no token in unit tests")),
  };
  let fetches: Date[][];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    fetches = [];
    vi.spyOn(BlobServiceClient.prototype, "getUserDelegationKey").mockImplementation(((
      startsOn: Date,
      expiresOn: Date,
    ) => {
      fetches.push([startsOn, expiresOn]);
      return Promise.resolve({
        signedObjectId: "11111111-2222-3333-4444-555555555555",
        signedTenantId: "66666666-7777-8888-9999-000000000000",
        signedStartsOn: startsOn,
        signedExpiresOn: expiresOn,
        signedService: "b",
        signedVersion: SAS_VERSION,
        value: Buffer.from(`key ${fetches.length}`).toString("base64"),
      });
    }) as never);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  const delegated = () => backend({ credential: { tokenCredential: credential } });
  const soon = (ms: number) => new Date(Date.now() + ms);

  it("signs nothing before the first key, then caches it for every SAS", async () => {
    const b = delegated();
    expect(refusal(() => b.presign(scope({ expiresAt: soon(900_000) })))).toMatchObject({
      code: "backend_unavailable",
    });
    expect(fetches).toHaveLength(1);
    await b.ready();
    const first = query(b.presign(scope({ expiresAt: soon(900_000) })).url);
    const second = query(b.presign(scope({ expiresAt: soon(DAY) })).url);
    await b.ready();
    expect(fetches).toHaveLength(1);
    expect(fetches[0]?.[1]?.getTime()).toBeLessThanOrEqual(T0.getTime() + 7 * DAY);
    expect(first).toMatchObject({ skoid: "11111111-2222-3333-4444-555555555555", sks: "b" });
    expect(first.ske).toBe(second.ske);
    expect(first.sig).not.toBe(second.sig);
  });

  it("renews the key near its expiry, signing with the old one meanwhile", async () => {
    const b = delegated();
    await b.ready();
    const before = query(b.presign(scope({ expiresAt: soon(900_000) })).url).ske;
    vi.setSystemTime(new Date(T0.getTime() + 6 * DAY));
    // The old key still covers 15 minutes, not a day; signing started the renewal.
    expect(query(b.presign(scope({ expiresAt: soon(900_000) })).url).ske).toBe(before);
    expect(fetches).toHaveLength(2);
    expect(refusal(() => b.presign(scope({ expiresAt: soon(DAY) })))).toMatchObject({
      code: "backend_unavailable",
    });
    await b.ready();
    expect(fetches).toHaveLength(2);
    const after = query(b.presign(scope({ expiresAt: soon(DAY) })).url).ske;
    expect(after).not.toBe(before);
    expect(new Date(after ?? "").getTime()).toBeGreaterThan(Date.now() + 6 * DAY);
  });

  it("reports a failed fetch from ready(), and tries again on the next call", async () => {
    vi.mocked(BlobServiceClient.prototype.getUserDelegationKey).mockRejectedValueOnce(
      new RestError("busy", { statusCode: 503 }),
    );
    const b = delegated();
    expect(await rejection(b.ready())).toMatchObject({ code: "backend_unavailable" });
    await b.ready();
    expect(query(b.presign(scope({ expiresAt: soon(900_000) })).url).skoid).toBeDefined();
  });

  it("has no stored access policies", () => {
    expect(() =>
      backend({ credential: { tokenCredential: credential }, storedPolicyPool: 1 }),
    ).toThrow(RangeError);
  });
});

describe("an unreachable endpoint", () => {
  it("is backend_unavailable, for reads and listings alike", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, "close");
    const b = backend({ endpoint: `http://127.0.0.1:${port}/devstoreaccount1` });
    expect(await rejection(b.head("k"))).toMatchObject({ code: "backend_unavailable" });
    expect(await rejection(b.list("", { limit: 10 }))).toMatchObject({
      code: "backend_unavailable",
    });
  });
});
