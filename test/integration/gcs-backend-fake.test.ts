/**
 * GcsBackend's object operations and direct URLs against a fake GCS XML API on 127.0.0.1
 * (test/helpers/fake-gcs.ts), which checks the V4 signature of every request independently and
 * refuses what GCS would. Run once with a service account and once with an HMAC key.
 */
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createGcsBackend,
  type GcsBackend,
  type GcsBucketConfig,
} from "../../src/backends/gcs/gcs.js";
import type { DirectScope } from "../../src/backends/types.js";
import {
  type FakeGcs,
  type FakeGcsKey,
  serviceAccountKey,
  startFakeGcs,
} from "../helpers/fake-gcs.js";

const keyFile = fileURLToPath(
  new URL("../fixtures/conformance/gcs/test_service_account.not-a-test.json", import.meta.url),
);
const account = JSON.parse(await readFile(keyFile, "utf8")) as {
  client_email: string;
  private_key: string;
};
const HMAC = { id: "GOOG1EXAMPLEACCESSID", secret: "bGlrZS1hLXJlYWwtc2VjcmV0LWJ1dC1ub3Q" };
const ENV = { GCS_ID: HMAC.id, GCS_SECRET: HMAC.secret };
const BUCKET = "signet-test";

const identities: [string, FakeGcsKey, Partial<GcsBucketConfig>][] = [
  ["service account", serviceAccountKey(account), { credentialsFile: keyFile }],
  [
    "HMAC key",
    { hmacAccessId: HMAC.id, hmacSecret: HMAC.secret },
    { hmacAccessId: "${GCS_ID}", hmacSecret: "${GCS_SECRET}" },
  ],
];

const body = (s: string) => Readable.from([Buffer.from(s)]);

async function rejectionOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; field?: string };
  }
  throw new Error("expected a refusal");
}

