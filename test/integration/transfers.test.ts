/**
 * The SDK's transfers under faults: parallel ranged get and multipart put, each part retried
 * with backoff, re-signed when its URL expired, resumed from a state file after an interruption,
 * and a corrupted part detected (get: the file's sha256; put: complete refuses).
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { access, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SignetApiError, SignetClient, stateFileOf } from "../../src/client/index.js";
import type { PutOptions } from "../../src/client/upload.js";
import { type Fault, type FaultProxy, type Seen, startFaultProxy } from "../helpers/fault-proxy.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const KIB = 1024;
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("base64");
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("transfers through faults", () => {
  let h: Harness;
  let dir: string;
  let proxy: FaultProxy;
  let faults: (seen: Seen) => Fault | undefined;
  let client: SignetClient;

  beforeAll(async () => {
    h = await startSignet();
    dir = await mkdtemp(join(tmpdir(), "signet-transfers-"));
    proxy = await startFaultProxy(h.url, (seen) => faults(seen));
    // Control and data plane both pass through the proxy.
    h.signet.publicUrl = proxy.url;
    client = new SignetClient({ server: proxy.url, key: ADMIN_KEY });
  });
  afterEach(() => {
    faults = () => undefined;
    proxy.seen.length = 0;
  });
  afterAll(async () => {
    await proxy.close();
    await h.close();
  });
  faults = () => undefined;

  const partOfRange = (range: string | undefined, partSize: number) =>
    range === undefined ? 0 : Number(/^bytes=(\d+)-/.exec(range)![1]) / partSize + 1;
  const dataGets = () =>
    proxy.seen.filter((s) => s.method === "GET" && s.url.pathname.startsWith("/o/"));
  const partPuts = () =>
    proxy.seen.filter((s) => s.method === "PUT" && s.url.searchParams.has("partNumber"));

  /** An object committed through an upload intent (so its file record holds its sha256). */
  async function stored(key: string, size: number): Promise<Buffer> {
    const bytes = randomBytes(size);
    const file = join(dir, `${key.replace(/\//g, "_")}.src`);
    await writeFile(file, bytes);
    await h.admin.put(file, "default", key, { resume: false });
    return bytes;
  }

  describe("get", () => {
    const partSize = 256 * KIB;

    it("writes the object from parallel ranged parts and checks its sha256", async () => {
      const bytes = await stored("get/whole.bin", 1000 * KIB);
      const out = join(dir, "whole.out");
      const result = await client.get("default", "get/whole.bin", out, { partSize });
      expect(result).toMatchObject({ bytes: bytes.length, verified: true, resumedParts: 0 });
      expect(result.sha256).toBe(sha256(bytes));
      expect((await readFile(out)).equals(bytes)).toBe(true);
      expect(
        dataGets()
          .map((s) => s.range)
          .sort(),
      ).toEqual([
        `bytes=0-${partSize - 1}`,
        `bytes=${partSize * 1}-${partSize * 2 - 1}`,
        `bytes=${partSize * 2}-${partSize * 3 - 1}`,
        `bytes=${partSize * 3}-${bytes.length - 1}`,
      ]);
      expect(await exists(stateFileOf(out))).toBe(false);
    });

    it("retries a part that fails twice, then succeeds", async () => {
      const bytes = await stored("get/flaky.bin", 700 * KIB);
      let failures = 0;
      faults = (s) =>
        s.method === "GET" && partOfRange(s.range, partSize) === 2 && failures++ < 2
          ? { reply: 503 }
          : undefined;
      const out = join(dir, "flaky.out");
      await client.get("default", "get/flaky.bin", out, { partSize });
      expect((await readFile(out)).equals(bytes)).toBe(true);
      expect(dataGets().filter((s) => partOfRange(s.range, partSize) === 2)).toHaveLength(3);
    });

    it("retries a part whose connection is cut halfway through its body", async () => {
      const bytes = await stored("get/cut.bin", 700 * KIB);
      let cuts = 0;
      faults = (s) =>
        s.method === "GET" && partOfRange(s.range, partSize) === 2 && cuts++ < 1
          ? { cut: true }
          : undefined;
      const out = join(dir, "cut.out");
      const result = await client.get("default", "get/cut.bin", out, { partSize });
      expect(result.sha256).toBe(sha256(bytes));
      expect((await readFile(out)).equals(bytes)).toBe(true);
      expect(dataGets().filter((s) => partOfRange(s.range, partSize) === 2)).toHaveLength(2);
    });

    it("renews a part URL refused as expired, with a new plan", async () => {
      const bytes = await stored("get/expiring.bin", 700 * KIB);
      let refused = false;
      faults = (s) => {
        if (s.method !== "GET" || partOfRange(s.range, partSize) !== 2 || refused) return undefined;
        refused = true;
        return { reply: 403, code: "token_expired" };
      };
      const out = join(dir, "expiring.out");
      await client.get("default", "get/expiring.bin", out, { partSize });
      expect((await readFile(out)).equals(bytes)).toBe(true);
      const tokens = dataGets()
        .filter((s) => partOfRange(s.range, partSize) === 2)
        .map((s) => s.url.searchParams.get("t"));
      expect(tokens).toHaveLength(2);
      expect(tokens[0]).not.toBe(tokens[1]);
      expect(proxy.seen.filter((s) => s.url.pathname === "/v1/presign/parts")).toHaveLength(2);
    });

    it("resumes an interrupted download with only the parts it lacked", async () => {
      const bytes = await stored("get/resume.bin", 1000 * KIB);
      faults = (s) =>
        s.method === "GET" && partOfRange(s.range, partSize) === 3 ? { cut: true } : undefined;
      const out = join(dir, "resume.out");
      await expect(
        client.get("default", "get/resume.bin", out, { partSize, attempts: 2 }),
      ).rejects.toThrow();
      expect(await exists(out)).toBe(false);
      const state = JSON.parse(await readFile(stateFileOf(out), "utf8"));
      expect(state.done).toEqual([1, 2, 4]);

      faults = () => undefined;
      proxy.seen.length = 0;
      const result = await client.get("default", "get/resume.bin", out, { partSize });
      expect(result.resumedParts).toBe(3);
      expect(dataGets().map((s) => partOfRange(s.range, partSize))).toEqual([3]);
      expect((await readFile(out)).equals(bytes)).toBe(true);
    });

    it("detects a corrupted part by the file's sha256 and keeps nothing", async () => {
      await stored("get/corrupt.bin", 700 * KIB);
      faults = (s) =>
        s.method === "GET" && partOfRange(s.range, partSize) === 2 ? { corrupt: true } : undefined;
      const out = join(dir, "corrupt.out");
      const err = await client.get("default", "get/corrupt.bin", out, { partSize }).catch((e) => e);
      expect(err).toBeInstanceOf(SignetApiError);
      expect(err.code).toBe("checksum_mismatch");
      expect(await exists(out)).toBe(false);
      expect(await exists(stateFileOf(out))).toBe(false);
    });

    it("sizes the parts from the file record, else from a one-part plan", async () => {
      const bytes = await stored("get/sized.bin", 300 * KIB);
      const plans = () =>
        proxy.seen
          .filter((s) => s.url.pathname === "/v1/presign/parts")
          .map((s) => JSON.parse(s.body!).partSize ?? `parts:${JSON.parse(s.body!).parts}`);
      const out = join(dir, "sized.out");
      await client.get("default", "get/sized.bin", out);
      expect((await readFile(out)).equals(bytes)).toBe(true);
      expect(plans()).toEqual([1024 * KIB]);

      // Without the record (the files API fails here), a one-part plan tells the size first.
      proxy.seen.length = 0;
      faults = (s) => (s.url.pathname === "/v1/files" ? { reply: 500 } : undefined);
      await client.get("default", "get/sized.bin", out);
      expect((await readFile(out)).equals(bytes)).toBe(true);
      expect(plans()).toEqual(["parts:1", 1024 * KIB]);
    });

    it("downloads any URL that serves Range, and refuses one that does not", async () => {
      const bytes = randomBytes(600 * KIB);
      const server = createServer((req, res) => {
        const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
        if (req.url === "/plain" || match === null) {
          res.writeHead(200, { "content-length": bytes.length });
          return res.end(bytes);
        }
        const [start, end] = [Number(match[1]), Math.min(Number(match[2]), bytes.length - 1)];
        res.writeHead(206, {
          "content-range": `bytes ${start}-${end}/${bytes.length}`,
          "content-length": end - start + 1,
          etag: '"v1"',
        });
        res.end(bytes.subarray(start, end + 1));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const { port } = server.address() as { port: number };
      try {
        const out = join(dir, "url.out");
        const result = await SignetClient.getUrl(`http://127.0.0.1:${port}/ranged`, out, {
          partSize: 100 * KIB,
          sha256: sha256(bytes),
        });
        expect(result).toMatchObject({ bytes: bytes.length, verified: true });
        expect((await readFile(out)).equals(bytes)).toBe(true);
        const err = await SignetClient.getUrl(`http://127.0.0.1:${port}/plain`, out).catch(
          (e) => e,
        );
        expect(err.code).toBe("range_unsupported");
      } finally {
        server.close();
      }
    });
  });

  describe("put", () => {
    const partSize = 5 * 1024 * KIB;
    const size = 3 * partSize + 123;
    const put = (file: string, key: string, extra: PutOptions = {}) =>
      client.put(file, "default", key, { partSize, multipartThreshold: partSize, ...extra });
    const source = async (name: string) => {
      const bytes = randomBytes(size);
      const file = join(dir, name);
      await writeFile(file, bytes);
      return { bytes, file };
    };
    const partNumber = (s: Seen) => Number(s.url.searchParams.get("partNumber"));

    it("retries a part that fails twice, then commits", async () => {
      const { bytes, file } = await source("flaky.up");
      let failures = 0;
      faults = (s) =>
        s.method === "PUT" && partNumber(s) === 2 && failures++ < 2 ? { reply: 503 } : undefined;
      const committed = await put(file, "put/flaky.bin");
      expect(committed).toMatchObject({ status: "committed", size, sha256: sha256(bytes) });
      expect(partPuts().filter((s) => partNumber(s) === 2)).toHaveLength(3);
    });

    it("re-signs a part URL refused as expired", async () => {
      const { file } = await source("expiring.up");
      let refused = false;
      faults = (s) => {
        if (s.method !== "PUT" || partNumber(s) !== 2 || refused) return undefined;
        refused = true;
        return { reply: 403, code: "token_expired" };
      };
      const committed = await put(file, "put/expiring.bin");
      expect(committed.status).toBe("committed");
      const renewals = proxy.seen.filter((s) =>
        /^\/v1\/uploads\/[^/]+\/parts$/.test(s.url.pathname),
      );
      expect(renewals).toHaveLength(1);
      expect(JSON.parse(renewals[0]!.body!)).toMatchObject({ partNumbers: [2] });
      const tokens = partPuts()
        .filter((s) => partNumber(s) === 2)
        .map((s) => s.url.searchParams.get("t"));
      expect(tokens).toHaveLength(2);
      expect(tokens[0]).not.toBe(tokens[1]);
    });

    it("resumes an interrupted upload with only the parts it lacked", async () => {
      const { bytes, file } = await source("resume.up");
      faults = (s) => (s.method === "PUT" && partNumber(s) === 3 ? { reply: 400 } : undefined);
      await expect(put(file, "put/resume.bin")).rejects.toThrow();
      const state = JSON.parse(await readFile(`${file}.signet-put.json`, "utf8"));
      expect(Object.keys(state.done).sort()).toEqual(["1", "2", "4"]);
      // It holds signed part URLs: owner-only.
      expect((await stat(`${file}.signet-put.json`)).mode & 0o777).toBe(0o600);

      faults = () => undefined;
      proxy.seen.length = 0;
      const told: number[] = [];
      const committed = await put(file, "put/resume.bin", { onResume: (n) => told.push(n) });
      expect(told).toEqual([3]);
      expect(committed).toMatchObject({
        id: state.fileId,
        status: "committed",
        sha256: sha256(bytes),
      });
      expect(partPuts().map(partNumber)).toEqual([3]);
      expect(proxy.seen.filter((s) => s.url.pathname === "/v1/uploads")).toHaveLength(0);
      expect(await exists(`${file}.signet-put.json`)).toBe(false);
    });

    it("never commits a part corrupted on the way", async () => {
      const { file } = await source("corrupt.up");
      faults = (s) => (s.method === "PUT" && partNumber(s) === 2 ? { corrupt: true } : undefined);
      const err = await put(file, "put/corrupt.bin", { resume: false }).catch((e) => e);
      expect(err).toBeInstanceOf(SignetApiError);
      const listed = await h.admin.files.list({ bucket: "default", prefix: "put/corrupt.bin" });
      expect(listed.items.filter((f) => f.status === "committed")).toEqual([]);
    });

    it("takes the content type from the name and passes upsert through", async () => {
      const file = join(dir, "report.pdf");
      await writeFile(file, "%PDF-1.4 tiny");
      const committed = await client.put(file, "default", "put/report.pdf");
      expect(committed.contentType).toBe("application/pdf");
      proxy.seen.length = 0;
      await client.put(file, "default", "put/report.pdf", { upsert: true }).catch(() => undefined);
      const intent = proxy.seen.find((s) => s.url.pathname === "/v1/uploads");
      expect(JSON.parse(intent!.body!)).toMatchObject({ upsert: true });
    });
  });
});
