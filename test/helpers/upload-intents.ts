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
import { Readable } from "node:stream";
import { ADMIN_KEY, type Harness, startSignet } from "./harness.js";
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
  /**
   * whether a single PUT is a direct URL of the provider, a link (Swift: a PUT signature lets
   * HEAD through), or the embedded store's own URL
   */
  putVia: "direct" | "link" | "embedded";
  /** a multipart upload: its size and part size, within the provider's minimums */
  multipart: { size: number; partSize: number };
  /** the etag complete takes for an uploaded part */
  partEtag(part: { url: string }, res: Response): string;
  /** a form upload intent: a form with fields, or refused as the backend has none */
  form: "fields" | "constraint_not_enforceable";
  /** a file's URL is pinned to its committed version (embedded blob id, GCS generation) */
  pinsVersion?: true;
}

/** The bucket's maxObjectSize in these tests: above every upload they make. */
const MAX_OBJECT = 64 * 1024 * 1024;

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
      h = await startSignet({
        config: {
          buckets: { cloud: { ...peer.config, maxObjectSize: MAX_OBJECT } },
          // A writer who may not delete: files others committed are out of its reach.
          grants: [{ principal: "role:user", buckets: ["cloud"], prefix: "w", actions: ["write"] }],
        },
        env: peer.env,
      });
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
      if (c.putVia !== "embedded")
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

      // Complete is idempotent: again, and with no body at all, the same committed file.
      const twice = await complete(intent.body.file.id);
      expect(twice).toMatchObject({ status: 200, body: { file: done.body.file } });
      const bare = await fetch(`${h.url}/v1/uploads/${intent.body.file.id}/complete`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(bare.status).toBe(200);
      expect(((await bare.json()) as any).file).toEqual(done.body.file);
    });

    it("an upload outside the intent's bounds is deleted at complete, never committed", async () => {
      const key = "bounds/x.bin";
      const intent = await create({ key, size: 10, contentType: "application/octet-stream" });
      expect(intent.status).toBe(201);
      const other = randomBytes(17);
      const staging = `.signet-staging/${intent.body.file.id}`;
      if (c.binds.contentLength === "backend") {
        // The provider itself refuses another length on the intent's URL...
        expect((await send(intent.body.upload, other)).status).toBe(403);
        // ...so the other bytes are put in its staging key with Signet's own credentials.
        await backend.put(staging, Readable.from([other]), {
          contentType: "application/octet-stream",
          contentLength: other.length,
        });
      } else {
        expect((await send(intent.body.upload, other)).status).toBeLessThan(300);
      }
      // Pending bytes never sit at the file's key.
      expect(await backend.head(key)).toBeUndefined();
      expect((await backend.head(staging))?.size).toBe(17);

      const res = await complete(intent.body.file.id);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/size is 17, not 10/);
      expect(await backend.head(staging)).toBeUndefined();
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
      const staging = `.signet-staging/${intent.body.file.id}`;
      expect((await backend.listParts(staging, uploadId)).map((p) => p.partNumber)).toEqual([1]);

      const aborted = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`);
      expect(aborted.status).toBe(200);
      expect(aborted.body.file.status).toBe("deleted");
      // Gone: the upload is unknown to the backend, or it has no parts left.
      expect(await backend.listParts(staging, uploadId).catch(() => [])).toEqual([]);
      expect(await backend.head(key)).toBeUndefined();
      expect(await backend.head(staging)).toBeUndefined();
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
        // The form posts to the intent's own staging key; complete moves it to form/f.txt.
        expect(res.body.upload).toMatchObject({
          method: "POST",
          fields: { key: `.signet-staging/${res.body.file.id}` },
        });
      } else {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("constraint_not_enforceable");
      }
    });

    // Issue 13: files stay true. Each repro of the issue, on this backend.
    describe("files stay true", () => {
      /** Creates, uploads and completes a single-PUT file; answers its committed info. */
      const commit = async (key: string, bytes: Buffer, extra: Record<string, unknown> = {}) => {
        const intent = await create({
          key,
          size: bytes.length,
          contentType: "text/plain",
          ...extra,
        });
        expect(intent.status).toBe(201);
        expect((await send(intent.body.upload, bytes)).status).toBeLessThan(300);
        const done = await complete(intent.body.file.id);
        expect(done.status).toBe(200);
        return done.body.file as { id: string; etag: string; sha256: string };
      };
      const redirect = (id: string) =>
        fetch(`${h.url}/r/${id}`, {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
          redirect: "manual",
        });

      it("a second file at a key is 409 naming the first; upsert supersedes it at commit", async () => {
        const key = "same/k.txt";
        const a = Buffer.from("bytes of A");
        const b = Buffer.from("B's bytes, longer");
        const first = await commit(key, a);
        const again = await create({ key, size: b.length, contentType: "text/plain" });
        expect(again.status).toBe(409);
        expect(again.body.error.code).toBe("conflict");
        expect(again.body.error.message).toContain(first.id);

        const intent = await create({
          key,
          size: b.length,
          contentType: "text/plain",
          upsert: true,
        });
        expect(intent.status).toBe(201);
        expect((await send(intent.body.upload, b)).status).toBeLessThan(300);
        // Not before the commit: the first file still serves A.
        expect((await download(key)).equals(a)).toBe(true);
        expect(await statusOf(first.id)).toBe("committed");
        const second = await complete(intent.body.file.id);
        expect(second.status).toBe(200);
        expect(await statusOf(first.id)).toBe("superseded");
        expect((await download(key)).equals(b)).toBe(true);
        expect((await redirect(first.id)).status).toBe(404);
        expect((await redirect(second.body.file.id)).status).toBe(302);
        // Deleting the superseded record never touches the current bytes.
        expect((await api(h.url, "DELETE", `/v1/files/${first.id}`)).status).toBe(204);
        expect((await download(key)).equals(b)).toBe(true);
        expect(await statusOf(second.body.file.id)).toBe("committed");
      });

      it("an aborted or swept upsert never changes the committed bytes", async () => {
        const key = "same/abort.txt";
        const a = Buffer.from("committed A");
        await commit(key, a);
        for (const end of ["abort", "sweep"] as const) {
          const other = Buffer.from(`other bytes, ${end}`);
          const intent = await create({
            key,
            size: other.length,
            contentType: "text/plain",
            upsert: true,
            expiresIn: 60,
          });
          expect((await send(intent.body.upload, other)).status).toBeLessThan(300);
          if (end === "abort")
            expect(
              (await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`)).status,
            ).toBe(200);
          else await h.signet.uploads.sweep(new Date(Date.now() + 30 * 60_000));
          expect(await statusOf(intent.body.file.id)).toBe("deleted");
          expect((await download(key)).equals(a)).toBe(true);
        }
      });

      it("a writer without delete cannot reach a committed file: no intent, no raw PUT or DELETE", async () => {
        const key = "w/victim.txt";
        const a = Buffer.from("victim");
        const file = await commit(key, a);
        const { key: writer } = await h.admin.apiKeys.create({ name: "w", role: "user" });
        // A DELETE is outside the writer's grant...
        const del = await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "cloud", key, method: "DELETE" },
          writer,
        );
        expect(del.status).toBe(403);
        // ...and an intent at the key is 409 (size 1, complete without upload: nothing deleted).
        const intent = await api(
          h.url,
          "POST",
          "/v1/uploads",
          { bucket: "cloud", key, size: 1, contentType: "text/plain" },
          writer,
        );
        expect(intent.status).toBe(409);
        expect(intent.body.error.message).toContain(file.id);
        // upsert needs delete too.
        const upsert = await api(
          h.url,
          "POST",
          "/v1/uploads",
          { bucket: "cloud", key, size: 1, contentType: "text/plain", upsert: true },
          writer,
        );
        expect(upsert.status).toBe(403);
        // A raw PUT at the key is 409; a raw DELETE too, even for the admin.
        const put = await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "cloud", key, method: "PUT" },
          writer,
        );
        expect(put.status).toBe(409);
        const adminDelete = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "DELETE",
        });
        expect(adminDelete).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
        // An intent of the writer elsewhere: complete without upload, abort: nothing else goes.
        const own = await api(
          h.url,
          "POST",
          "/v1/uploads",
          { bucket: "cloud", key: "w/own.txt", size: 1, contentType: "text/plain" },
          writer,
        );
        expect(own.status).toBe(201);
        expect(
          (await api(h.url, "POST", `/v1/uploads/${own.body.file.id}/complete`, {}, writer)).status,
        ).toBe(409);
        expect((await download(key)).equals(a)).toBe(true);
        expect(await statusOf(file.id)).toBe("committed");
      });

      it("complete, abort and sweep never delete an object the intent did not write", async () => {
        // An object no file holds (written outside intents): an intent there may be made...
        const key = "w/loose.txt";
        const loose = Buffer.from("loose object");
        await backend.put(key, Readable.from([loose]), {
          contentType: "text/plain",
          contentLength: loose.length,
        });
        for (const end of ["complete", "abort", "sweep"] as const) {
          const intent = await create({ key, size: 1, contentType: "text/plain", expiresIn: 60 });
          expect(intent.status).toBe(201);
          // ...and completing it without an upload, aborting or sweeping it deletes nothing.
          if (end === "complete") expect((await complete(intent.body.file.id)).status).toBe(409);
          if (end === "abort")
            expect(
              (await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`)).status,
            ).toBe(200);
          else await h.signet.uploads.sweep(new Date(Date.now() + 30 * 60_000));
          expect((await download(key)).equals(loose)).toBe(true);
        }
      });

      it("a commit racing an upsert's cannot replace the file the upsert committed", async () => {
        // A writer's intent (no upsert, no delete) passes the key check at complete, then its
        // promote is slow; meanwhile an upsert commits at the key. The writer's commit must not
        // then supersede that file, nor its bytes replace the committed ones.
        const key = "w/race.txt";
        const { key: writer } = await h.admin.apiKeys.create({ name: "racer", role: "user" });
        const mine = Buffer.from("mine");
        const theirs = Buffer.from("ups!");
        const a = await api(
          h.url,
          "POST",
          "/v1/uploads",
          { bucket: "cloud", key, size: mine.length, contentType: "text/plain" },
          writer,
        );
        expect(a.status).toBe(201);
        const u = await create({
          key,
          size: theirs.length,
          contentType: "text/plain",
          upsert: true,
        });
        expect(u.status).toBe(201);
        expect((await send(a.body.upload, mine)).status).toBeLessThan(300);
        expect((await send(u.body.upload, theirs)).status).toBeLessThan(300);
        // The writer's promote waits until the upsert has had its turn.
        const original = backend.promote;
        const promote = original.bind(backend);
        let entered!: () => void;
        const inPromote = new Promise<void>((resolve) => (entered = resolve));
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let first = true;
        backend.promote = async (from, to, checked) => {
          if (first && to === key) {
            first = false;
            entered();
            await gate;
          }
          return promote(from, to, checked);
        };
        try {
          const writerDone = api(
            h.url,
            "POST",
            `/v1/uploads/${a.body.file.id}/complete`,
            {},
            writer,
          );
          await inPromote;
          const upsertDone = await complete(u.body.file.id);
          release();
          const w = await writerDone;
          // The upsert waits its turn (409, retried once the writer is done) or commits first;
          // either way the writer may not replace what it committed.
          const retried = upsertDone.status === 409 ? await complete(u.body.file.id) : upsertDone;
          expect(retried.status).toBe(200);
          expect(await statusOf(u.body.file.id)).toBe("committed");
          expect((await download(key)).equals(theirs)).toBe(true);
          if (w.status !== 200)
            expect(w).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
        } finally {
          release();
          backend.promote = original;
        }
      });

      it("a write URL signed before a file takes its key never changes or deletes that file", async () => {
        // Raw URLs signed while the key was free (a writer's PUT, an admin's DELETE, a share's
        // 307 target): where Signet sees each use it refuses them once a file holds the key;
        // where it cannot (a provider's own URL), no file may take the key while they live.
        const key = "w/early.txt";
        const { key: writer } = await h.admin.apiKeys.create({ name: "early", role: "user" });
        const put = await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "cloud", key, method: "PUT", expiresIn: 600 },
          writer,
        );
        expect(put.status).toBe(200);
        const del = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "DELETE",
          expiresIn: 600,
        });
        expect(del.status).toBe(200);
        const share = await api(h.url, "POST", "/v1/shares", {
          bucket: "cloud",
          prefix: "w/early-share",
          methods: ["PUT"],
        });
        expect(share.status).toBe(201);
        const sharedKey = "w/early-share/x.txt";
        const viaShare = await fetch(`${share.body.url.replace(/\/$/, "")}/x.txt`, {
          method: "PUT",
          body: "early",
          redirect: "manual",
        });
        expect(viaShare.status).toBeLessThan(400);
        const target = viaShare.status === 307 ? viaShare.headers.get("location") : null;

        const good = Buffer.from("good");
        const committed: { key: string; id: string }[] = [];
        for (const k of [key, sharedKey]) {
          const intent = await create({ key: k, size: good.length, contentType: "text/plain" });
          if (intent.status !== 201) {
            expect(intent).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
            continue;
          }
          expect((await send(intent.body.upload, good)).status).toBeLessThan(300);
          const done = await complete(intent.body.file.id);
          if (done.status === 200) committed.push({ key: k, id: intent.body.file.id });
          else expect(done).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
        }
        // Signet's own URLs are checked when used: they never keep a file from the key.
        if (c.putVia === "embedded") expect(committed).toHaveLength(2);
        // The early URLs are used now.
        await send(put.body, Buffer.from("evil"));
        await fetch(del.body.url, { method: "DELETE", headers: del.body.headers });
        if (target !== null) await fetch(target, { method: "PUT", body: "evil" });
        for (const file of committed) {
          expect(await statusOf(file.id)).toBe("committed");
          expect((await download(file.key)).equals(good)).toBe(true);
        }
      });

      it("batch presign applies the same rule to each request", async () => {
        const key = "batch/held.txt";
        const file = await commit(key, Buffer.from("held"));
        const res = await api(h.url, "POST", "/v1/presign/batch", {
          requests: [
            { bucket: "cloud", key, method: "PUT" },
            { bucket: "cloud", key, method: "DELETE" },
            { bucket: "cloud", key, method: "GET" },
          ],
        });
        expect(res.status).toBe(200);
        const [put, del, get] = res.body.results;
        expect(put).toMatchObject({ ok: false, error: { code: "conflict" } });
        expect(put.error.message).toContain(file.id);
        expect(del).toMatchObject({ ok: false, error: { code: "conflict" } });
        expect(get.ok).toBe(true);
      });

      it("folder URLs that write check each key when used (shares in redirect mode too)", async () => {
        const held = "fold/held.txt";
        const file = await commit(held, Buffer.from("held"));
        if (c.putVia !== "embedded") {
          // A direct cloud folder URL would let the client pick the key unchecked.
          const direct = await api(h.url, "POST", "/v1/presign", {
            bucket: "cloud",
            prefix: "fold",
            method: "PUT",
            delivery: "direct",
          });
          expect(direct).toMatchObject({
            status: 400,
            body: { error: { code: "constraint_not_enforceable" } },
          });
        }
        const folder = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          prefix: "fold",
          method: "PUT",
        });
        expect(folder.status).toBe(200);
        // A share's template takes the key relative to its folder, /o's the whole key.
        const template: string = folder.body.objectUrlTemplate;
        const at = (key: string) =>
          template.replace("{key}", template.includes("/s/") ? key.slice("fold/".length) : key);
        const over = await fetch(at(held), { method: "PUT", body: "evil" });
        expect(over.status).toBe(409);
        for (const mode of ["redirect", "proxy"] as const) {
          const share = await api(h.url, "POST", "/v1/shares", {
            bucket: "cloud",
            prefix: "fold",
            methods: ["PUT", "DELETE"],
            mode,
          });
          expect(share.status).toBe(201);
          const url = `${share.body.url.replace(/\/$/, "")}/held.txt`;
          const put = await fetch(url, { method: "PUT", body: "evil", redirect: "manual" });
          expect(put.status).toBe(409);
          const del = await fetch(url, { method: "DELETE", redirect: "manual" });
          expect(del.status).toBe(409);
        }
        expect((await download(held)).toString()).toBe("held");
        expect(await statusOf(file.id)).toBe("committed");
      });

      it("a raw PUT with upsert: true supersedes the file at issuance", async () => {
        const key = "raw/upsert.txt";
        const file = await commit(key, Buffer.from("first"));
        const put = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "PUT",
          upsert: true,
        });
        expect(put.status).toBe(200);
        expect(await statusOf(file.id)).toBe("superseded");
        // A raw DELETE at a key no file holds is not refused.
        const del = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "DELETE",
        });
        expect(del.status).toBe(200);
      });

      it("a multipart intent's size is checked against the bucket's maxObjectSize", async () => {
        const { partSize } = c.multipart;
        const res = await create({
          key: "big/too.bin",
          size: MAX_OBJECT + 1,
          contentType: "application/octet-stream",
          multipart: { partSize: Math.max(partSize, Math.ceil((MAX_OBJECT + 1) / 9000)) },
        });
        expect(res.status).toBe(413);
        expect(res.body.error.code).toBe("payload_too_large");
      });

      it("bytes changed behind Signet's back: the file answers 409 file_changed", async () => {
        const key = "changed/x.txt";
        const file = await commit(key, Buffer.from("original"));
        expect((await redirect(file.id)).status).toBe(302);
        await backend.put(key, Readable.from([Buffer.from("changed!!")]), {
          contentType: "text/plain",
          contentLength: 9,
        });
        const res = await redirect(file.id);
        expect(res.status).toBe(409);
        expect(((await res.json()) as any).error.code).toBe("file_changed");
        expect((await api(h.url, "GET", `/v1/files/${file.id}`)).body.changedAt).toMatch(/Z$/);
      });

      it.runIf(c.pinsVersion)(
        "a file's URL is pinned: bytes swapped after it was signed are refused",
        async () => {
          const key = "pinned/x.txt";
          const file = await commit(key, Buffer.from("committed"));
          const r = await redirect(file.id);
          expect(r.status).toBe(302);
          const location = r.headers.get("location")!;
          expect(await (await fetch(location)).text()).toBe("committed");
          await backend.put(key, Readable.from([Buffer.from("swapped!!")]), {
            contentType: "text/plain",
            contentLength: 9,
          });
          const after = await fetch(location);
          expect(after.status).toBeGreaterThanOrEqual(400);
          expect(await after.text()).not.toContain("swapped");
        },
      );

      it("If-None-Match: * and If-Match are enforced (412), never claimed where nobody checks", async () => {
        const key = "cond/x.txt";
        await backend.put(key, Readable.from([Buffer.from("exists")]), {
          contentType: "text/plain",
          contentLength: 6,
        });
        const create = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "PUT",
          contentType: "text/plain",
          headers: { "if-none-match": "*" },
        });
        expect(create.status).toBe(200);
        expect(create.body.enforcedBy.headers).toBe(c.putVia === "embedded" ? "backend" : "signet");
        const res = await send(create.body, Buffer.from("overwrite"));
        expect(res.status).toBe(412);
        expect((await download(key)).toString()).toBe("exists");
        const wrong = await api(h.url, "POST", "/v1/presign", {
          bucket: "cloud",
          key,
          method: "DELETE",
          headers: { "if-match": '"0123456789abcdef0123456789abcdef"' },
        });
        expect(wrong.status).toBe(200);
        expect((await send(wrong.body, Buffer.alloc(0))).status).toBe(412);
        expect((await download(key)).toString()).toBe("exists");
        if (c.putVia !== "embedded") {
          const direct = await api(h.url, "POST", "/v1/presign", {
            bucket: "cloud",
            key,
            method: "PUT",
            contentType: "text/plain",
            headers: { "if-none-match": "*" },
            delivery: "direct",
          });
          expect(direct.status).toBe(400);
          expect(direct.body.error.code).toBe("constraint_not_enforceable");
        }
      });
    });
  });
}
