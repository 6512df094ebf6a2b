/**
 * Issue 16: hostile input and hostile clients. Each repro of the issue is a test here, with
 * its sibling paths (control plane, data plane, links, form uploads). Everything runs on
 * 127.0.0.1; every wait is bounded.
 */
import { connect, type Socket } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { exportJWK, SignJWT } from "jose";
import { createServer, type Server } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { logSerializers } from "../../src/http/log.js";
import { validateConfig } from "../../src/service/config.js";
import { openSignet } from "../../src/service/signet.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { run } from "../helpers/process.js";

/** Opens a socket, writes `head` (and `body` if given), and reports what came back and whether the server closed it within `waitMs`. */
function hold(
  base: string,
  head: string,
  options: { body?: string; waitMs: number; trickle?: boolean },
): Promise<{ answer: string; closed: boolean }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname);
    let answer = "";
    let closed = false;
    let trickler: NodeJS.Timeout | undefined;
    socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
      finish();
    });
    const timer = setTimeout(() => finish(), options.waitMs);
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(trickler);
      socket.destroy();
      resolve({ answer, closed });
    }
    socket.write(head);
    if (options.body !== undefined) socket.write(options.body);
    // One byte every 200 ms: the body is never silent long enough for an idle timeout.
    if (options.trickle) trickler = setInterval(() => socket.write("x"), 200);
  });
}

describe("hostile clients: limits and timeouts", () => {
  let h: Harness;
  let put: string;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        limits: {
          bodyIdleTimeoutSeconds: 1,
          controlBodyTimeoutSeconds: 2,
          maxJsonDepth: 16,
          maxBodyBytes: 65536,
        },
      },
    });
    put = (
      await api(h.url, "POST", "/v1/presign", { bucket: "default", key: "slow.bin", method: "PUT" })
    ).body.url;
  });
  afterAll(() => h.close());

  it("a body trickled byte by byte after a 401 does not keep the socket", async () => {
    const head =
      "POST /v1/presign HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
    const { answer, closed } = await hold(h.url, head, { body: "{", waitMs: 5_000, trickle: true });
    expect(answer).toMatch(/^HTTP\/1.1 401/);
    expect(answer.toLowerCase()).toContain("connection: close");
    expect(closed).toBe(true);
  });

  it("nor after an authenticated 404, nor on the data plane with a bad token", async () => {
    for (const [path, auth, status] of [
      ["/v1/nothing-here", `authorization: Bearer ${ADMIN_KEY}\r\n`, 404],
      ["/o/default/k?t=bad.token", "", 403],
      ["/l/bad.token", "", 403],
    ] as const) {
      const head = `PUT ${path} HTTP/1.1\r\nhost: x\r\n${auth}content-length: 100000\r\n\r\n`;
      const { answer, closed } = await hold(h.url, head, {
        body: "x",
        waitMs: 5_000,
        trickle: true,
      });
      expect(answer, path).toMatch(new RegExp(`^HTTP/1.1 ${status}`));
      expect(closed, path).toBe(true);
    }
  });

  it("an authenticated control-plane body trickled steadily is cut at its deadline", async () => {
    const head = `POST /v1/presign HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n`;
    const { closed } = await hold(h.url, head, { body: "{", waitMs: 6_000, trickle: true });
    expect(closed).toBe(true);
  });

  it("a form POST that stalls before its token is cut by the body idle timeout", async () => {
    const boundary = "----b";
    const head = `POST /o/default/ HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: 100000\r\n\r\n`;
    const { closed } = await hold(h.url, head, {
      body: `--${boundary}\r\ncontent-disposition: form-data; name="key"\r\n\r\nk`,
      waitMs: 5_000,
    });
    expect(closed).toBe(true);
  });

  it("a stalled upload is cut and nothing is kept", async () => {
    const target = new URL(put);
    const head = `PUT ${target.pathname}${target.search} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n`;
    const { closed } = await hold(h.url, head, { body: "x".repeat(500), waitMs: 5_000 });
    expect(closed).toBe(true);
    // the server's side of the cut is asynchronous: wait (bounded) for the temp file to go
    for (let i = 0; i < 50 && (await readdir(join(h.dataDir, "tmp"))).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(join(h.dataDir, "tmp"))).toEqual([]);
    expect(await h.signet.objects.store.head("default", "slow.bin")).toBeUndefined();
  });

  it("deep JSON is refused before parsing; large bodies by their Content-Length", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const res = await api(h.url, "POST", "/v1/presign", deep);
    expect(res.status).toBe(413);
    const nested = `{"bucket":"default","key":"k","method":"GET","x":${"[".repeat(20)}${"]".repeat(20)}}`;
    const refused = await api(h.url, "POST", "/v1/presign", nested);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("invalid_request");
    expect(refused.body.error.message).toMatch(/nested deeper than 16/);
    // depth inside strings does not count
    const inString = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: `${"[".repeat(40)}`,
      method: "GET",
    });
    expect(inString.status).toBe(200);
    // unauthenticated: 401 before the body is looked at
    expect((await api(h.url, "POST", "/v1/presign", deep, null)).status).toBe(401);
  });

  it("without auth, an oversized body is still 401 (credentials first), with the error shape", async () => {
    const res = await api(h.url, "POST", "/v1/presign", "x".repeat(70_000), null);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
  });
});

