/**
 * Issue 16, what the first pass left: requests Node's HTTP parser refuses before Fastify sees
 * them answer with the API's error shape, on the control plane and the data plane (one
 * server); every raw request goes over a socket on 127.0.0.1 and every wait is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api, raw, statusOf } from "../helpers/http.js";

/** The status and the JSON error of a raw answer. */
function parse(answer: string): { status: number; code: string | undefined; type: string } {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  const type = /content-type: ([^\r\n]*)/i.exec(head)?.[1] ?? "";
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: statusOf(answer), code, type };
}

describe("requests refused by Node's HTTP parser get the API's error shape", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { limits: { headersTimeoutSeconds: 1 } } });
  });
  afterAll(() => h.close());

  /** A control-plane and a data-plane target. */
  const TARGETS = ["/v1/presign", "/o/default/k.txt?t=not.a.token"];

  const CASES: [string, (target: string) => string, number, string][] = [
    [
      "a bare LF ending a header",
      (t) => `POST ${t} HTTP/1.1\r\nhost: x\nx-a: b\r\n\r\n`,
      400,
      "invalid_request",
    ],
    [
      "a bare LF ending the request line",
      (t) => `GET ${t} HTTP/1.1\nhost: x\n\n`,
      400,
      "invalid_request",
    ],
    [
      "a Content-Length that is not a number",
      (t) => `POST ${t} HTTP/1.1\r\nhost: x\r\ncontent-length: 1x\r\n\r\n`,
      400,
      "invalid_request",
    ],
    [
      "a Content-Length sent twice",
      (t) => `POST ${t} HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab`,
      400,
      "invalid_request",
    ],
    [
      "Content-Length with Transfer-Encoding",
      (t) =>
        `POST ${t} HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
      "invalid_request",
    ],
    [
      "a malformed chunk size",
      (t) => `POST ${t} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`,
      400,
      "invalid_request",
    ],
    [
      "a control character in a header value",
      (t) => `GET ${t} HTTP/1.1\r\nhost: x\r\nx-a: b\x01c\r\n\r\n`,
      400,
      "invalid_request",
    ],
    [
      "headers over the size limit",
      (t) => `GET ${t} HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
      431,
      "headers_too_large",
    ],
    ["a malformed method", (t) => `G@T ${t} HTTP/1.1\r\nhost: x\r\n\r\n`, 400, "invalid_request"],
    [
      "a space in the target",
      (t) => `GET ${t} x HTTP/1.1\r\nhost: x\r\n\r\n`,
      400,
      "invalid_request",
    ],
    [
      "an unknown HTTP version",
      (t) => `GET ${t} HTTP/9.9\r\nhost: x\r\n\r\n`,
      400,
      "invalid_request",
    ],
    ["no Host header", (t) => `GET ${t} HTTP/1.1\r\n\r\n`, 400, "invalid_request"],
  ];

  for (const [what, request, status, code] of CASES)
    it(`${what}: ${status} ${code}`, async () => {
      for (const target of TARGETS) {
        const answer = parse(await raw(h.url, request(target)));
        expect(answer, target).toEqual({ status, code, type: "application/json; charset=utf-8" });
      }
    });

  it("headers that do not arrive within the headers timeout: 408 request_timeout", async () => {
    for (const target of TARGETS) {
      const answer = parse(await raw(h.url, `GET ${target} HTTP/1.1\r\nhost: x\r\nx-a: `));
      expect(answer, target).toEqual({
        status: 408,
        code: "request_timeout",
        type: "application/json; charset=utf-8",
      });
    }
  });

  it("a well-formed request on the same server is still served", async () => {
    const answer = await raw(
      h.url,
      "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    expect(statusOf(answer)).toBe(200);
  });
});

