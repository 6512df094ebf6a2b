/**
 * A silent peer never hangs a transfer (errors.ts `stalled`): a GET through raw-get.ts or a PUT
 * through http.ts that sends and receives nothing for its stall timeout fails as `stalled`, a
 * download part or upload part that stalls is tried again, and a slow but steady peer, or a
 * connection idle in the pool, is left alone.
 */
import { createHash } from "node:crypto";
import { readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadRanged, urlSource } from "../../src/client/download.js";
import { request } from "../../src/client/http.js";
import { SignetClient } from "../../src/client/index.js";
import { rawGet } from "../../src/client/raw-get.js";
import { putBytes, putFile, type UploadApi } from "../../src/client/upload.js";
import { scriptedPeer } from "../helpers/scripted-peer.js";

const STALL_MS = 300;
const object = Buffer.from("0123456789abcdefghij");

/** A 206 of `object`'s bytes `start..end`, or only its first `cut` bytes when given. */
function partial(socket: Socket, request: string, cut?: number): void {
  const [start, end] = /range: bytes=(\d+)-(\d+)/i.exec(request)!.slice(1).map(Number) as [
    number,
    number,
  ];
  const body = object.subarray(start, end + 1);
  socket.write(
    `HTTP/1.1 206 Partial Content\r\ncontent-range: bytes ${start}-${end}/${object.length}\r\n` +
      `etag: "v1"\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  socket.write(cut === undefined ? body : body.subarray(0, cut));
}

describe("stall timeouts", () => {
  let base: string;
  let dir: string;
  const peer = scriptedPeer();
  beforeAll(async () => {
    base = await peer.start();
    dir = await mkdtemp(join(tmpdir(), "signet-stall-"));
  });
  afterAll(async () => {
    await peer.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    peer.connections = 0;
  });

  it("fails a GET whose server never answers, and one that stops mid-body", async () => {
    peer.answer = () => undefined;
    const started = Date.now();
    await expect(
      rawGet(`${base}/silent`, {}, () => "text", { stallMs: STALL_MS }),
    ).rejects.toMatchObject({ code: "stalled" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS - 50);

    peer.answer = (socket, req) => partial(socket, req, 3);
    await expect(
      rawGet(`${base}/cut`, { range: "bytes=0-9" }, () => () => undefined, { stallMs: STALL_MS }),
    ).rejects.toMatchObject({ code: "stalled" });
  });

  it("leaves a slow but steady reply alone: every read restarts the clock", async () => {
    // Ten bytes, one every STALL_MS / 3: 3.3 stall timeouts in all, none of them silent.
    peer.answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
      let sent = 0;
      const timer = setInterval(() => {
        socket.write("x");
        if (++sent === 10) clearInterval(timer);
      }, STALL_MS / 3);
    };
    const reply = await rawGet(`${base}/slow`, {}, () => "text", { stallMs: STALL_MS });
    expect(reply.text).toBe("xxxxxxxxxx");
  });

  it("keeps an idle pooled connection past the stall timeout", async () => {
    peer.answer = (socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    await rawGet(`${base}/a`, {}, () => "text", { stallMs: STALL_MS });
    const opened = peer.connections;
    await new Promise((r) => setTimeout(r, STALL_MS * 2));
    expect((await rawGet(`${base}/b`, {}, () => "text", { stallMs: STALL_MS })).text).toBe("ok");
    expect(peer.connections).toBe(opened);
  });

  it("tries a download part again when it stalls, and finishes the file", async () => {
    let parts = 0;
    peer.answer = (socket, req) => {
      if (/bytes=0-0/.test(req)) return partial(socket, req);
      // The first part's first attempt stops after 2 bytes; everything else is whole.
      parts++;
      partial(socket, req, parts === 1 ? 2 : undefined);
    };
    const stallTimeout = STALL_MS / 1000;
    const source = await urlSource(`${base}/object`, { partSize: 8, stallTimeout });
    const out = join(dir, "object");
    const result = await downloadRanged(source, out, { stallTimeout, concurrency: 1 });
    expect(await readFile(out)).toEqual(object);
    expect(result.sha256).toBe(createHash("sha256").update(object).digest("base64"));
    // three parts of 8, 8 and 4 bytes, the first twice
    expect(parts).toBe(4);
  });

  it("tries the Range probe again after a stall and a 503, as a part", async () => {
    let probes = 0;
    peer.answer = (socket, req) => {
      probes++;
      if (probes === 1) return; // silent
      if (probes === 2) return void socket.write("HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n");
      partial(socket, req);
    };
    const source = await urlSource(`${base}/probe`, { stallTimeout: STALL_MS / 1000 });
    expect(source.size).toBe(object.length);
    expect(probes).toBe(3);
  });

  it("fails a PUT whose server takes the body and never answers", async () => {
    const file = join(dir, "upload");
    await writeFile(file, "twelve bytes");
    peer.answer = () => undefined;
    await expect(
      putBytes({ url: `${base}/put`, headers: {} }, file, undefined, undefined, STALL_MS / 1000),
    ).rejects.toMatchObject({ code: "stalled" });
  });

  it("fails a reply body that stops arriving (http.ts)", async () => {
    peer.answer = (socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
    const res = await request(`${base}/body`, { stallMs: STALL_MS });
    await expect(res.body.text()).rejects.toMatchObject({ code: "stalled" });
  });

  it("takes stallTimeout as seconds ≥ 0: 0 and Infinity never, past 24.8 days the longest timer", async () => {
    // Node cuts a timer past 2^31 - 1 ms with a warning on stderr (every part of `signet get
    // --stall-timeout 30d`); a browser fires it at once. Infinity threw ERR_OUT_OF_RANGE.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      peer.answer = (socket, req) => setTimeout(() => partial(socket, req), 50);
      for (const stallTimeout of [0, Infinity, 30 * 86400, 2 ** 40]) {
        const source = await urlSource(`${base}/object`, { partSize: 8, stallTimeout });
        const out = join(dir, `long-${stallTimeout}`);
        await downloadRanged(source, out, { stallTimeout, concurrency: 1 });
        expect(await readFile(out)).toEqual(object);
      }
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("refuses a negative or NaN stallTimeout before connecting or making an intent", async () => {
    // These threw from socket.setTimeout after raw-get had opened the connection: the exchange
    // then rejected unheard when the server closed it, which ends a Node process.
    peer.answer = (socket, req) => partial(socket, req);
    const source = await urlSource(`${base}/object`, { partSize: 8 });
    const opened = peer.connections;
    const file = join(dir, "twelve");
    await writeFile(file, "twelve bytes");
    const api = {
      server: base,
      createUpload: () => Promise.reject(new Error("an intent was made")),
    } as unknown as UploadApi;
    for (const stallTimeout of [-1, NaN, "60" as unknown as number]) {
      await expect(urlSource(`${base}/object`, { stallTimeout })).rejects.toThrow(RangeError);
      await expect(downloadRanged(source, join(dir, "refused"), { stallTimeout })).rejects.toThrow(
        RangeError,
      );
      await expect(
        putBytes({ url: `${base}/put`, headers: {} }, file, undefined, undefined, stallTimeout),
      ).rejects.toThrow(RangeError);
      await expect(putFile(api, file, "b", "k", { stallTimeout })).rejects.toThrow(RangeError);
      await expect(
        rawGet(`${base}/x`, {}, () => "text", { stallMs: stallTimeout }),
      ).rejects.toThrow(RangeError);
    }
    expect(peer.connections).toBe(opened);
    expect((await readdir(dir)).filter((f) => f.startsWith("refused"))).toEqual([]);
  });

  it.skipIf(process.platform !== "linux")(
    "closes the file of a PUT that stalls (each retry opened another)",
    async () => {
      // A peer that takes the connection and never reads: the body stops half-way.
      const sockets: Socket[] = [];
      const deaf = createServer((socket) => {
        socket.pause();
        sockets.push(socket);
      });
      await new Promise<void>((r) => deaf.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(deaf.address() as AddressInfo).port}/put`;
      const file = join(dir, "large");
      await writeFile(file, Buffer.alloc(32 * 1024 * 1024));
      const open = () =>
        readdirSync("/proc/self/fd").filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false;
          }
        }).length;
      try {
        for (let attempt = 0; attempt < 3; attempt++)
          await expect(
            putBytes({ url, headers: {} }, file, undefined, undefined, STALL_MS / 1000),
          ).rejects.toMatchObject({ code: "stalled" });
        await new Promise((r) => setTimeout(r, 50));
        expect(open()).toBe(0);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((r) => deaf.close(r));
      }
    },
  );
});

describe("calls to Signet's API", () => {
  const peer = scriptedPeer();
  let base: string;
  beforeAll(async () => {
    base = await peer.start();
  });
  afterAll(() => peer.close());

  it("fail as stalled when the API is silent, and a complete waits as long as it takes", async () => {
    const client = new SignetClient({ server: base, key: "k", apiStallTimeout: STALL_MS / 1000 });
    peer.answer = () => undefined;
    await expect(client.files.get("f_x")).rejects.toMatchObject({ code: "stalled" });
    // A complete answers once the object is assembled and checked: three stall timeouts here.
    peer.answer = (socket) =>
      setTimeout(() => {
        const body = JSON.stringify({ file: { id: "f_x", status: "committed" } });
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
      }, STALL_MS * 3);
    await expect(client.uploads.complete("f_x")).resolves.toMatchObject({
      file: { status: "committed" },
    });
  });

  it("refuses a negative stall timeout at once", () => {
    expect(() => new SignetClient({ server: base, apiStallTimeout: -1 })).toThrow(RangeError);
  });
});
