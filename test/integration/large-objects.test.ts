/**
 * Issue 17: large objects on the embedded store's data plane, through the batched write path
 * and the kept-descriptor read path (store/spool.ts, store/blob-reader.ts). Bytes are exact for
 * bodies arriving in small pieces, for whole GETs and ranges across read-chunk boundaries, for
 * a GET under way while the object is replaced; kept descriptors stay within their bound and
 * never hold a removed blob, and a client that hangs up mid-download leaves nothing open.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readlink } from "node:fs/promises";
import { get as httpGet, type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { READ_CHUNK } from "../../src/store/blob-reader.js";
import { type Harness, startSignet } from "../helpers/harness.js";

/** This process's descriptors open on files under `dir` (deleted ones included). */
async function openUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(dir)) found.push(target);
  }
  return found;
}

/** A body sent in `piece`-byte chunks with no declared length (chunked encoding). */
const inPieces = (bytes: Buffer, piece: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += piece)
        controller.enqueue(bytes.subarray(at, at + piece));
      controller.close();
    },
  });

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64");

describe.each([
  { name: "descriptors kept (at most 2)", openFiles: "2" },
  { name: "no descriptors kept", openFiles: "0" },
])("large objects, $name", ({ openFiles }) => {
  let h: Harness;
  const blobsDir = () => join(h.dataDir, "blobs");
  beforeAll(async () => {
    h = await startSignet({ env: { SIGNET_CACHE_OPEN_FILES: openFiles } });
  });
  afterAll(() => h.close());

  const signed = async (key: string, method: "GET" | "HEAD" | "PUT" | "DELETE") =>
    (await h.admin.presign({ bucket: "default", key, method })).url;

  async function put(key: string, bytes: Buffer, piece = 64 * 1024) {
    const res = await fetch(await signed(key, "PUT"), {
      method: "PUT",
      body: inPieces(bytes, piece),
      headers: { "content-type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    return (await res.json()) as { size: number; sha256: string };
  }

  const body = async (res: Response) => Buffer.from(await res.arrayBuffer());

  it("a body in 8 KiB pieces is stored whole; GET and ranges across chunks are exact", async () => {
    const bytes = randomBytes(3 * READ_CHUNK + 4321);
    const stored = await put("big/one.bin", bytes, 8 * 1024);
    expect(stored).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    const url = await signed("big/one.bin", "GET");
    expect((await body(await fetch(url))).equals(bytes)).toBe(true);
    for (const [start, end] of [
      [READ_CHUNK - 1, READ_CHUNK],
      [5, 2 * READ_CHUNK + 17],
      [bytes.length - 10, bytes.length - 1],
    ] as const) {
      const res = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
      expect(res.status).toBe(206);
      expect((await body(res)).equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    const head = await fetch(await signed("big/one.bin", "HEAD"), { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
  });

  it("a GET under way when the object is replaced finishes with the bytes it began with", async () => {
    const before = randomBytes(4 * READ_CHUNK);
    const after = randomBytes(2 * READ_CHUNK);
    await put("big/replaced.bin", before);
    const url = await signed("big/replaced.bin", "GET");
    // Started and paused after its first chunk, as a slow client would be.
    const res = await new Promise<IncomingMessage>((resolve) => httpGet(url, resolve));
    const chunks: Buffer[] = [];
    const first = await new Promise<Buffer>((resolve) => res.once("data", resolve));
    res.pause();
    chunks.push(first);
    await put("big/replaced.bin", after);
    res.on("data", (c: Buffer) => chunks.push(c));
    res.resume();
    await new Promise((r) => res.on("end", r));
    expect(Buffer.concat(chunks).equals(before)).toBe(true);
    expect((await body(await fetch(await signed("big/replaced.bin", "GET")))).equals(after)).toBe(
      true,
    );
    // The replaced blob's file is gone, and no descriptor holds it (its space is freed).
    await vi.waitFor(
      async () =>
        expect((await openUnder(blobsDir())).filter((t) => t.endsWith("(deleted)"))).toEqual([]),
      { timeout: 5000 },
    );
  });

  it("kept descriptors stay within their bound and never hold a deleted blob", async () => {
    const keys = ["a", "b", "c", "d"].map((k) => `many/${k}.bin`);
    for (const key of keys) await put(key, randomBytes(256 * 1024));
    for (const key of keys) await body(await fetch(await signed(key, "GET")));
    await vi.waitFor(
      async () =>
        expect((await openUnder(blobsDir())).length).toBeLessThanOrEqual(Number(openFiles)),
      { timeout: 5000 },
    );
    for (const key of keys)
      expect((await fetch(await signed(key, "DELETE"), { method: "DELETE" })).status).toBe(204);
    await vi.waitFor(async () => expect(await openUnder(blobsDir())).toEqual([]), {
      timeout: 5000,
    });
    for (const key of keys) expect((await fetch(await signed(key, "GET"))).status).toBe(404);
  });

  it("a client that hangs up mid-download leaves nothing open but the kept descriptors", async () => {
    await put("big/abandoned.bin", randomBytes(8 * READ_CHUNK));
    const url = await signed("big/abandoned.bin", "GET");
    await new Promise<void>((resolve) =>
      httpGet(url, (res) => {
        res.once("data", () => {
          res.destroy();
          resolve();
        });
      }),
    );
    await vi.waitFor(
      async () =>
        expect((await openUnder(blobsDir())).length).toBeLessThanOrEqual(Number(openFiles)),
      { timeout: 5000 },
    );
    // The server still serves it whole.
    expect((await body(await fetch(url))).length).toBe(8 * READ_CHUNK);
  });
});

describe("a form upload refused in the middle of its file", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  /** POSTs `form` with its length, as a browser does; the answer's status. */
  async function post(url: string, form: FormData) {
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    return new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: "POST",
        headers: {
          "content-type": encoded.headers.get("content-type")!,
          "content-length": body.length,
        },
      });
      let answered = false;
      req.on("response", (res) => {
        answered = true;
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      });
      // The server may close while the rest is still being sent: the answer came first.
      req.on("error", (err) => (answered ? undefined : reject(err)));
      req.end(body);
    });
  }

  it("answers 403 and keeps nothing; the next form is stored", async () => {
    const signed = await h.admin.presign({
      bucket: "default",
      key: "forms/f.bin",
      method: "POST",
      contentLengthRange: [1, 1000],
    });
    const form = (bytes: number) => {
      const f = new FormData();
      for (const [name, value] of Object.entries(signed.fields!)) f.append(name, value);
      f.append("file", new Blob([randomBytes(bytes)]), "f.bin");
      return f;
    };
    // 3 MiB against a range of at most 1,000 bytes: refused while the file is still coming.
    expect(await post(signed.url, form(3 * 2 ** 20))).toBe(403);
    await vi.waitFor(async () => expect(await readdir(join(h.dataDir, "tmp"))).toEqual([]), {
      timeout: 5000,
    });
    expect(await h.signet.objects.store.head("default", "forms/f.bin")).toBeUndefined();
    expect(await post(signed.url, form(500))).toBe(204);
    expect((await h.signet.objects.store.head("default", "forms/f.bin"))?.size).toBe(500);
  });
});