describe("a JSON body that is not valid UTF-8", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { compat: { presignBucket: "default", fenceBucket: "default" } },
    });
  });
  afterAll(() => h.close());

  it("is 400 invalid_request on every route that takes JSON (from the OpenAPI document)", async () => {
    const doc = (await (await fetch(`${h.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: object } }>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(
          ([, op]) =>
            op.requestBody?.content !== undefined && "application/json" in op.requestBody.content,
        )
        .map(([method, _op]) => ({
          method: method.toUpperCase(),
          path: path.replace(/\{[^}]+\}/g, "x"),
        })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(15);
    // A lone continuation byte, an overlong "/", a truncated sequence, a surrogate's encoding.
    for (const bad of [[0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80]]) {
      const body = Buffer.concat([
        Buffer.from('{"bucket":"a'),
        Buffer.from(bad),
        Buffer.from('"}'),
      ]);
      for (const { method, path } of routes) {
        const res = await fetch(`${h.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body,
        });
        const answer = (await res.json()) as { error: { code: string; message: string } };
        expect({ status: res.status, ...answer.error }, `${method} ${path}`).toEqual({
          status: 400,
          code: "invalid_request",
          message: "the JSON body is not valid UTF-8",
        });
      }
    }
  });

  // A refusal said `must match pattern "^[A-Za-z0-9_-]{16,24}$"`: it names the shape in words.
  it("a value of the wrong shape is refused in words, not with a regular expression", async () => {
    const res = await api(h.url, "POST", "/v1/revocations", { tokenId: "nonexistentid" });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "invalid_request",
      field: "tokenId",
      message: "tokenId must be a token id (16 to 24 characters among A-Z, a-z, 0-9, _ and -)",
    });
    await expect(
      startSignet({ config: { auth: { jwt: { secret: "written-in-the-config" } } } }),
    ).rejects.toThrow(/auth\.jwt\.secret must be a \$\{ENV_NAME\} reference/);
  });

  it("while valid UTF-8 (and a BOM) still parses", async () => {
    const body = Buffer.from(
      '\ufeff{"bucket":"default","key":"caf\u00e9 \u{1f600}.txt","method":"GET"}',
    );
    const res = await fetch(`${h.url}/v1/presign`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(200);
  });
});

describe("an unknown bucket is 404 not_found on every route that takes a bucket", () => {
  let h: Harness;
  let reader: string;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, other: { backend: "local" } },
        grants: [{ principal: "role:reader", buckets: ["default"], actions: ["read", "list"] }],
      },
    });
    reader = (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" })).body.key;
  });
  afterAll(() => h.close());

  /** Every route with a bucket in its input: [method, path, body?] for a bucket named `b`. */
  const ROUTES: [string, (b: string) => string, ((b: string) => unknown)?][] = [
    ["GET", (b) => `/v1/files?bucket=${b}`],
    ["POST", () => "/v1/presign", (b) => ({ bucket: b, key: "a.txt", method: "GET" })],
    ["POST", () => "/v1/presign/parts", (b) => ({ bucket: b, key: "a.bin", parts: 1 })],
    [
      "POST",
      () => "/v1/uploads",
      (b) => ({ bucket: b, key: "a.txt", size: 1, contentType: "text/plain" }),
    ],
    ["POST", () => "/v1/shares", (b) => ({ bucket: b, prefix: "p", methods: ["GET"] })],
    ["POST", () => "/v1/revocations", (b) => ({ bucket: b, prefix: "p" })],
    [
      "POST",
      () => "/v1/uppy/sign",
      (b) => ({ bucket: b, key: "a.txt", method: "PUT", contentType: "text/plain" }),
    ],
    ["POST", (b) => `/v1/uppy/s3/uploads?bucket=${b}&key=a.txt`],
    ["DELETE", (b) => `/v1/buckets/${b}`],
    ["POST", (b) => `/v1/buckets/${b}/rotate-key`],
    ["POST", () => "/v1/grants", (b) => ({ principal: "role:x", buckets: [b], actions: ["read"] })],
  ];

  for (const [method, path, body] of ROUTES)
    it(`${method} ${path("{bucket}")}`, async () => {
      const res = await api(h.url, method, path("nope"), body?.("nope"));
      expect({ status: res.status, ...res.body?.error }, "admin").toEqual({
        status: 404,
        code: "not_found",
        message: "bucket not found",
      });
    });

  it("in a batch, each request's result says so", async () => {
    const res = await api(h.url, "POST", "/v1/presign/batch", {
      requests: [{ bucket: "nope", key: "a", method: "GET" }],
    });
    expect(res.body.results[0].error).toEqual({ code: "not_found", message: "bucket not found" });
  });

  it("a bucket the caller has no grant on looks the same as an unknown one", async () => {
    for (const bucket of ["nope", "other"]) {
      const res = await api(h.url, "GET", `/v1/files?bucket=${bucket}`, undefined, reader);
      expect({ status: res.status, ...res.body.error }, bucket).toEqual({
        status: 404,
        code: "not_found",
        message: "bucket not found",
      });
    }
    const mine = await api(h.url, "GET", "/v1/files?bucket=default", undefined, reader);
    expect(mine.status).toBe(200);
  });

  it("the audit filter is the exception: records outlive their bucket (docs/decisions.md)", async () => {
    expect((await api(h.url, "GET", "/v1/audit?bucket=gone")).status).toBe(200);
  });
});