describe("strict media types, cookies, JWT claims, principals", () => {
  let h: Harness;
  let jwks: Server;
  let jwksUrl: string;
  let rsa: { privateKey: KeyObject; publicKey: KeyObject };
  let userKey: string;
  let userId: string;
  beforeAll(async () => {
    // a KeyObject signs RS* and PS* alike, so the server alone decides what it accepts
    rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    // a JWK without "alg": pinned to RS256 by its type
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: "k1" };
    jwks = createServer((_q, r) => r.end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", () => r()));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
    h = await startSignet({
      config: {
        auth: { jwt: { jwksUrl, audience: "signet" } },
        session: { cookieName: "sid" },
        grants: [
          {
            principal: "role:user",
            buckets: ["default"],
            prefix: "kyc/${sub}/",
            actions: ["read", "write"],
            require: { contentTypes: ["image/*"] },
          },
        ],
      },
    });
    const created = await h.signet.apiKeys.create({ name: "u", role: "user" });
    userKey = created.key;
    userId = created.info.id;
  });
  afterAll(async () => {
    await h.close();
    await new Promise((r) => jwks.close(r));
  });

  const jwt = (sub: string, edit: (j: SignJWT) => SignJWT = (j) => j, alg = "RS256") =>
    edit(
      new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg, kid: "k1" })
        .setSubject(sub)
        .setAudience("signet")
        .setIssuedAt(),
    ).sign(rsa.privateKey);
  const withExp = (j: SignJWT) => j.setExpirationTime("5m");
  const presign = (credential: string, body: Record<string, unknown>) =>
    api(h.url, "POST", "/v1/presign", { bucket: "default", method: "GET", ...body }, credential);

  it("a grant limited to image/* refuses a second type smuggled into parameters", async () => {
    const key = `kyc/key:${userId}/a.png`;
    for (const contentType of ["image/png;x=,text/html", "image/png; x=1", "text/html"]) {
      const res = await presign(userKey, { key, method: "PUT", contentType, contentLength: 1 });
      expect([400, 403], contentType).toContain(res.status);
    }
    const form = await presign(userKey, {
      key,
      method: "POST",
      contentType: "image/*;x=,text/html",
    });
    expect(form.status).toBe(400);
    const intent = await api(
      h.url,
      "POST",
      "/v1/uploads",
      { bucket: "default", key, size: 1, contentType: "image/png;x=,text/html" },
      userKey,
    );
    expect([400, 403]).toContain(intent.status);
    expect((await presign(userKey, { key, method: "PUT", contentType: "image/png" })).status).toBe(
      200,
    );
  });

  it("a form upload's Content-Type field with CR/LF is refused, and a stored bad type never breaks a GET", async () => {
    const folder = (
      await api(h.url, "POST", "/v1/presign", {
        bucket: "default",
        prefix: "forms",
        method: "POST",
      })
    ).body;
    const form = new FormData();
    for (const [name, value] of Object.entries(folder.fields as Record<string, string>))
      form.append(name, value);
    form.append("Content-Type", "text/plain\r\nx-injected: 1");
    form.append("file", new Blob(["hello"]), "a.txt");
    // Sent with its length, as a browser sends a form: the refusal comes before the file part,
    // and the unread rest is drained so the client gets the answer (Node 24's fetch would see
    // EPIPE on a closed connection).
    const encoded = new Response(form);
    const res = await fetch(folder.url, {
      method: "POST",
      headers: { "content-type": encoded.headers.get("content-type")! },
      body: Buffer.from(await encoded.arrayBuffer()),
    });
    expect(res.status).toBe(400);
    expect(await h.signet.objects.store.head("default", "forms/a.txt")).toBeUndefined();

    // A row written before strict parsing (or by another path) is served as octet-stream.
    await h.signet.objects.store.put("default", "legacy.txt", Readable.from([Buffer.from("x")]), {
      contentType: "text/plain",
    });
    const updated = await h.signet.db
      .updateTable("objects" as never)
      .set({ content_type: "text/plain\r\nx-injected: 1" } as never)
      .where("key" as never, "=", "legacy.txt" as never)
      .executeTakeFirst();
    expect(Number(updated.numUpdatedRows)).toBe(1);
    const get = (await presign(ADMIN_KEY, { key: "legacy.txt" })).body.url;
    const served = await fetch(get);
    expect(served.status).toBe(200);
    expect(served.headers.get("x-injected")).toBeNull();
  });

  it("a malformed session cookie is 401, never 500", async () => {
    for (const cookie of ["sid=%E0%A4%A", "sid=%", 'sid="', "sid=; sid=x", "=%E0"]) {
      const res = await fetch(`${h.url}/r/f_0123456789012345678901`, {
        headers: { cookie },
        redirect: "manual",
      });
      expect(res.status, cookie).toBe(401);
    }
  });

  it("a JWT without exp is refused; nbf and iat in the future are refused beyond the leeway", async () => {
    const key = "kyc/sub:alice/a.png";
    expect((await presign(await jwt("alice", withExp), { key })).status).toBe(200);
    expect((await presign(await jwt("alice"), { key })).status).toBe(401);
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect(
      (await presign(await jwt("alice", (j) => withExp(j).setNotBefore(future)), { key })).status,
    ).toBe(401);
    expect(
      (await presign(await jwt("alice", (j) => withExp(j).setIssuedAt(future)), { key })).status,
    ).toBe(401);
    expect(
      (
        await presign(
          await jwt("alice", (j) => withExp(j).setIssuedAt(Math.floor(Date.now() / 1000) + 5)),
          { key },
        )
      ).status,
    ).toBe(200);
  });

  it("a JWKS key without alg verifies its type's default algorithm only", async () => {
    const key = "kyc/sub:alice/a.png";
    expect((await presign(await jwt("alice", withExp, "PS256"), { key })).status).toBe(401);
    expect((await presign(await jwt("alice", withExp, "RS512"), { key })).status).toBe(401);
    expect((await presign(await jwt("alice", withExp, "RS256"), { key })).status).toBe(200);
  });

  it("a JWT whose sub equals an API key's id never reaches that key's ${sub} folder", async () => {
    const keyFolder = `kyc/key:${userId}/a.png`;
    const impostor = await jwt(userId, withExp);
    expect((await presign(userKey, { key: keyFolder })).status).toBe(200);
    expect((await presign(impostor, { key: keyFolder })).status).toBe(403);
    expect((await presign(impostor, { key: `kyc/${userId}/a.png` })).status).toBe(403);
    expect((await presign(userKey, { key: `kyc/${userId}/a.png` })).status).toBe(403);
    expect((await presign(impostor, { key: `kyc/sub:${userId}/a.png` })).status).toBe(200);
  });
});

