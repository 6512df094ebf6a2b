/**
 * Upload intents end to end on one cloud bucket, through Signet's HTTP API: the same checks for
 * every backend (test/peers/cloud-uploads.test.ts, test/integration/gcs-uploads.test.ts), with
 * what each backend really binds given by its case. Signet runs in-process with the bucket as
 * "cloud" and the env its `${ENV}` references name.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backends/types.js";
import type { Enforcer } from "../../src/service/presign.js";
import { type Harness, startSignet } from "./harness.js";
import { api } from "./http.js";
import { missing } from "./skip.js";

export interface IntentCase {
  /** the bucket's config entry and env, made fresh for this run; cleanup removes it */
  setup(): Promise<{
    config: Record<string, unknown>;
    env: Record<string, string>;
    cleanup(): Promise<void>;
  }>;
  /** who enforces a single PUT's length, type and sha256: the backend or complete */
  binds: { contentLength: Enforcer; contentType: Enforcer; checksumSha256: Enforcer };
  /** whether a single PUT is a direct URL, or a link (Swift: a PUT signature lets HEAD through) */
  putVia: "direct" | "link";
  /** a multipart upload: its size and part size, within the provider's minimums */
  multipart: { size: number; partSize: number };
  /** the etag complete takes for an uploaded part */
  partEtag(part: { url: string }, res: Response): string;
  /** a form upload intent: a form with fields, or refused as the backend has none */
  form: "fields" | "constraint_not_enforceable";
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("base64");

/** A signed request sent with fetch: its headers but content-length, which fetch sets itself. */
const send = (
  request: { url: string; method: string; headers: Record<string, string> },
  body: Buffer,
) => {
  const headers = Object.entries(request.headers).filter(([name]) => name !== "content-length");
  return fetch(request.url, { method: request.method, headers, body });
};

