/**
 * The embedded store's data plane against writers that race its readers: a GET sees the old
 * object or the new one whole (its ETag, length and bytes agree), never a mix.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backends/types.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { raw } from "../helpers/http.js";

const etagOfBytes = (b: Buffer) => `"${createHash("sha256").update(b).digest("hex").slice(0, 32)}"`;

describe("a GET racing a PUT at the same key", () => {
  let h: Harness;
  let backend: Backend;
  beforeAll(async () => {
    h = await startSignet();
    backend = h.signet.buckets.get("default")!.backend;
  });
  afterAll(() => h.close());

  const putUrl = async (key: string) =>
    (await h.admin.presign({ bucket: "default", key, method: "PUT", expiresIn: 600 })).url;
  const getUrl = async (key: string) =>
    (await h.admin.presign({ bucket: "default", key, method: "GET", expiresIn: 600 })).url;

  /** Runs `during` once, after the route's lookup of the object and before it opens the bytes. */
  const beforeOpen = (during: () => Promise<unknown>) => {
    const get = backend.get.bind(backend);
    backend.get = async (...args) => {
      backend.get = get;
      await during();
      return get(...args);
    };
  };

  for (const [label, oldBytes, newBytes] of [
    ["small, longer replacement", Buffer.from("old"), Buffer.from("a much longer new body")],
    ["small, shorter replacement", Buffer.from("a much longer old body"), Buffer.from("new")],
    ["large (read from the file)", Buffer.alloc(200_000, 1), Buffer.alloc(300_000, 2)],
  ] as const) {
    it(`headers and body come from one version (${label})`, async () => {
      const key = `mix/${label.replace(/\W+/g, "-")}`;
      const put = await putUrl(key);
      expect((await fetch(put, { method: "PUT", body: oldBytes })).status).toBe(200);
      beforeOpen(async () =>
        expect((await fetch(put, { method: "PUT", body: newBytes })).status).toBe(200),
      );
      // A Range header keeps it off the in-memory fast path (fast-get.ts): the route's answer.
      const res = await fetch(await getUrl(key), { headers: { range: "bytes=0-" } });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(206);
      expect(Number(res.headers.get("content-length"))).toBe(body.length);
      expect(res.headers.get("content-range")).toBe(`bytes 0-${body.length - 1}/${body.length}`);
      expect(res.headers.get("etag")).toBe(etagOfBytes(body));
      expect([oldBytes.toString("hex"), newBytes.toString("hex")]).toContain(body.toString("hex"));
    });
  }
});