describe("admin key strength and failed-auth throttling", () => {
  it("a short or weak env admin key refuses to start, saying why", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "signet-weak-"));
    try {
      for (const adminKey of ["abc", "x".repeat(31), "ab".repeat(20)])
        await expect(
          openSignet({ dataDir, config: validateConfig({}), adminKey, env: {} }),
        ).rejects.toThrow(/SIGNET_ADMIN_KEY is too (short|weak)/);
      const served = await run(["serve", "--port", "0", "--data", dataDir], {
        SIGNET_ADMIN_KEY: "abc",
      });
      expect(served.code).not.toBe(0);
      expect(served.stderr).toMatch(/at least 32/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("failed credentials are throttled per client address and per key id (429, Retry-After)", async () => {
    const h = await startSignet({
      config: {
        trustedProxies: ["127.0.0.1/32"],
        limits: { authFailures: { perAddress: 5, perKey: 3, windowSeconds: 60 } },
      },
    });
    try {
      const call = (key: string, from: string) =>
        fetch(`${h.url}/v1/audit`, {
          headers: { authorization: `Bearer ${key}`, "x-forwarded-for": from },
        });
      // per address: wrong guesses of the admin key
      for (let i = 0; i < 5; i++) expect((await call(`guess-${i}`, "192.0.2.1")).status).toBe(401);
      const blocked = await call("guess-6", "192.0.2.1");
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await blocked.json()) as any).error.code).toBe("rate_limited");
      // even the right key, from that address, until the window ends
      expect((await call(ADMIN_KEY, "192.0.2.1")).status).toBe(429);
      expect((await call(ADMIN_KEY, "192.0.2.2")).status).toBe(200);
      // per key id: guesses at one key's secret from many addresses
      const { key, info } = await h.signet.apiKeys.create({ name: "t", role: "admin" });
      const wrong = `sg_${info.id}_${"A".repeat(43)}`;
      for (let i = 0; i < 3; i++) expect((await call(wrong, `198.51.100.${i}`)).status).toBe(401);
      expect((await call(wrong, "198.51.100.9")).status).toBe(429);
      // the right secret is not: a key's id is public (attack-auth-throttle.test.ts)
      expect((await call(key, "198.51.100.10")).status).toBe(200);
      // the session route is throttled the same way
      for (let i = 0; i < 6; i++)
        await fetch(`${h.url}/r/f_0123456789012345678901`, {
          headers: { authorization: `Bearer nope-${i}`, "x-forwarded-for": "203.0.113.7" },
          redirect: "manual",
        });
      const session = await fetch(`${h.url}/r/f_0123456789012345678901`, {
        headers: { authorization: "Bearer nope", "x-forwarded-for": "203.0.113.7" },
        redirect: "manual",
      });
      expect(session.status).toBe(429);
    } finally {
      await h.close();
    }
  });
});