/** `needs`: what the suite needs, by name (see helpers/skip.ts); it is skipped when one is missing. */
export function uploadIntentTests(
  title: string,
  needs: Record<string, unknown>,
  c: IntentCase,
): void {
  describe.skipIf(missing(title, needs))(title, () => {
    let h: Harness;
    let backend: Backend;
    let cleanup: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const peer = await c.setup();
      cleanup = peer.cleanup;
      h = await startSignet({ config: { buckets: { cloud: peer.config } }, env: peer.env });
      backend = h.signet.buckets.get("cloud")!.backend;
    });
    afterAll(async () => {
      await h?.close();
      await cleanup?.();
    });

    const create = (body: Record<string, unknown>) =>
      api(h.url, "POST", "/v1/uploads", { bucket: "cloud", ...body });
    const complete = (id: string, body: Record<string, unknown> = {}) =>
      api(h.url, "POST", `/v1/uploads/${id}/complete`, body);
    const statusOf = async (id: string) =>
      (await api(h.url, "GET", `/v1/files/${id}`)).body.status as string;
    const download = async (key: string) => {
      const get = await h.admin.presign({ bucket: "cloud", key, method: "GET" });
      const res = await fetch(get.url, { headers: get.headers });
      expect(res.status).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };

    it("single PUT: create, upload, complete commits once, and the bytes download", async () => {
      const key = "single/a b+é.txt";
      const bytes = randomBytes(3000);
      const intent = await create({
        key,
        size: bytes.length,
        sha256: sha(bytes),
        contentType: "text/plain",
      });
      expect(intent.status).toBe(201);
      expect(intent.body.file).toMatchObject({ status: "pending", key, size: bytes.length });
      const { upload } = intent.body;
      const { contentLength, contentType, checksumSha256 } = upload.enforcedBy;
      expect({ contentLength, contentType, checksumSha256 }).toEqual(c.binds);
      // Signed or not, the type is what the store keeps and complete checks: it must be sent.
      expect(upload.headers["content-type"]).toBe("text/plain");
      expect(new URL(upload.url).origin === h.url).toBe(c.putVia === "link");

      expect((await send(upload, bytes)).status).toBeLessThan(300);
      const done = await complete(intent.body.file.id);
      expect(done).toMatchObject({
        status: 200,
        body: {
          file: {
            status: "committed",
            size: bytes.length,
            sha256: sha(bytes),
            contentType: "text/plain",
          },
        },
      });
      expect(done.body.file.etag).toMatch(/^"[^"]+"$/);
      expect((await download(key)).equals(bytes)).toBe(true);

      const twice = await complete(intent.body.file.id);
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe("conflict");
    });

    it("an upload outside the intent's bounds is deleted at complete, never committed", async () => {
      const key = "bounds/x.bin";
      const intent = await create({ key, size: 10, contentType: "application/octet-stream" });
      expect(intent.status).toBe(201);
      const other = randomBytes(17);
      if (c.binds.contentLength === "backend") {
        // The provider itself refuses another length on the intent's URL...
        expect((await send(intent.body.upload, other)).status).toBe(403);
        // ...so the other bytes come through a PUT the admin signs for that key.
        const put = await h.admin.presign({ bucket: "cloud", key, method: "PUT" });
        expect((await send(put, other)).status).toBeLessThan(300);
      } else {
        expect((await send(intent.body.upload, other)).status).toBeLessThan(300);
      }
      expect((await backend.head(key))?.size).toBe(17);

      const res = await complete(intent.body.file.id);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/size is 17, not 10/);
      expect(await backend.head(key)).toBeUndefined();
      expect(await statusOf(intent.body.file.id)).toBe("pending");
    });

    it("multipart: every part through its signed request, then complete assembles them", async () => {
      const key = "multi/big é.bin";
      const { size, partSize } = c.multipart;
      const bytes = randomBytes(size);
      const intent = await create({
        key,
        size,
        sha256: sha(bytes),
        contentType: "application/octet-stream",
        multipart: { partSize },
      });
      expect(intent.status).toBe(201);
      const { parts } = intent.body.upload;
      expect(parts).toHaveLength(Math.ceil(size / partSize));
      const uploaded: { partNumber: number; etag: string }[] = [];
      for (const part of parts) {
        const res = await send(part, bytes.subarray(part.start, part.end + 1));
        expect(res.status).toBeLessThan(300);
        uploaded.push({ partNumber: part.partNumber, etag: c.partEtag(part, res) });
      }
      const done = await complete(intent.body.file.id, { parts: uploaded });
      expect(done).toMatchObject({
        status: 200,
        body: { file: { status: "committed", size, sha256: sha(bytes) } },
      });
      expect((await download(key)).equals(bytes)).toBe(true);
    });

    it("abort of a multipart intent removes its uploaded parts", async () => {
      const key = "multi/aborted.bin";
      const { size, partSize } = c.multipart;
      const intent = await create({
        key,
        size,
        contentType: "application/octet-stream",
        multipart: { partSize },
      });
      expect(intent.status).toBe(201);
      const { uploadId, parts } = intent.body.upload;
      expect((await send(parts[0], randomBytes(partSize))).status).toBeLessThan(300);
      expect((await backend.listParts(key, uploadId)).map((p) => p.partNumber)).toEqual([1]);

      const aborted = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`);
      expect(aborted.status).toBe(200);
      expect(aborted.body.file.status).toBe("deleted");
      // Gone: the upload is unknown to the backend, or it has no parts left.
      expect(await backend.listParts(key, uploadId).catch(() => [])).toEqual([]);
      expect(await backend.head(key)).toBeUndefined();
    });

    it(`a form upload intent answers ${c.form}`, async () => {
      const res = await create({
        key: "form/f.txt",
        size: 4,
        contentType: "text/plain",
        method: "POST",
      });
      if (c.form === "fields") {
        expect(res.status).toBe(201);
        expect(res.body.upload).toMatchObject({ method: "POST", fields: { key: "form/f.txt" } });
      } else {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("constraint_not_enforceable");
      }
    });
  });
}
