/**
 * SwiftBackend against a real Swift 2.30 (scripts/peers/swift-start.sh), which verifies every
 * temp URL itself: object operations, folder URLs, multipart through segment URLs and an SLO
 * manifest, key rotation, re-authentication. Runs only when SIGNET_SWIFT_URL is set, e.g.
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 npx vitest run test/peers/swift-backend.test.ts
 * Each run uses fresh containers with container keys, so the account's keys, which other peer
 * tests set, are never touched.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSwiftBackend,
  SEGMENT_PREFIX,
  type SwiftBackend,
  type SwiftBucketConfig,
} from "../../src/backends/swift/swift.js";
import { tempUrlKeyHeaders } from "../../src/backends/swift/swift-tempurl.js";
import type { DirectScope } from "../../src/backends/types.js";
import { encodeKeyPath } from "../../src/core/urls.js";
import { missing } from "../helpers/skip.js";

const SWIFT = process.env.SIGNET_SWIFT_URL;
const KEY_1 = "first container key";
const KEY_2 = "second container key";
const KEY_3 = "third container key";
const ENV = { SWIFT_TEMPURL_KEY: KEY_1, SWIFT_ADMIN_KEY: "testing" };

const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex");
const objectUrl = (template: string, key: string) => template.replace("{key}", encodeKeyPath(key));

async function bytes(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function scope(fields: Partial<DirectScope>): DirectScope {
  return {
    bucket: "media",
    methods: ["GET"],
    expiresAt: new Date(Date.now() + 300_000),
    principal: "peer-test",
    tokenId: "t1",
    constraints: {},
    ...fields,
  };
}

const streamOf = (data: string | Buffer) => Readable.from([Buffer.from(data)]);

describe.skipIf(
  missing("SwiftBackend against a real Swift", {
    "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT,
  }),
)("SwiftBackend against a real Swift", () => {
  let token = "";
  let storageUrl = "";
  let container = "";
  let backend: SwiftBackend;

  /** A request with tempauth credentials, for setup and checks only. */
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${storageUrl}${path}`, {
      ...init,
      headers: { "x-auth-token": token, ...(init.headers as Record<string, string>) },
    });
  /** Object names under `prefix`, as Swift itself lists them. */
  const stored = async (name: string, prefix: string) => {
    const res = await admin(`/${name}?format=json&prefix=${encodeURIComponent(prefix)}`);
    return res.status === 204 ? [] : ((await res.json()) as { name: string }[]).map((o) => o.name);
  };
  const config = (name: string, extra: Partial<SwiftBucketConfig> = {}): SwiftBucketConfig => ({
    backend: "swift",
    storageUrl,
    container: name,
    tempUrlKey: "${SWIFT_TEMPURL_KEY}",
    keyLevel: "container",
    authUrl: `${SWIFT}/auth/v1.0`,
    user: "test:tester",
    key: "${SWIFT_ADMIN_KEY}",
    ...extra,
  });
  /** A fresh container whose only temp URL key is KEY_1. */
  const freshContainer = async (suffix: string) => {
    const name = `signet-swiftbe-${Date.now().toString(36)}-${suffix}`;
    expect((await admin(`/${name}`, { method: "PUT" })).status).toBe(201);
    const keys = await admin(`/${name}`, {
      method: "POST",
      headers: tempUrlKeyHeaders("container", { tempUrlKey: KEY_1 }),
    });
    expect(keys.status).toBe(204);
    return name;
  };

  beforeAll(async () => {
    const auth = await fetch(`${SWIFT}/auth/v1.0`, {
      headers: { "x-auth-user": "test:tester", "x-auth-key": "testing" },
    });
    expect(auth.status).toBe(200);
    token = auth.headers.get("x-auth-token") ?? "";
    storageUrl = auth.headers.get("x-storage-url") ?? "";
    container = await freshContainer("main");
    backend = createSwiftBackend(config(container), ENV);
    for (const key of ["p/o1", "p/o2", "p/p2/o3", "o4", "p3/o5"]) {
      const body = `body of ${key}`;
      const contentLength = Buffer.byteLength(body);
      await backend.put(key, streamOf(body), { contentType: "text/plain", contentLength });
    }
  });

  it("puts (streamed, with or without a length), heads and gets whole and ranged", async () => {
    const body = randomBytes(70_000);
    const put = await backend.put("docs/a b/é.bin", streamOf(body), { contentType: "x/y" });
    expect(put).toMatchObject({ key: "docs/a b/é.bin", size: 70_000, etag: `"${md5(body)}"` });
    expect(put.sha256).toBe(createHash("sha256").update(body).digest("base64"));
    expect(await stored(container, "docs/")).toEqual(["docs/a b/é.bin"]);

    const head = await backend.head("docs/a b/é.bin");
    expect(head).toMatchObject({ size: 70_000, etag: put.etag, contentType: "x/y" });
    const whole = await backend.get("docs/a b/é.bin");
    expect(whole?.info.size).toBe(70_000);
    expect((await bytes(whole!.body)).equals(body)).toBe(true);
    const ranged = await backend.get("docs/a b/é.bin", { start: 65_530, end: 69_999 });
    expect(ranged?.info).toMatchObject({ size: 70_000, etag: put.etag });
    expect((await bytes(ranged!.body)).equals(body.subarray(65_530))).toBe(true);
    const short = await backend.get("p/o1", { start: 5, end: 6 });
    expect((await bytes(short!.body)).toString()).toBe("of");

    await expect(backend.get("p/o1", { start: 12, end: 20 })).rejects.toMatchObject({
      code: "range_not_satisfiable",
    });
    expect(await backend.head("p/missing")).toBeUndefined();
    expect(await backend.get("p/missing")).toBeUndefined();
    // a wrong length never stores a truncated object
    await expect(
      backend.put("p/short", streamOf("four"), { contentType: "text/plain", contentLength: 5 }),
    ).rejects.toThrow();
    expect(await backend.head("p/short")).toBeUndefined();
  });

  it("lists by folder with prefixes and cursors, never showing the segments", async () => {
    const uploadId = await backend.createMultipart("p/pending", { contentType: "text/plain" });
    expect((await stored(container, SEGMENT_PREFIX)).length).toBeGreaterThan(0);

    const root = await backend.list("", { limit: 100 });
    expect(root.items.map((i) => i.key)).toEqual(["o4"]);
    expect(root.prefixes).toEqual(["docs/", "p/", "p3/"]);
    expect(root.nextCursor).toBeNull();
    const p = await backend.list("p/", { limit: 100 });
    expect(p.items.map((i) => i.key)).toEqual(["p/o1", "p/o2"]);
    expect(p.items[0]).toMatchObject({
      size: 12,
      contentType: "text/plain",
      etag: `"${md5("body of p/o1")}"`,
    });
    expect(p.prefixes).toEqual(["p/p2/"]);
    const spaced = await backend.list("docs/a b/", { limit: 10 });
    expect(spaced.items.map((i) => i.key)).toEqual(["docs/a b/é.bin"]);

    // one entry a page, the hidden prefix (first in order) taking a page of its own
    for (const [prefix, expected] of [
      ["", ["docs/", "o4", "p/", "p3/"]],
      ["p/", ["p/o1", "p/o2", "p/p2/"]],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const listed = await backend.list(prefix, { cursor, limit: 1 });
        seen.push(...listed.items.map((i) => i.key), ...listed.prefixes);
        if (listed.nextCursor === null) break;
        cursor = listed.nextCursor;
      }
      expect(seen).toEqual(expected);
    }

    await expect(backend.list(SEGMENT_PREFIX, { limit: 10 })).rejects.toMatchObject({
      code: "invalid_key",
    });
    await backend.abortMultipart("p/pending", uploadId);
  });

  it("deletes objects, idempotently", async () => {
    await backend.put("p/doomed", streamOf("x"), { contentType: "text/plain" });
    await backend.delete("p/doomed");
    expect(await backend.head("p/doomed")).toBeUndefined();
    await backend.delete("p/doomed");
  });

  it("serves p/o1, p/p2/o3 and later objects by a folder GET URL; refuses o4, p3/o5", async () => {
    const folder = backend.presign(scope({ folder: "p/" }));
    expect(folder.url).toContain(`/${container}/p/?`);
    const template = folder.objectUrlTemplate!;
    for (const key of ["p/o1", "p/p2/o3"]) {
      const res = await fetch(objectUrl(template, key));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`body of ${key}`);
    }
    await backend.put("p/later", streamOf("added after signing"), { contentType: "text/plain" });
    const later = await fetch(objectUrl(template, "p/later"));
    expect(later.status).toBe(200);
    expect(await later.text()).toBe("added after signing");
    for (const key of ["o4", "p3/o5"])
      expect((await fetch(objectUrl(template, key))).status).toBe(401);
    expect((await fetch(objectUrl(template, "p/o1"), { method: "DELETE" })).status).toBe(401);
  });

  it("assembles a multipart upload from segment PUTs through part URLs", async () => {
    const key = "big/file é.bin";
    const uploadId = await backend.createMultipart(key, { contentType: "application/x-test" });
    const bodies = [randomBytes(40_000), randomBytes(25_000), randomBytes(7), randomBytes(10)];
    const etags: string[] = [];
    for (const [i, body] of bodies.entries()) {
      const part = backend.presign(
        scope({ key, methods: ["PUT"], part: { uploadId, partNumber: i + 1 } }),
      );
      expect(part.method).toBe("PUT");
      expect(decodeURIComponent(new URL(part.url).pathname)).toBe(
        `/v1/AUTH_test/${container}/${SEGMENT_PREFIX}${key}/${uploadId}/0000${i + 1}`,
      );
      const res = await fetch(part.url, { method: "PUT", body });
      expect(res.status).toBe(201);
      etags.push(res.headers.get("etag") ?? "");
    }
    expect(etags).toEqual(bodies.map((b) => md5(b)));

    const parts = await backend.listParts(key, uploadId);
    expect(parts).toEqual(
      bodies.map((b, i) => ({ partNumber: i + 1, size: b.length, etag: `"${md5(b)}"` })),
    );
    expect(await backend.head(key)).toBeUndefined();
    expect((await backend.list("big/", { limit: 10 })).items).toEqual([]);

    // part 4 was uploaded but is left out
    const used = [1, 2, 3].map((partNumber) => ({ partNumber, etag: etags[partNumber - 1]! }));
    const info = await backend.completeMultipart(key, uploadId, used);
    const whole = Buffer.concat(bodies.slice(0, 3));
    expect(info).toMatchObject({ key, size: whole.length, contentType: "application/x-test" });
    const got = await backend.get(key);
    expect((await bytes(got!.body)).equals(whole)).toBe(true);
    const across = await backend.get(key, { start: 39_990, end: 40_009 });
    expect((await bytes(across!.body)).equals(whole.subarray(39_990, 40_010))).toBe(true);

    // a container key's URL reads the segments too: they share its container
    const direct = await fetch(backend.presign(scope({ key })).url);
    expect(direct.status).toBe(200);
    expect(Buffer.from(await direct.arrayBuffer()).equals(whole)).toBe(true);

    const folder = `${SEGMENT_PREFIX}${key}/${uploadId}/`;
    expect(await stored(container, folder)).toEqual([1, 2, 3].map((n) => `${folder}0000${n}`));
    await expect(backend.listParts(key, uploadId)).rejects.toMatchObject({ code: "not_found" });
    expect((await backend.list("big/", { limit: 10 })).items.map((i) => i.key)).toEqual([key]);

    await backend.delete(key);
    expect(await backend.head(key)).toBeUndefined();
    expect(await stored(container, folder)).toEqual([]);
  });

  it("refuses to complete with a wrong etag, a missing part or an unknown upload", async () => {
    const key = "big/refused";
    const uploadId = await backend.createMultipart(key, { contentType: "text/plain" });
    const url = backend.presign(
      scope({ key, methods: ["PUT"], part: { uploadId, partNumber: 1 } }),
    );
    const etag = (await fetch(url.url, { method: "PUT", body: "part one" })).headers.get("etag")!;
    await expect(
      backend.completeMultipart(key, uploadId, [{ partNumber: 1, etag: md5("other") }]),
    ).rejects.toMatchObject({ code: "invalid_part", field: "parts" });
    await expect(
      backend.completeMultipart(key, uploadId, [
        { partNumber: 1, etag },
        { partNumber: 2, etag },
      ]),
    ).rejects.toMatchObject({ code: "invalid_part", message: "part 2 was not uploaded" });
    await expect(
      backend.completeMultipart(key, "A".repeat(24), [{ partNumber: 1, etag }]),
    ).rejects.toMatchObject({ code: "not_found" });
    expect(await backend.head(key)).toBeUndefined();
    await backend.abortMultipart(key, uploadId);
  });

  it("aborts: the segments and the upload are gone, and aborting again is harmless", async () => {
    const key = "big/aborted";
    const uploadId = await backend.createMultipart(key, { contentType: "text/plain" });
    for (const partNumber of [1, 2]) {
      const part = backend.presign(
        scope({ key, methods: ["PUT"], part: { uploadId, partNumber } }),
      );
      expect((await fetch(part.url, { method: "PUT", body: `part ${partNumber}` })).status).toBe(
        201,
      );
    }
    const folder = `${SEGMENT_PREFIX}${key}/${uploadId}/`;
    expect(await stored(container, folder)).toHaveLength(3);
    await backend.abortMultipart(key, uploadId);
    expect(await stored(container, folder)).toEqual([]);
    await expect(backend.listParts(key, uploadId)).rejects.toMatchObject({ code: "not_found" });
    await backend.abortMultipart(key, uploadId);
  });

  it("rotates keys: a URL signed before rotateKey works until retireKey, then 401", async () => {
    const name = await freshContainer("rot");
    const rotating = createSwiftBackend(config(name), ENV);
    await rotating.put("r/o", streamOf("rotated"), { contentType: "text/plain" });
    const before = rotating.presign(scope({ key: "r/o" })).url;
    expect((await fetch(before)).status).toBe(200);

    await rotating.rotateKey(KEY_2);
    const after = rotating.presign(scope({ key: "r/o" })).url;
    expect(after).not.toBe(before);
    for (const url of [before, after]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("rotated");
    }
    await expect(rotating.rotateKey(KEY_3)).rejects.toMatchObject({ code: "conflict" });
    expect((await fetch(before)).status).toBe(200);

    await rotating.retireKey();
    expect((await fetch(before)).status).toBe(401);
    expect((await fetch(after)).status).toBe(200);
    // the other containers keep their own key
    expect((await fetch(backend.presign(scope({ key: "p/o1" })).url)).status).toBe(200);
  });

  describe("when Swift refuses the cached token", () => {
    // A proxy in front of Swift's auth and HEADs whose first token is one Swift does not know
    // (tempauth itself hands out the same token until it expires).
    const STALE = "AUTH_tk00000000000000000000000000000000";
    let auths = 0;
    const server = createServer((req, res) => {
      void (async () => {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        if (req.url === "/auth/v1.0") {
          const auth = await fetch(`${SWIFT}/auth/v1.0`, {
            headers: {
              "x-auth-user": String(req.headers["x-auth-user"]),
              "x-auth-key": String(req.headers["x-auth-key"]),
            },
          });
          res.writeHead(auth.status, {
            "x-auth-token": ++auths === 1 ? STALE : (auth.headers.get("x-auth-token") ?? ""),
            "x-storage-url": `${base}/v1/AUTH_test`,
          });
          return res.end();
        }
        const head = await fetch(`${SWIFT}${req.url}`, {
          method: "HEAD",
          headers: { "x-auth-token": String(req.headers["x-auth-token"]) },
        });
        res.writeHead(head.status, Object.fromEntries(head.headers)).end();
      })();
    });
    beforeAll(() => new Promise<void>((done) => server.listen(0, "127.0.0.1", done)));
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    it("authenticates again once and carries on with the new token", async () => {
      const port = (server.address() as AddressInfo).port;
      const proxied = createSwiftBackend(
        config(container, { authUrl: `http://127.0.0.1:${port}/auth/v1.0` }),
        ENV,
      );
      expect(await proxied.head("p/o1")).toMatchObject({ size: 12 });
      expect(auths).toBe(2);
      expect(await proxied.head("o4")).toMatchObject({ size: 10 });
      expect(auths).toBe(2);
    });
  });
});