describe("names people type are printable on every route that stores one", () => {
  let h: Harness;
  const secret = "jwt-secret-for-the-printable-names-test-0123456789";
  beforeAll(async () => {
    h = await startSignet({
      config: {
        compat: { presignBucket: "default", fenceBucket: "default" },
        auth: { jwt: { secret: "${JWT_SECRET}" } },
        grants: [{ principal: "role:user", buckets: ["default"], actions: ["read"] }],
      },
      env: { JWT_SECRET: secret },
    });
  });
  afterAll(() => h.close());

  /** CR/LF, NUL, DEL, a C1 control, a line separator, a bidi override, a lone surrogate. */
  const BAD = ["a\r\nb", "a\u0000b", "a\u007fb", "a\u0085b", "a\u2028b", "a\u202eb", "a\ud800b"];

  /** [route, the field named in the error ("": not checked), a valid body with the name in it] */
  const ROUTES: [string, string, (name: string) => unknown][] = [
    ["/v1/apikeys", "name", (name) => ({ name, role: "user" })],
    [
      "/v1/grants",
      "principal",
      (name) => ({ principal: `sub:${name}`, buckets: ["default"], actions: ["read"] }),
    ],
    [
      "/v1/uploads",
      "name",
      (name) => ({ bucket: "default", prefix: "n", name, size: 1, contentType: "text/plain" }),
    ],
    // a union of bodies: Ajv names the first branch's field, so only the status is checked
    // (a principal as tokens carry it: sub:NAME)
    ["/v1/revocations", "", (principal) => ({ principal: `sub:${principal}` })],
    ["/data/upload", "file_name", (file_name) => ({ file_name })],
    ["/data/multipart/init", "file_name", (file_name) => ({ file_name })],
    [
      "/v1/buckets",
      "config.cors.origins.0",
      (origin) => ({
        name: "b1",
        config: { backend: "local", cors: { origins: [`https://${origin}`], methods: ["GET"] } },
      }),
    ],
  ];

  for (const [path, field, body] of ROUTES)
    it(`POST ${path} refuses an unprintable name ${field}, accepts a printable one`, async () => {
      for (const bad of BAD) {
        const res = await api(h.url, "POST", path, body(bad));
        expect(
          { status: res.status, code: res.body?.error?.code, field: res.body?.error?.field },
          JSON.stringify(bad),
        ).toEqual({
          status: 400,
          code: "invalid_request",
          field: field === "" ? res.body?.error?.field : field,
        });
      }
      const good = await api(
        h.url,
        "POST",
        path,
        body(path === "/v1/buckets" ? "a.example" : "Zoë's file ✓"),
      );
      expect(good.status, JSON.stringify(good.body)).toBeLessThan(300);
    });

  it("a JWT whose subject holds a control character is 401", async () => {
    const { SignJWT } = await import("jose");
    const jwt = (sub: string) =>
      new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
    const call = async (sub: string) =>
      (
        await api(
          h.url,
          "POST",
          "/v1/presign",
          { bucket: "default", key: "a.txt", method: "GET" },
          await jwt(sub),
        )
      ).status;
    for (const bad of BAD) expect(await call(bad), JSON.stringify(bad)).toBe(401);
    expect(await call("Zoë")).toBe(200);
  });
});
