/**
 * The S3 backend without a store: what unbound() reports for each constraint, the shape of what
 * presign() returns, expiry under temporary credentials, the bucket config, the delegation to
 * the POST policy, and how the SDK's answers are read (a fake request handler, no network).
 */
import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { presignPost } from "../../src/backends/s3/s3-post-policy.js";
import {
  type S3BackendOptions,
  type S3BucketConfig,
  type S3Credentials,
  S3Backend,
  S3BucketConfigSchema,
  createS3Backend,
} from "../../src/backends/s3/s3.js";
import { type S3Location, S3Signer } from "../../src/backends/s3/s3-signing.js";
import type { DirectScope, PostScope } from "../../src/backends/types.js";
import type { ScopeConstraints } from "../../src/core/constraints.js";
import type { Method } from "../../src/core/methods.js";
import { parser } from "../../src/core/schema.js";

const CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const LOCATION: S3Location = { bucket: "signet-test", region: "eu-west-3" };
const NOW = new Date("2026-01-02T03:04:05.000Z");
const CHECKSUM = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; // SHA-256 of ""
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

function backend(options: Partial<S3BackendOptions> = {}): S3Backend {
  return new S3Backend({
    location: LOCATION,
    checksums: "enforced",
    maxExpiresIn: 604_800,
    client: new S3Client({ region: LOCATION.region, credentials: CREDENTIALS }),
    credentials: CREDENTIALS,
    ...options,
  });
}

function scope(
  methods: Method[],
  constraints: ScopeConstraints = {},
  extra: Partial<DirectScope> = {},
): DirectScope {
  return {
    bucket: "media",
    methods,
    key: "reports/q3 é.pdf",
    expiresAt: later(900),
    principal: "user-1",
    tokenId: "tok-1",
    constraints,
    ...extra,
  };
}

const query = (url: string, name: string) => new URL(url).searchParams.get(name);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe("unbound()", () => {
  const cases: [string, Method, ScopeConstraints, string[], string[]][] = [
    // name, method, constraints, unbound with checksums enforced, with checksums ignored
    ["range on GET", "GET", { range: { start: 0, end: 99 } }, [], []],
    ["range on HEAD", "HEAD", { range: { start: 0, end: 99 } }, [], []],
    [
      "response overrides",
      "GET",
      { responseContentDisposition: "attachment", responseContentType: "application/pdf" },
      [],
      [],
    ],
    [
      "exact length and type on PUT",
      "PUT",
      { contentLength: 5, contentType: "text/plain" },
      [],
      [],
    ],
    ["sha256 on PUT", "PUT", { checksumSha256: CHECKSUM }, [], ["checksumSha256"]],
    [
      "a length range on PUT",
      "PUT",
      { contentLengthRange: [1, 10] },
      ["contentLengthRange"],
      ["contentLengthRange"],
    ],
    ["ip", "GET", { ip: ["10.0.0.0/8"] }, ["ip"], ["ip"]],
    [
      "required headers",
      "PUT",
      { headers: { "x-amz-meta-owner": "42" } },
      ["headers"],
      ["headers"],
    ],
    ["no required headers", "PUT", { headers: {} }, [], []],
    ["a length on GET", "GET", { contentLength: 5 }, ["contentLength"], ["contentLength"]],
    ["a range on PUT", "PUT", { range: { start: 0, end: 1 } }, ["range"], ["range"]],
    ["a type on DELETE", "DELETE", { contentType: "text/plain" }, ["contentType"], ["contentType"]],
    ["nothing on DELETE", "DELETE", {}, [], []],
  ];

  it.each(cases)("%s", (_, method, constraints, enforced, ignored) => {
    expect(backend().unbound(scope([method], constraints))).toEqual(enforced);
    expect(backend({ checksums: "ignored" }).unbound(scope([method], constraints))).toEqual(
      ignored,
    );
  });

  it("names several methods, a folder, notBefore, LIST and POST", () => {
    const b = backend();
    expect(b.unbound(scope(["GET", "HEAD"]))).toEqual(["methods"]);
    expect(b.unbound(scope(["GET"], {}, { key: undefined, folder: "reports/" }))).toEqual([
      "folder",
    ]);
    expect(b.unbound(scope(["GET"], {}, { notBefore: later(60) }))).toEqual(["notBefore"]);
    expect(b.unbound(scope(["LIST"], {}, { key: undefined, folder: "" }))).toEqual([
      "methods",
      "folder",
    ]);
    expect(b.unbound(scope(["POST"]))).toEqual(["methods"]);
    // a range binds on GET and on HEAD, but one URL cannot carry both methods
    expect(b.unbound(scope(["GET", "HEAD"], { range: { start: 0, end: 1 } }))).toEqual(["methods"]);
    expect(b.unbound(scope(["GET", "PUT"], { contentLength: 5 }))).toEqual([
      "methods",
      "contentLength",
    ]);
  });

  it("returns every unbound name at once", () => {
    const everything = scope(
      ["PUT", "GET"],
      {
        contentLength: 5,
        contentLengthRange: [1, 10],
        checksumSha256: CHECKSUM,
        ip: ["127.0.0.1/32"],
        headers: { "x-amz-meta-a": "1" },
      },
      { key: undefined, folder: "u/", notBefore: later(1) },
    );
    expect(backend({ checksums: "ignored" }).unbound(everything)).toEqual([
      "methods",
      "folder",
      "notBefore",
      "contentLength",
      "contentLengthRange",
      "checksumSha256",
      "ip",
      "headers",
    ]);
  });

  it("binds a multipart part with its length", () => {
    const part = scope(
      ["PUT"],
      { contentLength: 5 * 1024 * 1024 },
      {
        part: { uploadId: "up-1", partNumber: 2 },
      },
    );
    expect(backend().unbound(part)).toEqual([]);
  });
});

