/**
 * The Azure backend against a real Blob service: Azurite, started by scripts/peers/azurite-start.sh.
 * Runs only when SIGNET_AZURITE_URL is set, e.g.
 *   export "$(bash scripts/peers/azurite-start.sh)"; npx vitest run test/peers/azure-backend.test.ts
 * Each run uses a fresh container. Presigned URLs are used through plain fetch with the headers
 * the reply lists; everything else goes through the backend's own object operations.
 * Azurite does not check sip, and allows more than 5 stored policies: only the pool stops a 6th.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import {
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AzureBackend,
  type AzureDirectScope,
  createAzureBackend,
} from "../../src/backends/azure/azure.js";
import { sasPermissions } from "../../src/backends/azure/azure-sas.js";
import type { DirectRequest } from "../../src/backends/types.js";
import { SignetError } from "../../src/core/errors.js";
import { missing } from "../helpers/skip.js";

const endpoint = process.env.SIGNET_AZURITE_URL;
// Azurite's public development key; it protects nothing outside the emulator.
const ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

describe.skipIf(
  missing("the Azure backend on Azurite", {
    "SIGNET_AZURITE_URL (Azurite peer: scripts/peers/azurite-start.sh)": endpoint,
  }),
)("the Azure backend on Azurite", () => {
  const accountName = new URL(endpoint ?? "http://x/devstoreaccount1").pathname.split("/")[1] ?? "";
  const container = `signet-backend-${Date.now()}-${randomBytes(3).toString("hex")}`;
  let setup: ContainerClient;
  let backend: AzureBackend;

  beforeAll(async () => {
    setup = new BlobServiceClient(
      endpoint ?? "",
      new StorageSharedKeyCredential(accountName, ACCOUNT_KEY),
    ).getContainerClient(container);
    await setup.create();
    backend = createAzureBackend(
      {
        backend: "azure",
        accountName,
        container,
        endpoint,
        accountKey: "${SIGNET_TEST_AZURE_KEY}",
        storedPolicies: { pool: 5 },
      },
      { SIGNET_TEST_AZURE_KEY: ACCOUNT_KEY },
      "buckets.azurite",
    );
  });
  afterAll(() => setup?.delete());

  const scope = (over: Partial<AzureDirectScope>): AzureDirectScope => ({
    bucket: "azurite",
    methods: ["GET"],
    expiresAt: new Date(Date.now() + 10 * 60_000),
    principal: "alice",
    tokenId: randomBytes(8).toString("hex"),
    constraints: {},
    ...over,
  });
  /** Sends a signed request as a client would: its method, its URL, exactly its headers. */
  const send = (signed: DirectRequest, body?: Uint8Array) =>
    fetch(signed.url, { method: signed.method, headers: signed.headers, body });
  /** The status and Azure error code of a response, e.g. "403 AuthorizationFailure". */
  const outcome = async (response: Response) => {
    const code = /<Code>(\w+)<\/Code>/.exec(await response.text())?.[1];
    return code === undefined ? `${response.status}` : `${response.status} ${code}`;
  };
  const put = (key: string, bytes: Uint8Array, contentType = "application/octet-stream") =>
    backend.put(key, Readable.from([bytes]), { contentType, contentLength: bytes.length });
  const rejection = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => new Error("expected a rejection"),
      (e: unknown) => e,
    );
    if (err instanceof SignetError) return err;
    throw err;
  };

  it("uploads, downloads and deletes through presigned URLs", async () => {
    // Characters that need encoding, kept exactly: a space, a literal %20, a plus, non-ASCII.
    const key = "direct/a b%20c+ü.bin";
    const bytes = randomBytes(3000);
    const up = backend.presign(scope({ methods: ["PUT"], key }));
    expect(up.headers).toEqual({ "x-ms-blob-type": "BlockBlob" });
    expect(await outcome(await send(up, bytes))).toBe("201");

    const down = await send(backend.presign(scope({ key })));
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await backend.head(key))?.size).toBe(3000);

    expect(await outcome(await send(backend.presign(scope({ methods: ["DELETE"], key }))))).toBe(
      "202",
    );
    expect(await backend.head(key)).toBeUndefined();
  });

  it("refuses a read URL used to write", async () => {
    const key = "direct/read-only.bin";
    await put(key, randomBytes(10));
    const read = backend.presign(scope({ key }));
    const overwrite = await fetch(read.url, {
      method: "PUT",
      headers: { "x-ms-blob-type": "BlockBlob" },
      body: "x",
    });
    expect(await outcome(overwrite)).toBe("403 AuthorizationPermissionMismatch");
  });

  it("puts a stream, then heads and reads it whole or by an inclusive range", async () => {
    const key = "ops/report.pdf";
    const bytes = randomBytes(100_000);
    const written = await put(key, bytes, "application/pdf");
    expect(written).toMatchObject({ key, size: 100_000, contentType: "application/pdf" });

    const head = await backend.head(key);
    expect(head).toMatchObject({
      size: 100_000,
      etag: written.etag,
      contentType: "application/pdf",
    });
    expect(head?.etag).toMatch(/^".+"$/);

    const whole = await backend.get(key);
    expect((await buffer(whole?.body ?? Readable.from([]))).equals(bytes)).toBe(true);
    const part = await backend.get(key, { start: 10, end: 19 });
    expect(part?.info).toMatchObject({ size: 100_000, etag: written.etag });
    expect((await buffer(part?.body ?? Readable.from([]))).equals(bytes.subarray(10, 20))).toBe(
      true,
    );
    expect(await rejection(backend.get(key, { start: 200_000, end: 200_010 }))).toMatchObject({
      code: "range_not_satisfiable",
    });
  });

  it("answers undefined for a missing blob, and deletes one without complaint", async () => {
    expect(await backend.head("ops/missing")).toBeUndefined();
    expect(await backend.get("ops/missing")).toBeUndefined();
    await backend.delete("ops/missing");
    await put("ops/doomed", randomBytes(5));
    await backend.delete("ops/doomed");
    expect(await backend.head("ops/doomed")).toBeUndefined();
  });

  it("commits nothing when the body does not have its declared length", async () => {
    const key = "ops/declared.bin";
    const old = randomBytes(8);
    await put(key, old);
    for (const [declared, sent] of [
      [5, 6],
      [7, 6],
    ] as const) {
      const err = await rejection(
        backend.put(key, Readable.from([randomBytes(sent)]), {
          contentType: "application/octet-stream",
          contentLength: declared,
        }),
      );
      expect(err.code).toBe("invalid_request");
    }
    const kept = await backend.get(key);
    expect((await buffer(kept?.body ?? Readable.from([]))).equals(old)).toBe(true);
  });

  it("lists objects and sub-folders under a prefix, and pages through them", async () => {
    const keys = ["tree/a1", "tree/a2", "tree/a3", "tree/b/x", "tree/c/y/z", "treetop"];
    await Promise.all(keys.map((key) => put(key, Buffer.from(key))));

    const all = await backend.list("tree/", { limit: 100 });
    expect(all.items.map((i) => i.key)).toEqual(["tree/a1", "tree/a2", "tree/a3"]);
    expect(all.items[0]).toMatchObject({ size: 7, contentType: "application/octet-stream" });
    expect(all.items[0]?.etag).toMatch(/^".+"$/);
    expect(all.prefixes).toEqual(["tree/b/", "tree/c/"]);
    expect(all.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const got = await backend.list("tree/", { cursor, limit: 2 });
      expect(got.items.length + got.prefixes.length).toBeLessThanOrEqual(2);
      seen.push(...got.items.map((i) => i.key), ...got.prefixes);
      if (got.nextCursor === null) break;
      cursor = got.nextCursor;
    }
    expect(seen.sort()).toEqual(["tree/a1", "tree/a2", "tree/a3", "tree/b/", "tree/c/"]);
  });

  it("uploads parts through presigned Put Block URLs and commits them in part order", async () => {
    const key = "multi/big.bin";
    const uploadId = await backend.createMultipart(key, { contentType: "video/mp4" });
    const parts = [randomBytes(5000), randomBytes(3000), randomBytes(1000)];
    // Uploaded out of order; part 2 twice, the second upload replacing the first.
    for (const partNumber of [3, 2, 1, 2]) {
      const signed = backend.presign(
        scope({ methods: ["PUT"], key, part: { uploadId, partNumber } }),
      );
      expect(await outcome(await send(signed, parts[partNumber - 1]))).toBe("201");
    }
    // Another upload's block on the same blob is not one of this upload's parts.
    const other = await backend.createMultipart(key, { contentType: "video/mp4" });
    await send(
      backend.presign(scope({ methods: ["PUT"], key, part: { uploadId: other, partNumber: 1 } })),
      randomBytes(10),
    );

    const listed = await backend.listParts(key, uploadId);
    expect(listed.map(({ partNumber, size }) => [partNumber, size])).toEqual([
      [1, 5000],
      [2, 3000],
      [3, 1000],
    ]);
    expect(await backend.head(key)).toBeUndefined();

    const info = await backend.completeMultipart(
      key,
      uploadId,
      listed.map(({ partNumber, etag }) => ({ partNumber, etag })),
    );
    expect(info).toMatchObject({ key, size: 9000, contentType: "video/mp4" });
    const got = await backend.get(key);
    expect(got?.info).toMatchObject({ size: 9000, contentType: "video/mp4", etag: info.etag });
    expect((await buffer(got?.body ?? Readable.from([]))).equals(Buffer.concat(parts))).toBe(true);
    // The commit dropped every uncommitted block, the other upload's too.
    expect(await backend.listParts(key, other)).toEqual([]);
  });

  it("refuses to complete with a part that was never uploaded", async () => {
    const key = "multi/incomplete.bin";
    const uploadId = await backend.createMultipart(key, { contentType: "text/plain" });
    await send(
      backend.presign(scope({ methods: ["PUT"], key, part: { uploadId, partNumber: 1 } })),
      Buffer.from("one"),
    );
    const err = await rejection(
      backend.completeMultipart(key, uploadId, [
        { partNumber: 1, etag: "" },
        { partNumber: 2, etag: "" },
      ]),
    );
    expect(err).toMatchObject({ code: "invalid_part", message: "part 2 was not uploaded" });
    expect(await backend.head(key)).toBeUndefined();
    await backend.abortMultipart(key, uploadId);
  });

  it("aborts: staged blocks go, but never a blob's committed content", async () => {
    const fresh = "multi/aborted.bin";
    const uploadId = await backend.createMultipart(fresh, { contentType: "text/plain" });
    const part = backend.presign(
      scope({ methods: ["PUT"], key: fresh, part: { uploadId, partNumber: 1 } }),
    );
    await send(part, Buffer.from("staged"));
    await backend.abortMultipart(fresh, uploadId);
    expect(await backend.listParts(fresh, uploadId)).toEqual([]);
    expect(await backend.head(fresh)).toBeUndefined();

    const kept = "multi/kept.bin";
    const before = await backend.put(kept, Readable.from([Buffer.from("committed")]), {
      contentType: "text/plain",
    });
    const over = await backend.createMultipart(kept, { contentType: "text/plain" });
    await send(
      backend.presign(
        scope({ methods: ["PUT"], key: kept, part: { uploadId: over, partNumber: 1 } }),
      ),
      Buffer.from("staged"),
    );
    await backend.abortMultipart(kept, over);
    expect(await backend.head(kept)).toMatchObject({ size: 9, etag: before.etag });
  });

  it("refuses a part URL used for another blob", async () => {
    const uploadId = await backend.createMultipart("multi/mine.bin", { contentType: "a/b" });
    const signed = backend.presign(
      scope({ methods: ["PUT"], key: "multi/mine.bin", part: { uploadId, partNumber: 1 } }),
    );
    const elsewhere = {
      ...signed,
      url: signed.url.replace("/multi/mine.bin?", "/multi/theirs.bin?"),
    };
    expect(elsewhere.url).not.toBe(signed.url);
    expect(await outcome(await send(elsewhere, Buffer.from("x")))).toBe("403 AuthorizationFailure");
    expect(await backend.listParts("multi/theirs.bin", uploadId)).toEqual([]);
  });

  it("honours a SAS naming a stored policy until the policy is removed", async () => {
    const key = "revocable/a.txt";
    await put(key, Buffer.from("revocable"));
    const revocable = scope({ key });
    revocable.storedPolicy = revocable.tokenId;
    await backend.createStoredPolicy(
      revocable.tokenId,
      sasPermissions(revocable.methods, "b"),
      revocable.expiresAt,
    );
    const signed = backend.presign(revocable);
    expect(new URL(signed.url).searchParams.get("si")).toBe(revocable.tokenId);
    const before = await send(signed);
    expect(before.status).toBe(200);
    expect(await before.text()).toBe("revocable");

    await backend.removeStoredPolicy(revocable.tokenId);
    expect(await outcome(await send(signed))).toBe("403 AuthorizationFailure");
    await backend.removeStoredPolicy(revocable.tokenId);
  });

  it("keeps at most the pool's 5 policies, and frees the slots of expired ones", async () => {
    const ids = [1, 2, 3, 4, 5].map((i) => `pool-${i}`);
    const later = new Date(Date.now() + 10 * 60_000);
    for (const id of ids) await backend.createStoredPolicy(id, "r", later);
    expect(await rejection(backend.createStoredPolicy("pool-6", "r", later))).toMatchObject({
      code: "conflict",
    });
    expect(await rejection(backend.createStoredPolicy("pool-1", "r", later))).toMatchObject({
      code: "conflict",
    });

    await backend.removeStoredPolicy("pool-5");
    await backend.createStoredPolicy("pool-expired", "r", new Date(Date.now() - 60_000));
    await backend.createStoredPolicy("pool-6", "r", later);
    const held = (await setup.getAccessPolicy()).signedIdentifiers.map((p) => p.id);
    expect(held.sort()).toEqual(["pool-1", "pool-2", "pool-3", "pool-4", "pool-6"]);
    for (const id of held) await backend.removeStoredPolicy(id);
    expect((await setup.getAccessPolicy()).signedIdentifiers).toEqual([]);
  });

  it("reports a refusal by status and code, never with the key", async () => {
    const wrong = new AzureBackend({
      accountName,
      container,
      endpoint,
      credential: { accountKey: Buffer.alloc(64, 7).toString("base64") },
    });
    const err = await rejection(wrong.list("", { limit: 1 }));
    // through the provider-error table, as the guard would word it
    expect(err).toMatchObject({ code: "backend_unavailable" });
    expect(err.message).toMatch(/^azure: credentials refused \(\w+, 403\)$/);
    expect(err.message).not.toContain(Buffer.alloc(64, 7).toString("base64"));
  });
});
