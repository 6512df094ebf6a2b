/**
 * Issue 17: one log line per request at info (not Fastify's two), carrying status, error code,
 * duration and the token's id, never the token, on the data plane, links and the control plane.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignetClient } from "../../src/client/index.js";
import { buildApp } from "../../src/http/app.js";
import { logSerializers } from "../../src/http/log.js";
import { validateConfig } from "../../src/service/config.js";
import { openSignet, type Signet } from "../../src/service/signet.js";
import { ADMIN_KEY } from "../helpers/harness.js";

describe("request logs", () => {
  const lines: Record<string, unknown>[] = [];
  let dir: string;
  let signet: Signet;
  let app: FastifyInstance;
  let admin: SignetClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-log-"));
    signet = await openSignet({
      dataDir: dir,
      config: validateConfig({}),
      adminKey: ADMIN_KEY,
      env: {},
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = await buildApp(signet, {
      logger: pino({ level: "info", serializers: logSerializers }, sink),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as { port: number };
    signet.publicUrl = `http://127.0.0.1:${port}`;
    admin = new SignetClient({ server: signet.publicUrl, key: ADMIN_KEY });
  });
  afterAll(async () => {
    await app.close();
    await signet.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The lines logged while `act` ran (pino writes before the response hook resolves). */
  async function logged(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
    const from = lines.length;
    await act();
    await new Promise((r) => setTimeout(r, 20));
    return lines.slice(from);
  }

  it("a signed GET: one line with status, duration and token id, and no token", async () => {
    const put = await admin.presign({ bucket: "default", key: "a.txt", method: "PUT" });
    await fetch(put.url, { method: "PUT", body: "hello" });
    const get = await admin.presign({ bucket: "default", key: "a.txt", method: "GET" });
    const token = new URL(get.url).searchParams.get("t")!;
    const out = await logged(async () => (await fetch(get.url)).text());
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      level: 30,
      msg: "request",
      status: 200,
      tokenId: get.id,
      principal: "env:admin",
      req: { method: "GET", path: "/o/default/a.txt" },
    });
    expect(typeof out[0]!.ms).toBe("number");
    expect(out[0]!.code).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain(token);
    expect(JSON.stringify(out)).not.toContain(token.split(".")[1]!);
  });

  it("a refused request names its error code", async () => {
    const out = await logged(async () =>
      (await fetch(`${signet.publicUrl}/o/default/a.txt?t=not.valid`)).text(),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ status: 403, code: "token_invalid" });
    expect(JSON.stringify(out)).not.toContain("not.valid");
  });

  it("a link: one line, the token neither in the path nor anywhere else", async () => {
    const link = await admin.presign({
      bucket: "default",
      key: "a.txt",
      method: "GET",
      delivery: "link",
    });
    const token = new URL(link.url).pathname.split("/")[2]!;
    const out = await logged(async () => (await fetch(link.url, { redirect: "manual" })).text());
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ tokenId: link.id, req: { path: "/l/…" } });
    expect(JSON.stringify(out)).not.toContain(token);
  });

  it("the control plane: one line with the caller, never the key", async () => {
    const out = await logged(() => admin.presign({ bucket: "default", key: "b", method: "GET" }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ status: 200, principal: "env:admin", msg: "request" });
    expect(JSON.stringify(out)).not.toContain(ADMIN_KEY);
    const refused = await logged(() =>
      fetch(`${signet.publicUrl}/v1/presign`, { method: "POST", body: "{}" }),
    );
    expect(refused[0]).toMatchObject({ status: 401, code: "unauthorized" });
  });
});