describe("logs never hold a link's token, whatever form the request target takes", () => {
  it("sends every form and greps the log", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "signet-log-"));
    let log = "";
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        log += chunk.toString();
        done();
      },
    });
    const signet = await openSignet({
      dataDir,
      config: validateConfig({}),
      adminKey: ADMIN_KEY,
      env: {},
    });
    const app = await buildApp(signet, {
      logger: pino({ level: "trace", serializers: logSerializers }, sink),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    signet.publicUrl = url;
    try {
      await signet.objects.store.put("default", "a.txt", Readable.from([Buffer.from("x")]), {
        contentType: "text/plain",
      });
      const link = (
        await api(url, "POST", "/v1/presign", {
          bucket: "default",
          key: "a.txt",
          method: "GET",
          delivery: "link",
        })
      ).body.url as string;
      const share = (
        await api(url, "POST", "/v1/shares", {
          bucket: "default",
          prefix: "",
          methods: ["GET", "LIST"],
          expiresIn: 600,
        })
      ).body;
      const token = link.split("/l/")[1]!;
      const direct = (
        await api(url, "POST", "/v1/presign", { bucket: "default", key: "a.txt", method: "GET" })
      ).body.url as string;
      const t = new URL(direct).searchParams.get("t")!;
      const shareToken = /\/s\/([^/]+)/.exec(share.url as string)![1]!;
      const targets = [
        `/l/${token}`,
        `//l/${token}`,
        `/%6c/${token}`,
        `/%6C/${token}`,
        `/./l/${token}`,
        `/x/../l/${token}`,
        `/l/${token}?x=1`,
        `${url}/l/${token}`,
        `http://evil.example//l/${token}`,
        `/o/default/a.txt?t=${t}`,
        `//o/default/a.txt?t=${t}`,
        `/o/default/${t}`,
        `/s/${shareToken}/a.txt`,
        `//s/${shareToken}/`,
        `/%73/${shareToken}/a.txt`,
      ];
      for (const target of targets)
        await hold(url, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`, {
          waitMs: 2_000,
        });
      // Requests Node's parser refuses (its error holds the raw bytes): a bare LF, a bad length.
      for (const target of [`/l/${token}`, `/o/default/a.txt?t=${t}`])
        for (const tail of ["host: x\nx-a: b\r\n\r\n", "host: x\r\ncontent-length: 1x\r\n\r\n"])
          await hold(url, `GET ${target} HTTP/1.1\r\n${tail}`, { waitMs: 2_000 });
      expect(log).toContain(`"msg":"request"`);
      expect(log).toContain(`"msg":"client error"`);
      for (const secret of [token, t, shareToken]) {
        const [payload, mac] = secret.split(".") as [string, string];
        expect(log).not.toContain(mac);
        expect(log).not.toContain(payload.slice(0, 24));
      }
      expect(log).not.toContain(ADMIN_KEY);
    } finally {
      await app.close();
      await signet.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