describe("presign()", () => {
  /** X-Amz-SignedHeaders must be host plus exactly the headers the reply tells the client to send. */
  function expectHeadersListed(request: { url: string; headers: Record<string, string> }) {
    const signed = query(request.url, "X-Amz-SignedHeaders")!.split(";");
    expect(signed).toEqual(["host", ...Object.keys(request.headers)].sort());
    for (const name of Object.keys(request.headers)) expect(name).toBe(name.toLowerCase());
  }
  /** No checksum the SDK would add on its own (its empty-body CRC32 breaks every upload). */
  function expectNoStrayChecksum(url: string) {
    const names = [...new URL(url).searchParams.keys()].map((n) => n.toLowerCase());
    expect(names.filter((n) => n.includes("checksum") || n === "x-id")).toEqual([]);
  }

  it("signs a ranged GET with response overrides: the URL S3Signer makes", () => {
    const constraints: ScopeConstraints = {
      range: { start: 100, end: 199 },
      responseContentDisposition: 'attachment; filename="q3.pdf"',
      responseContentType: "application/pdf",
    };
    const request = backend().presign(scope(["GET"], constraints));
    expect(request).toEqual({
      url: new S3Signer(LOCATION, CREDENTIALS).presign({
        method: "GET",
        key: "reports/q3 é.pdf",
        expiresAt: later(900),
        ...constraints,
      }).url,
      method: "GET",
      headers: { range: "bytes=100-199" },
    });
    expect(request.url).toMatch(
      /^https:\/\/signet-test\.s3\.eu-west-3\.amazonaws\.com\/reports\/q3%20%C3%A9\.pdf\?/,
    );
    expect(query(request.url, "X-Amz-Expires")).toBe("900");
    expect(query(request.url, "response-content-type")).toBe("application/pdf");
    expectHeadersListed(request);
    expectNoStrayChecksum(request.url);
  });

  it("signs a PUT's length, type and sha256 as headers the client must send", () => {
    const request = backend().presign(
      scope(["PUT"], { contentLength: 1234, contentType: "image/jpeg", checksumSha256: CHECKSUM }),
    );
    expect(request.method).toBe("PUT");
    expect(request.methods).toBeUndefined();
    expect(request.headers).toEqual({
      "content-length": "1234",
      "content-type": "image/jpeg",
      "x-amz-checksum-sha256": CHECKSUM,
    });
    expectHeadersListed(request);
    expect(query(request.url, "X-Amz-SignedHeaders")).toBe(
      "content-length;content-type;host;x-amz-checksum-sha256",
    );
  });

  it("signs a bare PUT with no headers and no checksum of an empty body", () => {
    const request = backend().presign(scope(["PUT"]));
    expect(request.headers).toEqual({});
    expect(query(request.url, "X-Amz-SignedHeaders")).toBe("host");
    expectNoStrayChecksum(request.url);
  });

  it("signs a multipart part: uploadId and partNumber in the query, its length a header", () => {
    const request = backend().presign(
      scope(["PUT"], { contentLength: 5_242_880 }, { part: { uploadId: "up/1+2", partNumber: 7 } }),
    );
    expect(query(request.url, "uploadId")).toBe("up/1+2");
    expect(query(request.url, "partNumber")).toBe("7");
    expect(request.headers).toEqual({ "content-length": "5242880" });
    expectHeadersListed(request);
    expectNoStrayChecksum(request.url);
  });

  it("signs DELETE and HEAD", () => {
    for (const method of ["DELETE", "HEAD"] as const) {
      const request = backend().presign(scope([method]));
      expect(request).toMatchObject({ method, headers: {} });
      expectHeadersListed(request);
    }
  });

  it("uses path style on an S3-compatible endpoint", () => {
    const request = backend({
      location: { ...LOCATION, endpoint: "http://127.0.0.1:9000", forcePathStyle: true },
    }).presign(scope(["GET"]));
    expect(request.url).toMatch(
      /^http:\/\/127\.0\.0\.1:9000\/signet-test\/reports\/q3%20%C3%A9\.pdf\?/,
    );
  });

  it("refuses what it cannot bind, naming it, rather than dropping it", () => {
    const refusals: [S3Backend, DirectScope, string][] = [
      [
        backend({ checksums: "ignored" }),
        scope(["PUT"], { checksumSha256: CHECKSUM }),
        "checksumSha256",
      ],
      [backend(), scope(["GET"], { ip: ["10.0.0.0/8"] }), "ip"],
      [backend(), scope(["GET", "HEAD"]), "methods"],
      [backend(), scope(["GET"], {}, { key: undefined, folder: "reports/" }), "folder"],
      [backend(), scope(["PUT"], { contentLengthRange: [0, 10] }), "contentLengthRange"],
    ];
    for (const [b, s, field] of refusals)
      expect(() => b.presign(s)).toThrow(
        expect.objectContaining({ code: "constraint_not_enforceable", field }),
      );
  });

  it("refuses more than 7 days", () => {
    expect(() => backend().presign(scope(["GET"], {}, { expiresAt: later(604_801) }))).toThrow(
      expect.objectContaining({ code: "expiry_too_long" }),
    );
    expect(backend().presign(scope(["GET"], {}, { expiresAt: later(604_800) })).url).toContain(
      "X-Amz-Expires=604800",
    );
  });
});

