/**
 * Issue 17: the embedded store keeps object rows and small blobs' bytes in memory (cache.ts).
 * Every write path that changes what a key serves must be seen by the next read: PUT, a
 * multipart completion, DELETE (data plane and file API alike); ranges are cut from the kept
 * bytes; and the same answers hold with the caches turned off.
 */
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBackend } from "../../src/backends/local/local.js";
import { openSqlite } from "../../src/db/connect.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const modes = [
  { name: "caches on (defaults)", env: {} },
  {
    name: "caches off",
    env: { SIGNET_CACHE_ROWS: "0", SIGNET_CACHE_BYTES: "0", SIGNET_CACHE_OPEN_FILES: "0" },
  },
  // Kept bytes only for blobs of at most 8 bytes: a larger object streams from its file.
  { name: "byte cache for tiny blobs only", env: { SIGNET_CACHE_OBJECT_MAX_BYTES: "8" } },
];

describe.each(modes)("reads after writes, $name", ({ env }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ env });
  });
  afterAll(() => h.close());

  const signed = async (key: string, method: "GET" | "PUT" | "DELETE") =>
    (await h.admin.presign({ bucket: "default", key, method })).url;
  const put = async (key: string, body: string) =>
    expect(
      (
        await fetch(await signed(key, "PUT"), {
          method: "PUT",
          body,
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(200);
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    return { status: res.status, body: await res.text(), etag: res.headers.get("etag") };
  };

  it("a PUT replacing an object is served at once, with its new ETag", async () => {
    await put("a.txt", "first");
    const url = await signed("a.txt", "GET");
    const first = await get(url);
    expect(first.body).toBe("first");
    expect((await get(url)).body).toBe("first"); // now from memory when the caches are on
    await put("a.txt", "second, longer");
    const second = await get(url);
    expect(second).toMatchObject({ status: 200, body: "second, longer" });
    expect(second.etag).not.toBe(first.etag);
  });

  it("a DELETE on the data plane is seen by the next GET", async () => {
    await put("gone.txt", "here");
    const url = await signed("gone.txt", "GET");
    expect((await get(url)).body).toBe("here");
    expect((await fetch(await signed("gone.txt", "DELETE"), { method: "DELETE" })).status).toBe(
      204,
    );
    expect((await get(url)).status).toBe(404);
    await put("gone.txt", "back again");
    expect((await get(url)).body).toBe("back again");
  });

  it("a delete through the backend (the file API's path) is seen by the next GET", async () => {
    await put("file.txt", "registered");
    const url = await signed("file.txt", "GET");
    expect((await get(url)).body).toBe("registered");
    await h.signet.buckets.get("default")!.backend.delete("file.txt");
    expect((await get(url)).status).toBe(404);
  });

  it("a multipart completion replacing an object is served at once", async () => {
    await put("mp.bin", "old bytes");
    const url = await signed("mp.bin", "GET");
    expect((await get(url)).body).toBe("old bytes");
    const backend = h.signet.buckets.get("default")!.backend as LocalBackend;
    const uploadId = await backend.createMultipart("mp.bin", { contentType: "text/plain" });
    const etags: string[] = [];
    for (const [i, text] of ["new ", "bytes"].entries())
      etags.push(
        (
          await backend.multipart.putPart(
            "default",
            "mp.bin",
            uploadId,
            i + 1,
            Readable.from([text]),
            {},
          )
        ).etag,
      );
    await backend.completeMultipart(
      "mp.bin",
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    expect((await get(url)).body).toBe("new bytes");
  });

  it("ranges and conditional GETs are answered from the same bytes", async () => {
    await put("r.txt", "0123456789abcdef");
    const url = await signed("r.txt", "GET");
    const whole = await get(url);
    expect((await get(url, { range: "bytes=2-5" })).body).toBe("2345");
    expect((await get(url, { range: "bytes=10-" })).body).toBe("abcdef");
    expect((await get(url, { range: "bytes=-3" })).body).toBe("def");
    expect((await get(url, { "if-none-match": whole.etag! })).status).toBe(304);
    const bound = (
      await h.admin.presign({ bucket: "default", key: "r.txt", method: "GET", range: "bytes=1-3" })
    ).url;
    expect(await get(bound)).toMatchObject({ status: 206, body: "123" });
  });

  it("an empty object is served empty", async () => {
    await put("empty.txt", "");
    const res = await get(await signed("empty.txt", "GET"));
    expect(res).toMatchObject({ status: 200, body: "" });
  });
});

describe("the row cache across two stores on one database", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-cache-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("another instance's write is seen once the row's TTL has passed, never later", async () => {
    const db = await openSqlite(join(dir, "signet.db"));
    const options = { rows: 100, rowTtlMs: 50, bytes: 1024, maxObjectBytes: 64, openFiles: 8 };
    const mine = new EmbeddedStore(db, dir, options);
    const theirs = new EmbeddedStore(db, dir, options);
    await mine.init();
    const body = (text: string) => Readable.from([Buffer.from(text)]);
    await theirs.put("b", "k", body("v1"), { contentType: "text/plain" });
    const first = (await mine.head("b", "k"))!;
    // Their replacement: my kept row still names the old blob until the TTL has passed.
    const second = await theirs.put("b", "k", body("v2"), { contentType: "text/plain" });
    await new Promise((r) => setTimeout(r, 120));
    const seen = (await mine.head("b", "k"))!;
    expect(seen.blobId).toBe(second.blobId);
    expect(seen.blobId).not.toBe(first.blobId);
    await db.destroy();
  });

  it("a lookup that raced a write does not keep the row the write replaced", async () => {
    const db = await openSqlite(join(dir, "race.db"));
    const store = new EmbeddedStore(db, dir);
    await store.init();
    const body = (text: string) => Readable.from([Buffer.from(text)]);
    await store.put("b", "race", body("v1"), { contentType: "text/plain" });
    // The lookup reads the old row, then the write commits before the lookup finishes.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const old = await db.selectFrom("objects").selectAll().where("key", "=", "race").execute();
    const racing = store.rows.lookup("b", "race", async () => {
      await gate;
      return { ...(await store.head("b", "race"))!, blobId: old[0]!.blob_id };
    });
    const written = await store.put("b", "race", body("v2"), { contentType: "text/plain" });
    release();
    await racing;
    expect((await store.head("b", "race"))!.blobId).toBe(written.blobId);
    await db.destroy();
  });
});