describe("bodies cut off mid-way store nothing", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  const headAt = (key: string) => h.signet.objects.store.head("default", key);

  it("a chunked PUT whose socket is destroyed mid-body", async () => {
    const signed = new URL(
      (await h.admin.presign({ bucket: "default", key: "cut/chunked.bin", method: "PUT" })).url,
    );
    await raw(
      h.url,
      `PUT ${signed.pathname}${signed.search} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
      { hangUp: true },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await headAt("cut/chunked.bin")).toBeUndefined();
  });

  for (const framing of ["content-length", "chunked"] as const) {
    it(`a form POST whose socket is destroyed in the file (${framing})`, async () => {
      const form = await h.admin.presign({
        bucket: "default",
        key: "cut/form.bin",
        method: "POST",
      });
      const boundary = "XyZ";
      const head = Object.entries(form.fields!)
        .map(
          ([name, value]) =>
            `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
        )
        .join("");
      const filePart = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\npartial bytes of the file`;
      const whole = `${head}${filePart}\r\n--${boundary}--\r\n`;
      const sent = `${head}${filePart}`;
      const { pathname } = new URL(form.url);
      const framingHeader =
        framing === "chunked"
          ? "Transfer-Encoding: chunked"
          : `Content-Length: ${Buffer.byteLength(whole) + 1000}`;
      const body =
        framing === "chunked" ? `${Buffer.byteLength(sent).toString(16)}\r\n${sent}\r\n` : sent;
      await raw(
        h.url,
        `POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n${framingHeader}\r\n\r\n${body}`,
        { hangUp: true },
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(await headAt("cut/form.bin")).toBeUndefined();
    });
  }
});

describe("writers racing one key", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  const signed = async (key: string, method: "PUT" | "GET" | "DELETE", headers = {}) =>
    (await h.admin.presign({ bucket: "default", key, method, headers, expiresIn: 600 })).url;

  it("If-None-Match: * lets exactly one of concurrent PUTs write (small and large bodies)", async () => {
    for (const size of [10, 2 * 1024 * 1024]) {
      const key = `race/create-${size}`;
      const url = await signed(key, "PUT", { "if-none-match": "*" });
      const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(size, 65 + i));
      const answers = await Promise.all(
        bodies.map((body) =>
          fetch(url, { method: "PUT", body, headers: { "if-none-match": "*" } }),
        ),
      );
      const codes = answers.map((a) => a.status);
      expect(codes.filter((c) => c === 200)).toHaveLength(1);
      expect(codes.filter((c) => c === 412)).toHaveLength(5);
      const winner = bodies[codes.indexOf(200)]!;
      const got = Buffer.from(await (await fetch(await signed(key, "GET"))).arrayBuffer());
      expect(got.equals(winner)).toBe(true);
    }
  });

  it("If-Match on one version lets exactly one of concurrent PUTs replace it", async () => {
    const key = "race/replace";
    const plain = await signed(key, "PUT");
    const first = await fetch(plain, { method: "PUT", body: "v0" });
    const etag = first.headers.get("etag")!;
    const url = await signed(key, "PUT", { "if-match": etag });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(url, { method: "PUT", body: `v${i + 1}`, headers: { "if-match": etag } }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  });

  it("concurrent plain PUTs leave one whole body and no stray blob or temp file", async () => {
    const key = "race/plain";
    const url = await signed(key, "PUT");
    const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(300_000 + i, 65 + i));
    const answers = await Promise.all(bodies.map((body) => fetch(url, { method: "PUT", body })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const got = Buffer.from(await (await fetch(await signed(key, "GET"))).arrayBuffer());
    expect(bodies.some((b) => b.equals(got))).toBe(true);
    const { readdir } = await import("node:fs/promises");
    const { join } = await import("node:path");
    expect(await readdir(join(h.dataDir, "tmp"))).toEqual([]);
    let blobs = 0;
    for (const shard of await readdir(join(h.dataDir, "blobs")))
      blobs += (await readdir(join(h.dataDir, "blobs", shard))).length;
    const rows = await h.signet.db.selectFrom("objects").select("blob_id").execute();
    expect(blobs).toBe(rows.length);
  });
});

describe("a part upload in flight when its intent ends", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  for (const end of ["abort", "complete"] as const) {
    it(`leaves no part behind once the intent is ${end === "abort" ? "aborted" : "completed"}`, async () => {
      const { api } = await import("../helpers/http.js");
      const { request } = await import("node:http");
      const made = await api(h.url, "POST", "/v1/uploads", {
        bucket: "default",
        key: `parts/${end}.bin`,
        size: 20,
        contentType: "application/octet-stream",
        multipart: { partSize: 10 },
      });
      expect(made.status).toBe(201);
      const [p1, p2] = made.body.upload.parts as { url: string }[];
      // Part 1 arrives whole; for complete, part 2 too. Then part 1 is sent again, slowly.
      expect((await fetch(p1!.url, { method: "PUT", body: Buffer.alloc(10, 1) })).status).toBe(200);
      if (end === "complete")
        expect((await fetch(p2!.url, { method: "PUT", body: Buffer.alloc(10, 2) })).status).toBe(
          200,
        );
      const slow = request(p1!.url, { method: "PUT", headers: { "content-length": "10" } });
      const answered = new Promise<number>((resolve) => {
        slow.on("response", (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        slow.on("error", () => resolve(0));
      });
      slow.write(Buffer.alloc(5, 3));
      await new Promise((r) => setTimeout(r, 100));
      const ended = await api(h.url, "POST", `/v1/uploads/${made.body.file.id}/${end}`);
      expect(ended.status).toBe(200);
      slow.end(Buffer.alloc(5, 3));
      expect(await answered).not.toBe(200);
      // No part row outlives its upload (each pins a blob that nothing will ever remove).
      const orphans = await h.signet.db
        .selectFrom("local_parts")
        .leftJoin("local_uploads", "local_uploads.id", "local_parts.upload_id")
        .select("local_parts.upload_id")
        .where("local_uploads.id", "is", null)
        .execute();
      expect(orphans).toEqual([]);
    });
  }
});

describe("GETs and PUTs racing freely (bounded)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("every answer's ETag and length name its own body, on the fast path and off it", async () => {
    const key = "free/race.txt";
    const put = (await h.admin.presign({ bucket: "default", key, method: "PUT", expiresIn: 600 }))
      .url;
    const get = (await h.admin.presign({ bucket: "default", key, method: "GET", expiresIn: 600 }))
      .url;
    await fetch(put, { method: "PUT", body: "seed" });
    const deadline = Date.now() + 4000;
    let checked = 0;
    for (let round = 0; round < 60 && Date.now() < deadline; round++) {
      const writes = Array.from({ length: 3 }, (_, i) =>
        fetch(put, { method: "PUT", body: `r${round}w${i}`.repeat(1 + ((round + i) % 7)) }),
      );
      const reads = Array.from({ length: 6 }, (_, i) =>
        fetch(get, i % 2 === 0 ? {} : { headers: { range: "bytes=0-" } }).then(async (res) => {
          const body = Buffer.from(await res.arrayBuffer());
          expect([200, 206]).toContain(res.status);
          expect(Number(res.headers.get("content-length"))).toBe(body.length);
          expect(res.headers.get("etag")).toBe(etagOfBytes(body));
          checked++;
        }),
      );
      await Promise.all([...writes, ...reads]);
    }
    expect(checked).toBeGreaterThan(0);
  });
});
