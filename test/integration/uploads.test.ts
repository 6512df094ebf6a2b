/** Issue 5: files and upload intents on the embedded store, single PUT and multipart. */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  startSignet,
  UNREACHABLE_S3_ENV,
  unreachableS3,
} from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("base64");

describe("upload intents", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        grants: [
          {
            principal: "role:user",
            buckets: ["default"],
            prefix: "kyc/${sub}",
            actions: ["read", "write", "delete"],
            require: { contentLengthMax: 100_000 },
          },
        ],
      },
    });
  });
  afterAll(() => h.close());

  const create = (
    body: Record<string, unknown>,
    key?: string | null,
    headers?: Record<string, string>,
  ) =>
    fetch(`${h.url}/v1/uploads`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${key === undefined ? "test-admin-key-0123456789abcdef0" : key}`,
        ...headers,
      },
      body: JSON.stringify({ bucket: "default", ...body }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const complete = (id: string, body: unknown = {}, headers?: Record<string, string>) =>
    fetch(`${h.url}/v1/uploads/${id}/complete`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer test-admin-key-0123456789abcdef0",
        ...headers,
      },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it("create → upload → complete → committed", async () => {
    const bytes = Buffer.from("an identity document");
    const intent = await create({
      key: "docs/id.txt",
      size: bytes.length,
      sha256: sha(bytes),
      contentType: "text/plain",
    });
    expect(intent.status).toBe(201);
    expect(intent.body.file).toMatchObject({
      status: "pending",
      bucket: "default",
      key: "docs/id.txt",
      size: bytes.length,
    });
    expect(intent.body.file.id).toMatch(/^f_[A-Za-z0-9_-]{22}$/);
    expect(intent.body.file.id).not.toContain("docs");
    expect(intent.body.upload.enforcedBy).toMatchObject({
      contentLength: "backend",
      contentType: "backend",
      checksumSha256: "backend",
    });
    const up = await fetch(intent.body.upload.url, {
      method: "PUT",
      body: bytes,
      headers: { "content-type": "text/plain" },
    });
    expect(up.status).toBe(200);
    const done = await complete(intent.body.file.id);
    expect(done.status).toBe(200);
    expect(done.body.file).toMatchObject({ status: "committed", sha256: sha(bytes) });
    expect(done.body.file.etag).toMatch(/^"/);
    expect((await api(h.url, "GET", `/v1/files/${intent.body.file.id}`)).body.status).toBe(
      "committed",
    );
    // After commit the intent's URL no longer works.
    const again = await fetch(intent.body.upload.url, {
      method: "PUT",
      body: bytes,
      headers: { "content-type": "text/plain" },
    });
    expect(again.status).toBe(403);
    // Complete twice: 200 with the same file (complete is idempotent), nothing changed.
    const twice = await complete(intent.body.file.id);
    expect(twice.status).toBe(200);
    expect(twice.body.file).toEqual(done.body.file);
    expect((await api(h.url, "GET", `/v1/files/${intent.body.file.id}`)).body.etag).toBe(
      done.body.file.etag,
    );
  });

  it("prefix + name joins under the folder rule", async () => {
    const intent = await create({
      prefix: "in/box",
      name: "a.txt",
      size: 1,
      contentType: "text/plain",
    });
    expect(intent.body.file.key).toBe("in/box/a.txt");
    expect(
      (await create({ prefix: "in", name: "../x", size: 1, contentType: "text/plain" })).status,
    ).toBe(400);
    expect(
      (await create({ key: "k", prefix: "in", name: "x", size: 1, contentType: "text/plain" }))
        .status,
    ).toBe(400);
  });

  it("complete before upload is 409 and leaves the intent pending", async () => {
    const intent = await create({ key: "early.txt", size: 3, contentType: "text/plain" });
    const res = await complete(intent.body.file.id);
    expect(res.status).toBe(409);
    expect((await api(h.url, "GET", `/v1/files/${intent.body.file.id}`)).body.status).toBe(
      "pending",
    );
  });

  it("wrong bytes are never committed: the object is removed and the intent stays pending", async () => {
    const intent = await create({ key: "wrong.txt", size: 5, contentType: "text/plain" });
    // Sneak other bytes into the intent's staging key (its own URL would refuse them).
    const staging = `.signet-staging/${intent.body.file.id}`;
    await h.signet.objects.store.put(
      "default",
      staging,
      Readable.from([Buffer.from("123456789")]),
      {
        contentType: "text/plain",
      },
    );
    const res = await complete(intent.body.file.id);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/size is 9, not 5/);
    expect(await h.signet.objects.store.head("default", staging)).toBeUndefined();
    expect(await h.signet.objects.store.head("default", "wrong.txt")).toBeUndefined();
    expect((await api(h.url, "GET", `/v1/files/${intent.body.file.id}`)).body.status).toBe(
      "pending",
    );
  });

  it("a sha256 mismatch is 409 and commits nothing", async () => {
    const intent = await create({
      key: "sum.txt",
      size: 5,
      sha256: sha("right"),
      contentType: "text/plain",
    });
    await h.signet.objects.store.put(
      "default",
      `.signet-staging/${intent.body.file.id}`,
      Readable.from([Buffer.from("wrong")]),
      { contentType: "text/plain" },
    );
    const res = await complete(intent.body.file.id);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/sha256/);
  });

  it("multipart: 3 parts, one retried, then complete assembles the object", async () => {
    const bytes = Buffer.from(Array.from({ length: 25_000 }, (_, i) => (i * 7) % 256));
    const intent = await create({
      key: "big/blob.bin",
      size: bytes.length,
      sha256: sha(bytes),
      contentType: "application/octet-stream",
      multipart: { partSize: 10_000 },
    });
    expect(intent.status).toBe(201);
    const { parts, uploadId } = intent.body.upload;
    expect(
      parts.map((p: any) => [p.partNumber, p.start, p.end, p.headers["content-length"]]),
    ).toEqual([
      [1, 0, 9999, "10000"],
      [2, 10000, 19999, "10000"],
      [3, 20000, 24999, "5000"],
    ]);
    expect(parts[0].url).toContain(`uploadId=${uploadId}`);
    const etags: string[] = [];
    for (const part of parts) {
      const slice = bytes.subarray(part.start, part.end + 1);
      if (part.partNumber === 2) {
        // The first try is cut short and refused; the retry replaces nothing but itself.
        expect((await fetch(part.url, { method: "PUT", body: slice.subarray(0, 10) })).status).toBe(
          403,
        );
      }
      const res = await fetch(part.url, { method: "PUT", body: slice });
      expect(res.status).toBe(200);
      etags.push(res.headers.get("etag")!);
    }
    // A part URL is refused for another part and as a plain PUT.
    expect(
      (
        await fetch(parts[0].url.replace("partNumber=1", "partNumber=2"), {
          method: "PUT",
          body: bytes.subarray(0, 10_000),
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await fetch(parts[0].url.replace(/uploadId=[^&]+&partNumber=1&/, ""), {
          method: "PUT",
          body: bytes.subarray(0, 10_000),
        })
      ).status,
    ).toBe(403);
    const missing = await complete(intent.body.file.id, {
      parts: [
        { partNumber: 1, etag: etags[0] },
        { partNumber: 3, etag: etags[2] },
      ],
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: "invalid_part", field: "parts" });
    const done = await complete(intent.body.file.id, {
      parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    });
    expect(done.status).toBe(200);
    expect(done.body.file).toMatchObject({
      status: "committed",
      size: bytes.length,
      sha256: sha(bytes),
    });
    const get = await h.admin.presign({ bucket: "default", key: "big/blob.bin", method: "GET" });
    expect(Buffer.from(await (await fetch(get.url)).arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("contentType defaults from the key's extension (as signet put guesses), else octet-stream", async () => {
    for (const [body, type] of [
      [{ key: "guess/report.pdf" }, "application/pdf"],
      [{ prefix: "guess", name: "photo.PNG" }, "image/png"],
      [{ key: "guess/no-extension" }, "application/octet-stream"],
      [{ key: "guess/given.pdf", contentType: "text/plain" }, "text/plain"],
    ] as const) {
      const intent = await create({ size: 3, ...body });
      expect(intent.status, JSON.stringify(intent.body)).toBe(201);
      expect(intent.body.file.contentType).toBe(type);
      expect(intent.body.upload.headers["content-type"]).toBe(type);
    }
  });

  it("fresh part requests bind what the intent's own do: each part's bounds and length", async () => {
    const intent = await create({
      key: "parts/fresh.bin",
      size: 25,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    expect(intent.status).toBe(201);
    const id = intent.body.file.id as string;
    const signParts = (partNumbers: number[]) =>
      fetch(`${h.url}/v1/uploads/${id}/parts`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: "Bearer test-admin-key-0123456789abcdef0",
        },
        body: JSON.stringify({ partNumbers }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const fresh = await signParts([3, 1, 2]);
    expect(fresh.status).toBe(200);
    const own = new Map<number, any>(intent.body.upload.parts.map((p: any) => [p.partNumber, p]));
    for (const part of fresh.body.parts) {
      const before = own.get(part.partNumber);
      expect([part.start, part.end]).toEqual([before.start, before.end]);
      expect(part.headers["content-length"]).toBe(before.headers["content-length"]);
      expect(Object.keys(part.enforcedBy).sort()).toEqual(Object.keys(before.enforcedBy).sort());
    }
    // The last part is 5 bytes: a fresh URL for it refuses 10, as the intent's own does.
    const last = fresh.body.parts[0];
    const tooLong = (url: string) => fetch(url, { method: "PUT", body: Buffer.alloc(10) });
    expect((await tooLong(own.get(3).url)).status).toBe(403);
    expect((await tooLong(last.url)).status).toBe(403);
    expect((await fetch(last.url, { method: "PUT", body: Buffer.alloc(5) })).status).toBe(200);
    const past = await signParts([4]);
    expect(past.status).toBe(400);
    expect(past.body.error).toMatchObject({ code: "invalid_part", field: "partNumbers" });
    expect(past.body.error.message).toBe("the upload has 3 parts: there is no part 4");
  });

  it("fresh part requests pass a grant's require as the intent did; a refusal signs no part", async () => {
    const { key: carol } = await h.admin.apiKeys.create({ name: "c", role: "user" });
    const carolId = carol.split("_")[1];
    const intent = await create(
      {
        key: `kyc/key:${carolId}/parts.bin`,
        size: 25,
        contentType: "application/octet-stream",
        multipart: { partSize: 10 },
      },
      carol,
    );
    expect(intent.status).toBe(201);
    const id = intent.body.file.id as string;
    // The grant requires a contentLength (at most 100,000): the part's own is bound.
    const fresh = await api(h.url, "POST", `/v1/uploads/${id}/parts`, { partNumbers: [3] }, carol);
    expect(fresh.status).toBe(200);
    expect(fresh.body.parts[0]).toMatchObject({ partNumber: 3, start: 20, end: 24 });
    expect(fresh.body.parts[0].headers["content-length"]).toBe("5");
    expect(Object.keys(fresh.body.parts[0].enforcedBy).sort()).toEqual(
      Object.keys(intent.body.upload.parts[2].enforcedBy).sort(),
    );
    // Parts 1 and 2 are fine, 4 is past the end: nothing is signed (nor audited as issued).
    const parts = (outcome = "allowed") =>
      api(
        h.url,
        "GET",
        `/v1/audit?action=upload.part&outcome=${outcome}&principal=${encodeURIComponent(`key:${carolId}`)}`,
      ).then((r) => r.body.items.length as number);
    const before = await parts();
    const past = await api(
      h.url,
      "POST",
      `/v1/uploads/${id}/parts`,
      { partNumbers: [1, 2, 4] },
      carol,
    );
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe("invalid_part");
    expect(await parts()).toBe(before);
    // The refusal itself is audited, once.
    expect(await parts("refused")).toBe(1);
  });

  it("a part of the wrong size is refused at complete", async () => {
    const intent = await create({
      key: "parts/wrong.bin",
      size: 20,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    const [first, second] = intent.body.upload.parts;
    // Write a short part through the embedded multipart directly, as a misbehaving backend would.
    const backend = h.signet.buckets.get("default")!.backend as any;
    const staging = `.signet-staging/${intent.body.file.id}`;
    await backend.multipart.putPart(
      "default",
      staging,
      intent.body.upload.uploadId,
      1,
      Readable.from([Buffer.alloc(7)]),
      {},
    );
    await fetch(second.url, { method: "PUT", body: Buffer.alloc(10) });
    const parts = await backend.listParts(staging, intent.body.upload.uploadId);
    const res = await complete(intent.body.file.id, {
      parts: parts.map((p: any) => ({ partNumber: p.partNumber, etag: p.etag })),
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/part 1 has 7 bytes, not 10/);
    void first;
  });

  // Each signing read the intent's token list and wrote it back whole: of calls at once, the last
  // write won and the others' part URLs were never revoked.
  it("part URLs signed at once, and one signed while the intent ends, are all revoked", async () => {
    const intent = await create({
      key: "gone/racing.bin",
      size: 40,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    const id = intent.body.file.id as string;
    const sign = (n: number) => api(h.url, "POST", `/v1/uploads/${id}/parts`, { partNumbers: [n] });
    const signed = await Promise.all([1, 2, 3, 4, 1, 2, 3, 4].map(sign));
    const urls = signed.map((res) => {
      expect(res.status).toBe(200);
      return res.body.parts[0].url as string;
    });
    // One more signing races the abort: its URL is refused too, or it was never handed out.
    const [late, aborted] = await Promise.all([
      sign(1),
      api(h.url, "POST", `/v1/uploads/${id}/abort`),
    ]);
    expect(aborted.status).toBe(200);
    if (late.status === 200) urls.push(late.body.parts[0].url as string);
    else expect(late.status).toBe(404);
    for (const url of urls) {
      const res = await fetch(url, { method: "PUT", body: Buffer.alloc(10) });
      expect(res.status, url.slice(-12)).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("token_revoked");
    }
  });

  it("abort removes partial data; abandoned intents are swept with their data", async () => {
    const intent = await create({
      key: "gone/part.bin",
      size: 20,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    await fetch(intent.body.upload.parts[0].url, { method: "PUT", body: Buffer.alloc(10) });
    const aborted = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`);
    expect(aborted.status).toBe(200);
    expect(aborted.body.file.status).toBe("deleted");
    // Abort is idempotent, like complete: the same answer again.
    const again = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/abort`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(aborted.body);
    // Every part URL of the intent is refused from then on, not only the one used.
    for (const part of intent.body.upload.parts as { url: string }[]) {
      const late = await fetch(part.url, { method: "PUT", body: Buffer.alloc(10) });
      expect(late.status).toBe(403);
      expect(((await late.json()) as { error: { code: string } }).error.code).toBe("token_revoked");
    }
    expect(
      await h.signet.db
        .selectFrom("local_parts")
        .selectAll()
        .where("upload_id", "=", intent.body.upload.uploadId)
        .execute(),
    ).toEqual([]);

    const abandoned = await create({
      key: "gone/single.txt",
      size: 4,
      contentType: "text/plain",
      expiresIn: 60,
    });
    await fetch(abandoned.body.upload.url, {
      method: "PUT",
      body: "data",
      headers: { "content-type": "text/plain" },
    });
    expect(await h.signet.uploads.sweep(new Date(Date.now() + 30 * 60_000))).toBeGreaterThanOrEqual(
      1,
    );
    expect(await h.signet.objects.store.head("default", "gone/single.txt")).toBeUndefined();
    expect(
      await h.signet.objects.store.head("default", `.signet-staging/${abandoned.body.file.id}`),
    ).toBeUndefined();
    expect((await api(h.url, "GET", `/v1/files/${abandoned.body.file.id}`)).body.status).toBe(
      "deleted",
    );
  });

  it("Idempotency-Key makes create and complete safe to retry", async () => {
    const body = { key: "idem.txt", size: 2, contentType: "text/plain" };
    const first = await create(body, undefined, { "idempotency-key": "abc-1" });
    const second = await create(body, undefined, { "idempotency-key": "abc-1" });
    expect(second.status).toBe(201);
    expect(second.body.file.id).toBe(first.body.file.id);
    expect(
      (await create({ ...body, size: 3 }, undefined, { "idempotency-key": "abc-1" })).status,
    ).toBe(409);
    await fetch(first.body.upload.url, {
      method: "PUT",
      body: "hi",
      headers: { "content-type": "text/plain" },
    });
    const done = await complete(first.body.file.id, {}, { "idempotency-key": "c-1" });
    const replay = await complete(first.body.file.id, {}, { "idempotency-key": "c-1" });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(done.body);
  });

  it("files: only principals with matching grants see or touch them (404 otherwise)", async () => {
    const { key: alice } = await h.admin.apiKeys.create({ name: "a", role: "user" });
    const aliceId = alice.split("_")[1];
    const own = await create(
      { key: `kyc/key:${aliceId}/x.txt`, size: 1, contentType: "text/plain" },
      alice,
    );
    expect(own.status).toBe(201);
    const { key: bob } = await h.admin.apiKeys.create({ name: "b", role: "user" });
    expect((await api(h.url, "GET", `/v1/files/${own.body.file.id}`, undefined, bob)).status).toBe(
      404,
    );
    expect(
      (await api(h.url, "GET", "/v1/files/f_AAAAAAAAAAAAAAAAAAAAAA", undefined, bob)).status,
    ).toBe(404);
    expect(
      (await api(h.url, "POST", `/v1/uploads/${own.body.file.id}/complete`, {}, bob)).status,
    ).toBe(404);
    expect(
      (await api(h.url, "GET", `/v1/files/${own.body.file.id}`, undefined, alice)).status,
    ).toBe(200);
    const listed = await api(h.url, "GET", "/v1/files?bucket=default", undefined, alice);
    expect(listed.body.items.map((f: any) => f.id)).toEqual([own.body.file.id]);
    expect(
      (await api(h.url, "GET", "/v1/files?bucket=default", undefined, bob)).body.items,
    ).toEqual([]);
    expect(
      (
        await create(
          { key: `kyc/key:${aliceId}/big.bin`, size: 200_000, contentType: "text/plain" },
          alice,
        )
      ).status,
    ).toBe(403);
    expect(
      (await api(h.url, "DELETE", `/v1/files/${own.body.file.id}`, undefined, alice)).status,
    ).toBe(204);
    expect(
      (await api(h.url, "GET", `/v1/files/${own.body.file.id}`, undefined, alice)).body.status,
    ).toBe("deleted");
  });

  it.each([
    [{ key: "k", contentType: "text/plain" }, "size"],
    [{ key: "k", size: -1, contentType: "text/plain" }, "size"],
    [{ key: "k", size: 1, contentType: "nope" }, "contentType"],
    [{ key: "k", size: 1, contentType: "text/plain", sha256: "x" }, "sha256"],
    [
      { key: "k", size: 1, contentType: "text/plain", multipart: { partSize: 0 } },
      "multipart.partSize",
    ],
    [
      { key: "k", size: 100_000, contentType: "text/plain", multipart: { partSize: 1 } },
      "multipart.partSize",
    ],
  ])("400 for %j", async (body, field) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });
});

describe("an intent whose backend is down", () => {
  it("answers 503 at complete and stays pending", async () => {
    const h = await startSignet({
      config: {
        buckets: {
          default: { backend: "local" },
          far: unreachableS3("far"),
        },
      },
      env: UNREACHABLE_S3_ENV,
    });
    try {
      const intent = await api(h.url, "POST", "/v1/uploads", {
        bucket: "far",
        key: "x.bin",
        size: 3,
        contentType: "application/octet-stream",
      });
      expect(intent.status).toBe(201);
      const res = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {});
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("backend_unavailable");
      expect((await api(h.url, "GET", `/v1/files/${intent.body.file.id}`)).body.status).toBe(
        "pending",
      );
    } finally {
      await h.close();
    }
  });
});

describe("form upload intents", () => {
  it("an intent with method POST answers a form; the upload commits after complete", async () => {
    const h = await startSignet();
    try {
      const bytes = "form bytes";
      const intent = await api(h.url, "POST", "/v1/uploads", {
        bucket: "default",
        key: "forms/f.txt",
        size: bytes.length,
        sha256: sha(bytes),
        contentType: "text/plain",
        method: "POST",
      });
      expect(intent.status).toBe(201);
      // The form posts to the intent's own staging key; complete moves it to forms/f.txt.
      expect(intent.body.upload).toMatchObject({
        method: "POST",
        fields: { key: `.signet-staging/${intent.body.file.id}` },
      });
      const form = new FormData();
      for (const [name, value] of Object.entries(intent.body.upload.fields))
        form.append(name, value as string);
      form.append("file", new Blob([bytes], { type: "text/plain" }), "f.txt");
      expect((await fetch(intent.body.upload.url, { method: "POST", body: form })).status).toBe(
        204,
      );
      const done = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {});
      expect(done.status).toBe(200);
      expect(done.body.file.status).toBe("committed");
      // A form of another length is refused by the policy itself.
      const other = await api(h.url, "POST", "/v1/uploads", {
        bucket: "default",
        key: "forms/g.txt",
        size: 3,
        contentType: "text/plain",
        method: "POST",
      });
      const tooLong = new FormData();
      for (const [name, value] of Object.entries(other.body.upload.fields))
        tooLong.append(name, value as string);
      tooLong.append("file", new Blob(["four"], { type: "text/plain" }), "g.txt");
      expect((await fetch(other.body.upload.url, { method: "POST", body: tooLong })).status).toBe(
        403,
      );
      expect(
        (
          await api(h.url, "POST", "/v1/uploads", {
            bucket: "default",
            key: "x",
            size: 3,
            contentType: "text/plain",
            method: "POST",
            multipart: { partSize: 1 },
          })
        ).status,
      ).toBe(400);
    } finally {
      await h.close();
    }
  });
});