describe.each(identities)("GcsBackend against a fake GCS (%s)", (_name, key, credentials) => {
  let fake: FakeGcs;
  let gcs: GcsBackend;

  beforeAll(async () => {
    fake = await startFakeGcs({ bucket: BUCKET, key, partsPerPage: 2 });
    gcs = await createGcsBackend(
      { backend: "gcs", bucket: BUCKET, endpoint: fake.url, ...credentials },
      ENV,
    );
  });
  afterAll(async () => {
    await fake.close();
  });

  const scope = (change: Partial<DirectScope>): DirectScope => ({
    bucket: "media",
    methods: ["GET"],
    expiresAt: new Date(Date.now() + 600_000),
    principal: "alice",
    tokenId: "t1",
    constraints: {},
    ...change,
  });

  it("puts, heads, gets whole or a range, and deletes, keys with any character", async () => {
    const k = "docs/été 2026/a&b <1> (final)!*'+%.txt";
    const stored = await gcs.put(k, body("hello, world"), {
      contentType: "text/plain",
      contentLength: 12,
    });
    expect(stored).toMatchObject({ key: k, size: 12, contentType: "text/plain" });
    expect(stored.etag).toBe(fake.objects.get(k)!.etag);
    expect(fake.objects.get(k)!.body.toString()).toBe("hello, world");

    // Without a known length the body is sent chunked.
    const streamed = await gcs.put("docs/b.bin", body("0123456789"), {
      contentType: "application/octet-stream",
    });
    expect(streamed.size).toBe(10);

    const info = await gcs.head(k);
    expect(info).toMatchObject({ key: k, size: 12, etag: stored.etag, contentType: "text/plain" });
    expect(info!.lastModified.getTime()).toBeGreaterThan(0);

    const whole = await gcs.get(k);
    expect(whole!.info.size).toBe(12);
    expect(await text(whole!.body)).toBe("hello, world");

    const part = await gcs.get(k, { start: 7, end: 11 });
    expect(part!.info).toMatchObject({ size: 12, etag: stored.etag });
    expect(await text(part!.body)).toBe("world");

    const tail = await gcs.get(k, { start: 7, end: 100 });
    expect(await text(tail!.body)).toBe("world");

    expect(await rejectionOf(gcs.get(k, { start: 12, end: 20 }))).toMatchObject({
      code: "range_not_satisfiable",
    });

    await gcs.delete(k);
    expect(fake.objects.has(k)).toBe(false);
    expect(await gcs.head(k)).toBeUndefined();
    expect(await gcs.get(k)).toBeUndefined();
    await gcs.delete(k); // already gone: no error
    expect(fake.refusals).toEqual([]);
  });

  it("refuses a body whose length is not the one given", async () => {
    const err = await rejectionOf(
      gcs.put("docs/short", body("12345"), { contentType: "text/plain", contentLength: 10 }),
    );
    expect(err).toMatchObject({ code: "invalid_request", field: "contentLength" });
    expect(fake.objects.has("docs/short")).toBe(false);
  });

  it("passes on the caller's own stream failing, as it is", async () => {
    const broken = new Error("the client went away");
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from("half");
        throw broken;
      })(),
    );
    expect(await rejectionOf(gcs.put("docs/half", failing, { contentType: "text/plain" }))).toBe(
      broken,
    );
    expect(fake.objects.has("docs/half")).toBe(false);
  });

  it("lists one level of a folder, page by page", async () => {
    for (const k of ["l/1", "l/2", "l/3", "l/sub/x", "l/sub/y", "l/zz/é", "l2/x", "m"])
      await gcs.put(k, body(k), { contentType: "text/plain" });

    const keys: string[] = [];
    const prefixes: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (; pages < 10; pages++) {
      const page = await gcs.list("l/", { cursor, limit: 2 });
      keys.push(...page.items.map((item) => item.key));
      prefixes.push(...page.prefixes);
      expect(page.items.length + page.prefixes.length).toBeLessThanOrEqual(2);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(pages).toBe(2);
    expect(keys).toEqual(["l/1", "l/2", "l/3"]);
    expect(prefixes).toEqual(["l/sub/", "l/zz/"]);

    const deeper = await gcs.list("l/zz/", { limit: 100 });
    expect(deeper.nextCursor).toBeNull();
    expect(deeper.items).toEqual([
      {
        key: "l/zz/é",
        size: Buffer.byteLength("l/zz/é"),
        etag: fake.objects.get("l/zz/é")!.etag,
        contentType: "",
        lastModified: fake.objects.get("l/zz/é")!.lastModified,
      },
    ]);

    // A folder placeholder object, as GCS's console writes, is not listed as an object.
    await gcs.put("l/zz/", body(""), { contentType: "text/plain", contentLength: 0 });
    expect((await gcs.list("l/zz/", { limit: 100 })).items.map((i) => i.key)).toEqual(["l/zz/é"]);

    const top = await gcs.list("", { limit: 1000 });
    // Other tests' objects are there too: only one level, and these among them.
    expect(top.items.map((i) => i.key)).toContain("m");
    expect(top.items.every((i) => !i.key.includes("/"))).toBe(true);
    expect(top.prefixes).toEqual(expect.arrayContaining(["l/", "l2/"]));
    expect(top.prefixes.every((p) => /^[^/]+\/$/.test(p))).toBe(true);
    expect(fake.refusals).toEqual([]);
  });

  it("runs the XML multipart cycle with presigned part URLs", async () => {
    const k = "big/genome.bam";
    const uploadId = await gcs.createMultipart(k, { contentType: "application/x-bam" });
    expect(fake.uploads.get(uploadId)?.key).toBe(k);

    const chunks = ["part one|", "part two|", "three|", "four|", "five"];
    for (const [i, chunk] of chunks.entries()) {
      const signed = gcs.presign(
        scope({
          methods: ["PUT"],
          key: k,
          part: { uploadId, partNumber: i + 1 },
          constraints: { contentLength: chunk.length },
        }),
      );
      expect(signed.headers).toEqual({ "content-length": String(chunk.length) });
      const res = await request(signed.url, {
        method: "PUT",
        headers: signed.headers,
        body: chunk,
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }

    // Five parts, two a page: three pages.
    const parts = await gcs.listParts(k, uploadId);
    expect(parts.map((p) => [p.partNumber, p.size])).toEqual(
      chunks.map((c, i) => [i + 1, c.length]),
    );
    expect(parts.every((p) => p.etag.startsWith('"'))).toBe(true);

    // Given out of order: the backend sorts them.
    const done = await gcs.completeMultipart(k, uploadId, [...parts].reverse());
    expect(done).toMatchObject({
      key: k,
      size: chunks.join("").length,
      contentType: "application/x-bam",
    });
    expect(fake.objects.get(k)!.body.toString()).toBe(chunks.join(""));
    expect(fake.uploads.has(uploadId)).toBe(false);

    expect(await rejectionOf(gcs.listParts(k, uploadId))).toMatchObject({ code: "not_found" });
    expect(await rejectionOf(gcs.completeMultipart(k, uploadId, parts))).toMatchObject({
      code: "not_found",
    });
    expect(fake.refusals).toEqual([]);
  });

  it("refuses a completion naming a part that is not there, and aborts", async () => {
    const k = "big/abandoned.bin";
    const uploadId = await gcs.createMultipart(k, { contentType: "text/plain" });
    const signed = gcs.presign(
      scope({ methods: ["PUT"], key: k, part: { uploadId, partNumber: 1 }, constraints: {} }),
    );
    await (await request(signed.url, { method: "PUT", body: "abc" })).body.dump();
    const err = await rejectionOf(
      gcs.completeMultipart(k, uploadId, [{ partNumber: 1, etag: '"not-the-etag"' }]),
    );
    expect(err).toMatchObject({ code: "invalid_part", field: "parts" });
    expect(err.message).toContain("InvalidPart");

    await gcs.abortMultipart(k, uploadId);
    expect(fake.uploads.has(uploadId)).toBe(false);
    await gcs.abortMultipart(k, uploadId); // already gone: no error
    expect(fake.objects.has(k)).toBe(false);
  });

  it("a part URL sent with another length, or a GET with another Range, is refused", async () => {
    const k = "big/strict.bin";
    const uploadId = await gcs.createMultipart(k, { contentType: "text/plain" });
    const part = gcs.presign(
      scope({
        methods: ["PUT"],
        key: k,
        part: { uploadId, partNumber: 1 },
        constraints: { contentLength: 5 },
      }),
    );
    const refusalsBefore = fake.refusals.length;
    const longer = await request(part.url, {
      method: "PUT",
      headers: { "content-length": "6" },
      body: "123456",
    });
    expect(longer.statusCode).toBe(403);
    expect(await longer.body.text()).toContain("SignatureDoesNotMatch");
    const otherPart = await request(part.url.replace("partNumber=1", "partNumber=2"), {
      method: "PUT",
      headers: part.headers,
      body: "12345",
    });
    await otherPart.body.dump();
    expect(otherPart.statusCode).toBe(403);
    expect(fake.uploads.get(uploadId)!.parts.size).toBe(0);
    const fits = await request(part.url, { method: "PUT", headers: part.headers, body: "12345" });
    await fits.body.dump();
    expect(fits.statusCode).toBe(200);

    await gcs.put("r/ranged.txt", body("0123456789"), { contentType: "text/plain" });
    const ranged = gcs.presign(
      scope({ key: "r/ranged.txt", constraints: { range: { start: 2, end: 4 } } }),
    );
    const other = await request(ranged.url, { headers: { range: "bytes=2-5" } });
    await other.body.dump();
    expect(other.statusCode).toBe(403);
    const none = await request(ranged.url);
    await none.body.dump();
    expect(none.statusCode).toBe(403);
    const same = await request(ranged.url, { headers: ranged.headers });
    expect(same.statusCode).toBe(206);
    expect(await same.body.text()).toBe("234");
    expect(fake.refusals.slice(refusalsBefore)).toEqual([
      "SignatureDoesNotMatch",
      "SignatureDoesNotMatch",
      "SignatureDoesNotMatch",
      "the signed header range is missing",
    ]);
    await gcs.abortMultipart(k, uploadId);
  });

  it("a direct PUT URL carries its type and length", async () => {
    const signed = gcs.presign(
      scope({
        methods: ["PUT"],
        key: "u/photo.jpg",
        constraints: { contentType: "image/jpeg", contentLength: 4 },
      }),
    );
    const wrongType = await request(signed.url, {
      method: "PUT",
      headers: { ...signed.headers, "content-type": "text/html" },
      body: "abcd",
    });
    await wrongType.body.dump();
    expect(wrongType.statusCode).toBe(403);
    const ok = await request(signed.url, { method: "PUT", headers: signed.headers, body: "abcd" });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
    expect(await gcs.head("u/photo.jpg")).toMatchObject({ size: 4, contentType: "image/jpeg" });
  });

  it("maps GCS's failures: 5xx, refused credentials, unreachable", async () => {
    await gcs.put("f/m", body("m"), { contentType: "text/plain" });
    fake.failNext(503);
    expect(await rejectionOf(gcs.head("f/m"))).toMatchObject({ code: "backend_unavailable" });
    fake.failNext(500);
    expect(await rejectionOf(gcs.list("f/", { limit: 10 }))).toMatchObject({
      code: "backend_unavailable",
    });
    expect(await gcs.head("f/m")).toMatchObject({ size: 1 });

    const impostor = await createGcsBackend(
      {
        backend: "gcs",
        bucket: BUCKET,
        endpoint: fake.url,
        hmacAccessId: "${GCS_ID}",
        hmacSecret: "${GCS_SECRET}",
      },
      { GCS_ID: HMAC.id, GCS_SECRET: "guessed" },
    );
    const refused = await rejectionOf(impostor.get("f/m"));
    // through the provider-error table, as the guard would word it
    expect(refused).toMatchObject({ code: "backend_unavailable" });
    expect(refused.message).toMatch(/^gcs: credentials refused \(\w+, 403\)$/);
    expect(refused.message).not.toMatch(/[0-9a-f]{64}/);

    const port = await closedPort();
    const unreachable = await createGcsBackend(
      { backend: "gcs", bucket: BUCKET, endpoint: `http://127.0.0.1:${port}`, ...credentials },
      ENV,
    );
    const err = await rejectionOf(unreachable.head("f/m"));
    expect(err).toMatchObject({ code: "backend_unavailable" });
    expect(err.message).not.toContain("X-Goog-Signature");
  });
});

/** A port on 127.0.0.1 that nothing listens on (just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
