/**
 * The S3 backend against Swift's s3api (scripts/peers/swift-start.sh), which verifies every
 * SigV4 URL itself. Runs only when SIGNET_SWIFT_URL is set, e.g.
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 npx vitest run test/peers/s3-backend.test.ts
 * Each run works in a fresh bucket, removed at the end.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3Backend, createS3Backend } from "../../src/backends/s3/s3.js";
import type { DirectScope } from "../../src/backends/types.js";
import type { ScopeConstraints } from "../../src/core/constraints.js";
import type { Method } from "../../src/core/methods.js";
import { missing } from "../helpers/skip.js";

const SWIFT = process.env.SIGNET_SWIFT_URL;
const ENV = { S3_KEY_ID: "test:tester", S3_SECRET: "testing" };
const MiB = 1024 * 1024;

const soon = () => new Date(Date.now() + 300_000);
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));
const text = async (body: Readable) => Buffer.concat(await body.toArray()).toString();

/** The same URL with one hex digit of its signature changed. */
function tampered(url: string): string {
  const u = new URL(url);
  const sig = u.searchParams.get("X-Amz-Signature")!;
  u.searchParams.set("X-Amz-Signature", (sig[0] === "a" ? "b" : "a") + sig.slice(1));
  return u.toString();
}

describe.skipIf(
  missing("S3 backend against Swift's s3api", {
    "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT,
  }),
)("S3 backend against Swift's s3api", () => {
  const bucket = `signet-s3-${Date.now().toString(36)}`;
  let backend: S3Backend;
  let admin: S3Client;

  const scope = (
    method: Method,
    key: string,
    constraints: ScopeConstraints = {},
    extra: Partial<DirectScope> = {},
  ): DirectScope => ({
    bucket: "media",
    methods: [method],
    key,
    expiresAt: soon(),
    principal: "test",
    tokenId: "t1",
    constraints,
    ...extra,
  });

  beforeAll(async () => {
    admin = new S3Client({
      endpoint: SWIFT,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: ENV.S3_KEY_ID, secretAccessKey: ENV.S3_SECRET },
    });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    backend = await createS3Backend(
      {
        backend: "s3",
        bucket,
        region: "us-east-1",
        endpoint: SWIFT,
        forcePathStyle: true,
        accessKeyId: "${S3_KEY_ID}",
        secretAccessKey: "${S3_SECRET}",
      },
      ENV,
    );
  });

  afterAll(async () => {
    if (backend === undefined) return;
    // Bounded: each flat listing page is deleted before the next one is asked for.
    for (let i = 0; i < 100; i++) {
      const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (page.Contents ?? []).map((o) => o.Key!);
      await Promise.all(keys.map((key) => backend.delete(key)));
      if (page.IsTruncated !== true) break;
    }
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    backend.destroy();
    admin.destroy();
  });

  it("defaults to checksums ignored for a custom endpoint", () => {
    expect(backend.checksums).toBe("ignored");
    expect(backend.unbound(scope("PUT", "k", { checksumSha256: "x".repeat(43) + "=" }))).toEqual([
      "checksumSha256",
    ]);
  });

  it("PUTs, GETs, HEADs and DELETEs through presigned URLs", async () => {
    const key = "dir x/été 文件 +%&=.txt";
    const body = "hello from a presigned PUT";
    const put = backend.presign(
      scope("PUT", key, { contentLength: body.length, contentType: "text/plain" }),
    );
    expect(put.headers).toEqual({
      "content-length": String(body.length),
      "content-type": "text/plain",
    });
    expect((await fetch(put.url, { method: "PUT", headers: put.headers, body })).status).toBe(200);

    const get = backend.presign(scope("GET", key));
    const got = await fetch(get.url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(body);
    expect(got.headers.get("content-type")).toBe("text/plain");

    const head = await fetch(backend.presign(scope("HEAD", key)).url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(body.length));
    // a GET signature is not a HEAD one
    expect((await fetch(get.url, { method: "HEAD" })).status).toBe(403);

    const del = backend.presign(scope("DELETE", key));
    expect((await fetch(get.url, { method: "DELETE" })).status).toBe(403);
    expect((await fetch(del.url, { method: "DELETE" })).status).toBe(204);
    expect(await backend.head(key)).toBeUndefined();
  });

  it("refuses a PUT whose length or type differs from the signed ones", async () => {
    const put = backend.presign(
      scope("PUT", "bound", { contentLength: 5, contentType: "text/plain" }),
    );
    const longer = await fetch(put.url, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "hello!",
    });
    expect(longer.status).toBe(403);
    const otherType = await fetch(put.url, {
      method: "PUT",
      headers: { ...put.headers, "content-type": "text/html" },
      body: "hello",
    });
    expect(otherType.status).toBe(403);
    expect(await backend.head("bound")).toBeUndefined();
  });

  it("refuses a tampered URL and an expired one", async () => {
    await backend.put("t/o", Readable.from([Buffer.from("tamper me")]), {
      contentType: "text/plain",
      contentLength: 9,
    });
    const url = backend.presign(scope("GET", "t/o")).url;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(tampered(url))).status).toBe(403);
    const elsewhere = new URL(url);
    elsewhere.pathname = elsewhere.pathname.replace(/\/o$/, "/p");
    expect((await fetch(elsewhere)).status).toBe(403);
    const longer = new URL(url);
    longer.searchParams.set("X-Amz-Expires", "301");
    expect((await fetch(longer)).status).toBe(403);
  });

  it("serves the bytes of each range-bound part URL, and 403 for any other Range", async () => {
    const data = bytes(100_000, 7);
    await backend.put("ranged", Readable.from([data]), {
      contentType: "application/octet-stream",
      contentLength: data.length,
    });
    const size = 30_000;
    for (let start = 0; start < data.length; start += size) {
      const end = Math.min(start + size, data.length) - 1;
      const part = backend.presign(scope("GET", "ranged", { range: { start, end } }));
      expect(part.headers).toEqual({ range: `bytes=${start}-${end}` });
      const res = await fetch(part.url, { headers: part.headers });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1))).toBe(true);
      const other = await fetch(part.url, { headers: { range: `bytes=${start}-${end + 1}` } });
      expect(other.status).toBe(403);
      expect((await fetch(part.url)).status).toBe(403);
    }
  });

  it("signs response overrides that the client cannot change", async () => {
    await backend.put("report.bin", Readable.from([Buffer.from("pdf")]), {
      contentType: "application/octet-stream",
      contentLength: 3,
    });
    const disposition = 'attachment; filename="Q3 report.pdf"';
    const { url } = backend.presign(
      scope("GET", "report.bin", {
        responseContentDisposition: disposition,
        responseContentType: "application/pdf",
      }),
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(disposition);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    const changed = new URL(url);
    changed.searchParams.set("response-content-type", "text/html");
    expect((await fetch(changed)).status).toBe(403);
  });

  it("heads, gets (whole and ranged), puts and deletes with its own credentials", async () => {
    const data = bytes(1000, 3);
    const info = await backend.put("ops/a.bin", Readable.from([data]), {
      contentType: "application/x-test",
      contentLength: data.length,
    });
    expect(info).toMatchObject({ key: "ops/a.bin", size: 1000, contentType: "application/x-test" });
    expect(info.etag).toBe(`"${createHash("md5").update(data).digest("hex")}"`);
    expect(await backend.head("ops/a.bin")).toEqual(info);

    const whole = await backend.get("ops/a.bin");
    expect(whole!.info).toEqual(info);
    expect(Buffer.concat(await whole!.body.toArray()).equals(data)).toBe(true);
    const ranged = await backend.get("ops/a.bin", { start: 10, end: 19 });
    expect(ranged!.info.size).toBe(1000);
    expect(Buffer.concat(await ranged!.body.toArray()).equals(data.subarray(10, 20))).toBe(true);
    await expect(backend.get("ops/a.bin", { start: 1000, end: 1001 })).rejects.toMatchObject({
      code: "range_not_satisfiable",
    });

    expect(await backend.head("ops/missing")).toBeUndefined();
    expect(await backend.get("ops/missing")).toBeUndefined();
    await backend.delete("ops/a.bin");
    expect(await backend.head("ops/a.bin")).toBeUndefined();
    await backend.delete("ops/a.bin"); // deleting what is gone is not an error
  });

  it("puts a body of unknown length: one request when small, in parts when large", async () => {
    const small = await backend.put("ops/small", Readable.from([Buffer.from("tiny")]), {
      contentType: "text/plain",
    });
    expect(small.size).toBe(4);
    expect(await text((await backend.get("ops/small"))!.body)).toBe("tiny");

    const data = bytes(9 * MiB, 11);
    const chunks = Array.from({ length: 9 * 16 }, (_, i) =>
      data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024),
    );
    const large = await backend.put("ops/large", Readable.from(chunks), {
      contentType: "application/octet-stream",
    });
    expect(large.size).toBe(data.length);
    expect(large.etag).toMatch(/-2"$/); // an 8 MiB part and a 1 MiB one
    const got = await backend.get("ops/large");
    expect(Buffer.concat(await got!.body.toArray()).equals(data)).toBe(true);
  });

  it("lists one level under a prefix, page by page", async () => {
    const keys = ["l/a", "l/b", "l/c", "l/d/e", "l/f/g", "l/f/h", "lx"];
    for (const key of keys)
      await backend.put(key, Readable.from([Buffer.from(key)]), {
        contentType: "text/plain",
        contentLength: key.length,
      });
    const items: string[] = [];
    const prefixes: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (; pages < 10; pages++) {
      const page = await backend.list("l/", { limit: 2, ...(cursor && { cursor }) });
      expect(page.items.length + page.prefixes.length).toBeLessThanOrEqual(2);
      items.push(...page.items.map((o) => o.key));
      prefixes.push(...page.prefixes);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(pages).toBeGreaterThan(1);
    expect(items).toEqual(["l/a", "l/b", "l/c"]);
    expect(prefixes).toEqual(["l/d/", "l/f/"]);

    const sub = await backend.list("l/f/", { limit: 100 });
    expect(sub.items.map((o) => ({ key: o.key, size: o.size }))).toEqual([
      { key: "l/f/g", size: 5 },
      { key: "l/f/h", size: 5 },
    ]);
    expect(sub.nextCursor).toBeNull();
  });

  it("uploads a multipart object through length-bound part URLs, completed server-side", async () => {
    const key = "mp/assembled.bin";
    const parts = [bytes(5 * MiB, 1), bytes(5 * MiB, 2), bytes(1234, 3)];
    const uploadId = await backend.createMultipart(key, { contentType: "application/x-mp" });
    const partUrl = (partNumber: number, contentLength: number) =>
      backend.presign(scope("PUT", key, { contentLength }, { part: { uploadId, partNumber } }));

    // a part sent with another length than its URL binds is refused by Swift
    const wrong = partUrl(3, 1234);
    expect(new URL(wrong.url).searchParams.get("partNumber")).toBe("3");
    expect(new URL(wrong.url).searchParams.get("uploadId")).toBe(uploadId);
    const refused = await fetch(wrong.url, { method: "PUT", body: parts[2]!.subarray(0, 1000) });
    expect(refused.status).toBe(403);
    // and a part URL does not upload another part number
    const moved = new URL(wrong.url);
    moved.searchParams.set("partNumber", "4");
    expect(
      (await fetch(moved, { method: "PUT", headers: wrong.headers, body: parts[2] })).status,
    ).toBe(403);

    const etags: string[] = [];
    for (const [i, data] of parts.entries()) {
      const { url, headers } = partUrl(i + 1, data.length);
      expect(headers).toEqual({ "content-length": String(data.length) });
      const res = await fetch(url, { method: "PUT", headers, body: data });
      expect(res.status).toBe(200);
      etags.push(res.headers.get("etag")!);
    }

    const listed = await backend.listParts(key, uploadId);
    expect(listed).toEqual(
      parts.map((data, i) => ({ partNumber: i + 1, size: data.length, etag: etags[i] })),
    );
    const info = await backend.completeMultipart(
      key,
      uploadId,
      listed.map(({ partNumber, etag }) => ({ partNumber, etag })).reverse(),
    );
    expect(info).toMatchObject({ key, size: 10 * MiB + 1234, contentType: "application/x-mp" });
    expect(info.etag).toMatch(/-3"$/);
    const got = await backend.get(key);
    expect(Buffer.concat(await got!.body.toArray()).equals(Buffer.concat(parts))).toBe(true);
  });

  it("refuses to complete with a wrong part ETag", async () => {
    const key = "mp/bad-etag";
    const uploadId = await backend.createMultipart(key, { contentType: "text/plain" });
    const { url, headers } = backend.presign(
      scope("PUT", key, { contentLength: 4 }, { part: { uploadId, partNumber: 1 } }),
    );
    expect((await fetch(url, { method: "PUT", headers, body: "part" })).status).toBe(200);
    await expect(
      backend.completeMultipart(key, uploadId, [{ partNumber: 1, etag: '"0123"' }]),
    ).rejects.toMatchObject({ code: "invalid_part" });
    await backend.abortMultipart(key, uploadId);
  });

  it("aborts a multipart upload: its parts are gone, aborting again is fine", async () => {
    const key = "mp/aborted";
    const uploadId = await backend.createMultipart(key, { contentType: "text/plain" });
    const { url, headers } = backend.presign(
      scope("PUT", key, { contentLength: 5 }, { part: { uploadId, partNumber: 1 } }),
    );
    expect((await fetch(url, { method: "PUT", headers, body: "abort" })).status).toBe(200);
    expect(await backend.listParts(key, uploadId)).toHaveLength(1);
    await backend.abortMultipart(key, uploadId);
    await expect(backend.listParts(key, uploadId)).rejects.toMatchObject({ code: "not_found" });
    await expect(backend.completeMultipart(key, uploadId, [])).rejects.toMatchObject({
      code: "not_found",
    });
    await backend.abortMultipart(key, uploadId);
    expect(await backend.head(key)).toBeUndefined();
    // the part URL no longer uploads anything
    expect((await fetch(url, { method: "PUT", headers, body: "abort" })).status).toBe(404);
  });

  it("s3api accepts a wrong x-amz-checksum-sha256, which is why checksums default to ignored", async () => {
    const enforcing = await createS3Backend(
      {
        backend: "s3",
        bucket,
        region: "us-east-1",
        endpoint: SWIFT,
        forcePathStyle: true,
        accessKeyId: "${S3_KEY_ID}",
        secretAccessKey: "${S3_SECRET}",
        checksums: "enforced",
      },
      ENV,
    );
    const wrong = createHash("sha256").update("something else").digest("base64");
    const put = enforcing.presign(
      scope("PUT", "sum/wrong", { contentLength: 4, checksumSha256: wrong }),
    );
    expect(put.headers["x-amz-checksum-sha256"]).toBe(wrong);
    expect(
      (await fetch(put.url, { method: "PUT", headers: put.headers, body: "body" })).status,
    ).toBe(200);
    expect((await enforcing.head("sum/wrong"))?.sha256).toBeUndefined();
    enforcing.destroy();
  });

  it("s3api has no browser form upload: the POST policy form is refused, nothing stored", async () => {
    const { url, fields } = backend.presignPost({
      bucket: "media",
      key: "form/one",
      expiresAt: soon(),
      principal: "test",
      tokenId: "t2",
      contentLengthRange: [0, 100],
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob(["form body"]));
    const res = await fetch(url, { method: "POST", body: form });
    // s3api does not take a form POST for an S3 request: Swift's proxy answers 412 Bad URL
    expect(res.status).toBe(412);
    expect(await res.text()).toBe("Bad URL");
    expect(await backend.head("form/one")).toBeUndefined();
  });

  it("maps a refused connection to backend_unavailable", async () => {
    const down = await createS3Backend(
      {
        backend: "s3",
        bucket,
        region: "us-east-1",
        endpoint: "http://127.0.0.1:1",
        forcePathStyle: true,
        accessKeyId: "${S3_KEY_ID}",
        secretAccessKey: "${S3_SECRET}",
      },
      ENV,
    );
    await expect(down.head("x")).rejects.toMatchObject({ code: "backend_unavailable" });
    await expect(down.list("", { limit: 1 })).rejects.toMatchObject({
      code: "backend_unavailable",
    });
    down.destroy();
  });
});