describe("temporary credentials", () => {
  const temporary = (accessKeyId: string, seconds: number): S3Credentials => ({
    ...CREDENTIALS,
    accessKeyId,
    sessionToken: `token-of-${accessKeyId}`,
    expiration: later(seconds),
  });
  const post = (expiresAt: Date): PostScope => ({
    bucket: "media",
    key: "u/1",
    expiresAt,
    principal: "user-1",
    tokenId: "tok-2",
  });

  it("caps expiresAt and maxExpiresIn at the credentials' expiry", () => {
    const b = backend({ credentials: temporary("ASIAOLD", 3600) });
    expect(b.maxExpiresIn).toBe(3600);
    const url = b.presign(scope(["GET"], {}, { expiresAt: later(3600) })).url;
    expect(query(url, "X-Amz-Security-Token")).toBe("token-of-ASIAOLD");
    expect(() => b.presign(scope(["GET"], {}, { expiresAt: later(3601) }))).toThrow(
      expect.objectContaining({ code: "expiry_too_long", field: "expiresIn" }),
    );
    expect(() => b.presignPost(post(later(3601)))).toThrow(
      expect.objectContaining({ code: "expiry_too_long" }),
    );
    expect(
      backend({ maxExpiresIn: 900, credentials: temporary("ASIAOLD", 3600) }).maxExpiresIn,
    ).toBe(900);
    vi.setSystemTime(later(3000));
    expect(b.maxExpiresIn).toBe(600);
    vi.setSystemTime(later(3700));
    expect(b.maxExpiresIn).toBe(0);
  });

  it("renews them in the background as they near their expiry", async () => {
    const renew = vi.fn(async () => temporary("ASIANEW", 7200));
    const b = backend({ credentials: temporary("ASIAOLD", 600), renew });
    const first = b.presign(scope(["GET"], {}, { expiresAt: later(300) }));
    expect(query(first.url, "X-Amz-Credential")).toMatch(/^ASIAOLD\//);
    expect(renew).toHaveBeenCalledExactlyOnceWith({ forceRefresh: true });
    await b.refreshCredentials(); // joins the renewal under way
    expect(renew).toHaveBeenCalledTimes(1);
    const second = b.presign(scope(["GET"], {}, { expiresAt: later(3600) }));
    expect(query(second.url, "X-Amz-Credential")).toMatch(/^ASIANEW\//);
    expect(query(second.url, "X-Amz-Security-Token")).toBe("token-of-ASIANEW");
    expect(renew).toHaveBeenCalledTimes(1); // far from expiry again
  });

  it("keeps the current credentials when a renewal fails, and retries at most once a minute", async () => {
    const renew = vi.fn(() => Promise.reject(new Error("metadata service down")));
    const b = backend({ credentials: temporary("ASIAOLD", 600), renew });
    b.presign(scope(["GET"], {}, { expiresAt: later(300) }));
    await expect(b.refreshCredentials()).rejects.toThrow("metadata service down");
    expect(renew).toHaveBeenCalledTimes(1);
    vi.setSystemTime(later(30));
    expect(
      query(b.presign(scope(["GET"], {}, { expiresAt: later(500) })).url, "X-Amz-Credential"),
    ).toMatch(/^ASIAOLD\//);
    expect(renew).toHaveBeenCalledTimes(1);
    vi.setSystemTime(later(61));
    b.presign(scope(["GET"], {}, { expiresAt: later(500) }));
    expect(renew).toHaveBeenCalledTimes(2);
    await expect(b.refreshCredentials()).rejects.toThrow();
  });

  it("reads them from the SDK's default chain, expiry included", async () => {
    vi.stubEnv("AWS_PROFILE", undefined);
    vi.stubEnv("AWS_ACCESS_KEY_ID", "ASIAFROMENV");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret-from-env");
    vi.stubEnv("AWS_SESSION_TOKEN", "session-from-env");
    vi.stubEnv("AWS_CREDENTIAL_EXPIRATION", later(1800).toISOString());
    const b = await createS3Backend(
      { backend: "s3", bucket: "signet-test", region: "eu-west-3" },
      {},
    );
    expect(b.maxExpiresIn).toBe(1800);
    const url = b.presign(scope(["GET"], {}, { expiresAt: later(1800) })).url;
    expect(query(url, "X-Amz-Credential")).toMatch(/^ASIAFROMENV\//);
    expect(query(url, "X-Amz-Security-Token")).toBe("session-from-env");
    expect(() => b.presign(scope(["GET"], {}, { expiresAt: later(1801) }))).toThrow(
      expect.objectContaining({ code: "expiry_too_long" }),
    );
    b.destroy();
  });

  it("leaves static credentials uncapped (their expiry is unknown)", async () => {
    const b = await createS3Backend(
      {
        backend: "s3",
        bucket: "signet-test",
        region: "eu-west-3",
        accessKeyId: "${KEY_ID}",
        secretAccessKey: "${SECRET}",
        sessionToken: "${TOKEN}",
        maxExpiresIn: 86_400,
      },
      { KEY_ID: "ASIASTATIC", SECRET: "s", TOKEN: "t" },
    );
    expect(b.maxExpiresIn).toBe(86_400);
    expect(query(b.presign(scope(["GET"])).url, "X-Amz-Security-Token")).toBe("t");
    b.destroy();
  });
});

describe("bucket config", () => {
  const parse = parser(S3BucketConfigSchema, "buckets.media");
  const base: S3BucketConfig = {
    backend: "s3",
    bucket: "acme-media",
    region: "eu-west-3",
    accessKeyId: "${S3_KEY_ID}",
    secretAccessKey: "${S3_SECRET}",
  };
  const ENV = { S3_KEY_ID: "AKIAVISIBLEKEYID", S3_SECRET: "very-secret-value" };

  it("takes the issue's fields and the common ones", () => {
    const full = {
      ...base,
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      sessionToken: "${S3_TOKEN}",
      checksums: "enforced",
      maxExpiresIn: 604_800,
      maxObjectSize: 1e9,
    };
    expect(parse(full)).toEqual(full);
    expect(parse({ backend: "s3", bucket: "b", region: "us-east-1" })).toBeTruthy();
  });

  it.each([
    [{ ...base, acl: "public-read" }, "buckets.media.acl"],
    [{ ...base, secretAccessKey: "very-secret-value" }, "buckets.media.secretAccessKey"],
    // a bucket's maxExpiresIn bounds links too; direct URLs stay within 7 days (maxExpiresIn)
    [{ ...base, maxExpiresIn: 365 * 86400 + 1 }, "buckets.media.maxExpiresIn"],
    [{ ...base, checksums: "sometimes" }, "buckets.media.checksums"],
    [{ ...base, endpoint: "ftp://example.com" }, "buckets.media.endpoint"],
    [{ ...base, bucket: "a/b" }, "buckets.media.bucket"],
    [{ ...base, region: undefined }, "buckets.media.region"],
    [{ ...base, backend: "local" }, "buckets.media.backend"],
  ])("refuses %j, naming %s", (config, field) => {
    expect(() => parse(config)).toThrow(expect.objectContaining({ field }));
  });

  it("names the config key and the variable of a missing secret, never a secret", async () => {
    for (const [env, field, ref] of [
      [{ S3_KEY_ID: ENV.S3_KEY_ID }, "secretAccessKey", "${S3_SECRET}"],
      [{ S3_SECRET: ENV.S3_SECRET }, "accessKeyId", "${S3_KEY_ID}"],
      [{ ...ENV, S3_SECRET: "" }, "secretAccessKey", "${S3_SECRET}"],
    ] as const) {
      const error = await createS3Backend(base, env, "buckets.media").then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).toBe(
        `invalid config: buckets.media.${field} names ${ref}, which is not set`,
      );
      expect(error?.message).not.toContain(ENV.S3_KEY_ID);
      expect(error?.message).not.toContain(ENV.S3_SECRET);
    }
    await expect(createS3Backend({ ...base, sessionToken: "${S3_TOKEN}" }, ENV)).rejects.toThrow(
      "invalid config: sessionToken names ${S3_TOKEN}, which is not set",
    );
  });

  it("wants both keys or neither, and no session token alone", async () => {
    await expect(createS3Backend({ ...base, secretAccessKey: undefined }, ENV)).rejects.toThrow(
      "invalid config: secretAccessKey is required with accessKeyId",
    );
    await expect(
      createS3Backend(
        { backend: "s3", bucket: "b", region: "us-east-1", sessionToken: "${S3_TOKEN}" },
        ENV,
        "buckets.media",
      ),
    ).rejects.toThrow(
      "invalid config: buckets.media.sessionToken needs accessKeyId and secretAccessKey",
    );
  });

  it("refuses an endpoint with credentials in it without repeating them", async () => {
    const error = await createS3Backend(
      { ...base, endpoint: "https://user:hunter2@s3.example.com" },
      ENV,
      "buckets.media",
    ).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/^invalid config: buckets\.media\.endpoint: /);
    expect(error?.message).not.toContain("hunter2");
  });

  it("defaults checksums by endpoint: enforced on AWS, ignored on an S3-compatible store", async () => {
    const sha = scope(["PUT"], { checksumSha256: CHECKSUM });
    const aws = await createS3Backend(base, ENV);
    expect(aws.checksums).toBe("enforced");
    expect(aws.unbound(sha)).toEqual([]);
    const compatible = await createS3Backend({ ...base, endpoint: "http://127.0.0.1:9000" }, ENV);
    expect(compatible.checksums).toBe("ignored");
    expect(compatible.unbound(sha)).toEqual(["checksumSha256"]);
    const told = await createS3Backend(
      { ...base, endpoint: "https://s3.example.com", checksums: "enforced" },
      ENV,
    );
    expect(told.unbound(sha)).toEqual([]);
    for (const b of [aws, compatible, told]) b.destroy();
  });

  it("defaults maxExpiresIn to 7 days", async () => {
    const b = await createS3Backend(base, ENV);
    expect(b.maxExpiresIn).toBe(604_800);
    const shorter = await createS3Backend({ ...base, maxExpiresIn: 3600 }, ENV);
    expect(shorter.maxExpiresIn).toBe(3600);
    for (const x of [b, shorter]) x.destroy();
  });
});

describe("presignPost()", () => {
  const post = (extra: Partial<PostScope>): PostScope => ({
    bucket: "media",
    expiresAt: later(600),
    principal: "user-1",
    tokenId: "tok-3",
    ...extra,
  });
  const policy = (fields: Record<string, string>) =>
    JSON.parse(Buffer.from(fields.Policy!, "base64").toString()) as { conditions: unknown[] };

  it("is the POST policy s3-post-policy.ts makes for the same input", () => {
    const form = backend().presignPost(
      post({
        key: "kyc/42/passport.jpg",
        contentLengthRange: [1, 5_000_000],
        contentType: "image/jpeg",
        successActionStatus: 201,
        checksumSha256: CHECKSUM,
      }),
    );
    const direct = presignPost(new S3Signer(LOCATION, CREDENTIALS), {
      key: "kyc/42/passport.jpg",
      expiresAt: later(600),
      contentLength: { min: 1, max: 5_000_000 },
      contentType: "image/jpeg",
      successActionStatus: 201,
      checksumSha256: CHECKSUM,
    });
    expect(form).toEqual({ url: direct.url, fields: direct.fields });
    expect(form.url).toBe("https://signet-test.s3.eu-west-3.amazonaws.com/");
    expect(form.fields["x-amz-checksum-sha256"]).toBe(CHECKSUM);
  });

  it('turns "image/*" into a starts-with condition and a folder into starts-with $key', () => {
    const { fields } = backend().presignPost(
      post({
        folder: "u/42/",
        contentType: "image/*",
        successActionRedirect: "https://a.example/ok",
      }),
    );
    expect(fields.key).toBe("u/42/${filename}");
    expect(fields["Content-Type"]).toBeUndefined();
    expect(fields.success_action_redirect).toBe("https://a.example/ok");
    expect(policy(fields).conditions).toContainEqual(["starts-with", "$Content-Type", "image/"]);
    expect(policy(fields).conditions).toContainEqual(["starts-with", "$key", "u/42/"]);
  });

  it("refuses a checksum where the store ignores it", () => {
    expect(() =>
      backend({ checksums: "ignored" }).presignPost(post({ key: "k", checksumSha256: CHECKSUM })),
    ).toThrow(
      expect.objectContaining({ code: "constraint_not_enforceable", field: "checksumSha256" }),
    );
    expect(backend({ checksums: "ignored" }).presignPost(post({ key: "k" })).fields.key).toBe("k");
  });
});

describe("object operations, as the SDK's answers are read", () => {
  interface Reply {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
  }
  /** A backend whose client gets `reply` for every request, and the requests it sent. */
  function answering(reply: Reply | Error) {
    const sent: { method: string; path: string; query: Record<string, unknown> }[] = [];
    const client = new S3Client({
      region: LOCATION.region,
      credentials: CREDENTIALS,
      maxAttempts: 1,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        handle: async (request: {
          method: string;
          path: string;
          query: Record<string, unknown>;
        }) => {
          sent.push({ method: request.method, path: request.path, query: request.query });
          if (reply instanceof Error) throw reply;
          return {
            response: {
              statusCode: reply.statusCode,
              headers: reply.headers ?? {},
              body: Readable.from([Buffer.from(reply.body ?? "")]),
            },
          };
        },
      },
    });
    return { b: backend({ client }), sent };
  }
  const SHA = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
  const HEAD = {
    "content-length": "1234",
    etag: '"abc"',
    "content-type": "image/png",
    "last-modified": "Fri, 02 Jan 2026 03:04:05 GMT",
  };

  it("heads an object, sha256 from a full-object ChecksumSHA256 only", async () => {
    const full = answering({
      statusCode: 200,
      headers: { ...HEAD, "x-amz-checksum-sha256": SHA, "x-amz-checksum-type": "FULL_OBJECT" },
    });
    expect(await full.b.head("a/b.png")).toEqual({
      key: "a/b.png",
      size: 1234,
      etag: '"abc"',
      contentType: "image/png",
      lastModified: NOW,
      sha256: SHA,
    });
    expect(full.sent[0]).toMatchObject({ method: "HEAD", path: "/a/b.png" });
    const composite = answering({
      statusCode: 200,
      headers: { ...HEAD, "x-amz-checksum-sha256": `${SHA}-3`, "x-amz-checksum-type": "COMPOSITE" },
    });
    expect((await composite.b.head("a/b.png"))!.sha256).toBeUndefined();
    expect(
      (await answering({ statusCode: 200, headers: HEAD }).b.head("k"))!.sha256,
    ).toBeUndefined();
  });

  it("reads the object's size from a 206's Content-Range", async () => {
    const { b, sent } = answering({
      statusCode: 206,
      headers: { ...HEAD, "content-length": "10", "content-range": "bytes 5-14/1234" },
      body: "0123456789",
    });
    const got = await b.get("k", { start: 5, end: 14 });
    expect(got!.info.size).toBe(1234);
    expect(Buffer.concat(await got!.body.toArray()).toString()).toBe("0123456789");
    expect(sent).toHaveLength(1);
  });

  it("answers undefined for a missing object", async () => {
    expect(await answering({ statusCode: 404 }).b.head("k")).toBeUndefined();
    const noSuchKey = `<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>`;
    expect(await answering({ statusCode: 404, body: noSuchKey }).b.get("k")).toBeUndefined();
  });

  it("does not take a missing bucket for a missing object", async () => {
    const noSuchBucket = `<?xml version="1.0"?><Error><Code>NoSuchBucket</Code><Message>no</Message></Error>`;
    await expect(answering({ statusCode: 404, body: noSuchBucket }).b.get("k")).rejects.toThrow();
  });

  it("maps 5xx and refused connections to backend_unavailable", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), {
      code: "ECONNREFUSED",
    });
    for (const reply of [{ statusCode: 503 }, { statusCode: 500 }, refused]) {
      const { b } = answering(reply);
      await expect(b.head("k")).rejects.toMatchObject({ code: "backend_unavailable" });
      await expect(b.list("", { limit: 10 })).rejects.toMatchObject({
        code: "backend_unavailable",
      });
    }
  });

  it("lists one level: items, sub-folders and the continuation cursor", async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult><Name>signet-test</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextContinuationToken>next+token/=</NextContinuationToken>
<Contents><Key>p/o1</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>"e1"</ETag><Size>11</Size></Contents>
<Contents><Key>p/o2</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>"e2"</ETag><Size>0</Size></Contents>
<CommonPrefixes><Prefix>p/p2/</Prefix></CommonPrefixes></ListBucketResult>`;
    const { b, sent } = answering({ statusCode: 200, body: xml });
    expect(await b.list("p/", { limit: 3, cursor: "prev" })).toEqual({
      items: [
        { key: "p/o1", size: 11, etag: '"e1"', contentType: "", lastModified: NOW },
        { key: "p/o2", size: 0, etag: '"e2"', contentType: "", lastModified: NOW },
      ],
      prefixes: ["p/p2/"],
      nextCursor: "next+token/=",
    });
    expect(sent[0]!.query).toMatchObject({
      "list-type": "2",
      prefix: "p/",
      delimiter: "/",
      "max-keys": "3",
      "continuation-token": "prev",
    });
  });

  it("follows every page of a part listing", async () => {
    const page = (parts: number[], next?: number) => `<?xml version="1.0"?>
<ListPartsResult><IsTruncated>${next !== undefined}</IsTruncated>${next === undefined ? "" : `<NextPartNumberMarker>${next}</NextPartNumberMarker>`}
${parts.map((n) => `<Part><PartNumber>${n}</PartNumber><ETag>"p${n}"</ETag><Size>${n * 10}</Size></Part>`).join("")}</ListPartsResult>`;
    const pages = [page([1, 2], 2), page([3])];
    const sent: (string | undefined)[] = [];
    const client = new S3Client({
      region: LOCATION.region,
      credentials: CREDENTIALS,
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: { query: Record<string, string | undefined> }) => {
          sent.push(request.query["part-number-marker"]);
          return {
            response: {
              statusCode: 200,
              headers: {},
              body: Readable.from([Buffer.from(pages.shift()!)]),
            },
          };
        },
      },
    });
    expect(await backend({ client }).listParts("k", "up-1")).toEqual([
      { partNumber: 1, size: 10, etag: '"p1"' },
      { partNumber: 2, size: 20, etag: '"p2"' },
      { partNumber: 3, size: 30, etag: '"p3"' },
    ]);
    expect(sent).toEqual([undefined, "2"]);
  });
});
