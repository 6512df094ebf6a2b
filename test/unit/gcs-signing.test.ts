/**
 * GCS V4 signing (src/backends/gcs/gcs-signing.ts, gcs-post-policy.ts).
 *
 * The test of record: every URL and policy is verified with the service account's public key
 * (or, for HMAC keys, an HMAC chain written here) over a string-to-sign this file rebuilds from
 * the URL and the headers the client sends, the way GCS does, sharing no code with the signer.
 * Then cross-checks against @google-cloud/storage on the same inputs and clock (RSA PKCS#1 v1.5
 * is deterministic, so signatures match exactly), and the refusals.
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { inspect } from "node:util";
import { Storage } from "@google-cloud/storage";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type GcsPostInput,
  presignGcsPost,
  signPostPolicyV4,
} from "../../src/backends/gcs/gcs-post-policy.js";
import {
  gcsBucket,
  type GcsLocation,
  type GcsPresignInput,
  presignGcs,
  signV4Url,
} from "../../src/backends/gcs/gcs-signing.js";

const serviceAccountText = readFileSync(
  new URL("../fixtures/conformance/gcs/test_service_account.not-a-test.json", import.meta.url),
  "utf8",
);
const account = JSON.parse(serviceAccountText) as { client_email: string; private_key: string };
const publicKey = createPublicKey(account.private_key);
const HMAC = {
  hmacAccessId: "GOOG1EXAMPLEACCESSID",
  hmacSecret: "bGlrZS1hLXJlYWwtc2VjcmV0LWJ1dC1ub3Q",
};

const NOW = new Date("2026-03-01T12:34:56Z");
const in15m = new Date(NOW.getTime() + 900_000);
const rsa = (location: Partial<GcsLocation> = {}) =>
  gcsBucket({ bucket: "signet-test", ...location }, { serviceAccount: serviceAccountText });

function errorOf(fn: () => unknown): Error & { code?: string; field?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

// ---- an independent verifier: what GCS does with a request ----

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
const recanonicalise = (s: string) => rfc3986(decodeURIComponent(s));
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

interface Received {
  stringToSign: string;
  signature: Buffer;
  params: Map<string, string>;
}

/** Rebuilds the string-to-sign from the request a client makes with a signed URL. */
function receive(method: string, url: string, sent: Record<string, string>): Received {
  const queryAt = url.indexOf("?");
  const authorityEnd = url.indexOf("/", url.indexOf("//") + 2);
  const rawPath = url.slice(authorityEnd, queryAt);
  const pairs = url
    .slice(queryAt + 1)
    .split("&")
    .map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as const);
  const params = new Map(pairs.map(([k, v]) => [decodeURIComponent(k), decodeURIComponent(v)]));
  const canonicalQuery = pairs
    .filter(([k]) => k !== "X-Goog-Signature")
    .map(([k, v]) => `${recanonicalise(k)}=${recanonicalise(v)}`)
    .sort()
    .join("&");
  const headers = new Map<string, string>([["host", new URL(url).hostname]]);
  for (const [name, value] of Object.entries(sent)) headers.set(name.toLowerCase(), value);
  const signedHeaders = params.get("X-Goog-SignedHeaders")!;
  // GCS refuses a request missing a signed header; an unsigned extra one would go unchecked.
  expect([...headers.keys()].sort().join(";")).toBe(signedHeaders);
  const canonicalRequest = [
    method,
    rawPath.split("/").map(recanonicalise).join("/"),
    canonicalQuery,
    signedHeaders
      .split(";")
      .map((n) => `${n}:${headers.get(n)!.trim().replace(/\s+/g, " ")}\n`)
      .join(""),
    signedHeaders,
    headers.get("x-goog-content-sha256") ?? "UNSIGNED-PAYLOAD",
  ].join("\n");
  const credential = params.get("X-Goog-Credential")!;
  return {
    stringToSign: [
      params.get("X-Goog-Algorithm"),
      params.get("X-Goog-Date"),
      credential.slice(credential.indexOf("/") + 1),
      sha256(canonicalRequest),
    ].join("\n"),
    signature: Buffer.from(params.get("X-Goog-Signature")!, "hex"),
    params,
  };
}

const rsaAccepts = (data: string, signature: Buffer) =>
  verify("sha256", Buffer.from(data), publicKey, signature);

function hmacSignature(secret: string, datestamp: string, data: string): Buffer {
  let key = createHmac("sha256", `GOOG4${secret}`).update(datestamp).digest();
  for (const part of ["auto", "storage", "goog4_request"])
    key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(data).digest();
}

function rsaAcceptsRequest(method: string, url: string, sent: Record<string, string>): boolean {
  const { stringToSign, signature } = receive(method, url, sent);
  return rsaAccepts(stringToSign, signature);
}

// ---- the test of record ----

describe("signed URLs verify with the service account's public key", () => {
  const cases: [string, Partial<GcsLocation>, GcsPresignInput][] = [
    ["GET", {}, { method: "GET", key: "reports/q3.pdf", expiresAt: in15m, date: NOW }],
    [
      "GET of a byte range",
      {},
      {
        method: "GET",
        key: "genomes/a.bam",
        range: { start: 0, end: 1048575 },
        expiresAt: in15m,
        date: NOW,
      },
    ],
    [
      "HEAD with response overrides",
      {},
      {
        method: "HEAD",
        key: "r.html",
        responseContentDisposition: 'attachment; filename="r.html"',
        responseContentType: "text/plain",
        expiresAt: in15m,
        date: NOW,
      },
    ],
    [
      "PUT with type, MD5, length and metadata",
      {},
      {
        method: "PUT",
        key: "kyc/alice/passport.jpg",
        contentType: "image/jpeg",
        contentMd5: "XrY7u+Ae7tCTyyK7j1rNww==",
        contentLength: 1024,
        // a_b and a-b: code-unit order (the spec's) differs from localeCompare (the SDK's).
        headers: {
          "X-Goog-Meta-Owner": "  alice   cooper ",
          "x-goog-if-generation-match": "0",
          "x-goog-meta-a_b": "1",
          "x-goog-meta-a-b": "2",
        },
        expiresAt: in15m,
        date: NOW,
      },
    ],
    [
      "PUT of a multipart part",
      {},
      {
        method: "PUT",
        key: "big/object.bin",
        part: { uploadId: "ABPnzm5/+x=", partNumber: 7 },
        contentLength: 5242880,
        expiresAt: in15m,
        date: NOW,
      },
    ],
    ["DELETE", {}, { method: "DELETE", key: "tmp/x", expiresAt: in15m, date: NOW }],
    [
      "virtual-hosted, non-ASCII and reserved characters in the key",
      { virtualHostedStyle: true },
      {
        method: "GET",
        key: "rapports/été 2026/q3 (final)!*'~&=+%.pdf",
        expiresAt: in15m,
        date: NOW,
      },
    ],
    [
      "bucket-bound hostname with a port",
      { hostname: "http://CDN.example.com:8080" },
      { method: "GET", key: "a/b", expiresAt: in15m, date: NOW },
    ],
    [
      "emulator endpoint",
      { endpoint: "http://127.0.0.1:4443" },
      { method: "PUT", key: "a/b", contentType: "text/plain", expiresAt: in15m, date: NOW },
    ],
  ];

  it.each(cases)("%s", (_name, location, input) => {
    const signed = presignGcs(rsa(location), input);
    const { stringToSign, signature, params } = receive(input.method, signed.url, signed.headers);
    expect(rsaAccepts(stringToSign, signature)).toBe(true);
    expect(params.get("X-Goog-Algorithm")).toBe("GOOG4-RSA-SHA256");
    expect(params.get("X-Goog-Credential")).toBe(
      `${account.client_email}/20260301/auto/storage/goog4_request`,
    );
    expect(params.get("X-Goog-Date")).toBe("20260301T123456Z");
    expect(params.get("X-Goog-Expires")).toBe("900");
  });

  it("binds the method, the key, the range, the length, the part and the expiry", () => {
    const bucket = rsa();
    const get = presignGcs(bucket, {
      method: "GET",
      key: "genomes/a.bam",
      range: { start: 100, end: 199 },
      expiresAt: in15m,
      date: NOW,
    });
    expect(get.headers).toEqual({ range: "bytes=100-199" });
    expect(rsaAcceptsRequest("GET", get.url, get.headers)).toBe(true);
    expect(rsaAcceptsRequest("GET", get.url, { range: "bytes=100-200" })).toBe(false);
    expect(rsaAcceptsRequest("PUT", get.url, get.headers)).toBe(false);
    expect(
      rsaAcceptsRequest("GET", get.url.replace("/genomes/a.bam?", "/genomes/b.bam?"), get.headers),
    ).toBe(false);
    expect(
      rsaAcceptsRequest(
        "GET",
        get.url.replace("X-Goog-Expires=900", "X-Goog-Expires=901"),
        get.headers,
      ),
    ).toBe(false);

    const part = presignGcs(bucket, {
      method: "PUT",
      key: "big/object.bin",
      part: { uploadId: "U1", partNumber: 2 },
      contentLength: 10,
      expiresAt: in15m,
      date: NOW,
    });
    expect(part.headers).toEqual({ "content-length": "10" });
    expect(rsaAcceptsRequest("PUT", part.url, part.headers)).toBe(true);
    expect(rsaAcceptsRequest("PUT", part.url, { "content-length": "11" })).toBe(false);
    expect(
      rsaAcceptsRequest("PUT", part.url.replace("partNumber=2", "partNumber=3"), part.headers),
    ).toBe(false);
    expect(
      rsaAcceptsRequest("PUT", part.url.replace("uploadId=U1", "uploadId=U2"), part.headers),
    ).toBe(false);
  });

  it("holds for any key and header value (property)", () => {
    const bucket = rsa();
    const segment = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });
    const value = fc.string({ unit: "grapheme-ascii", maxLength: 20 }).map((v) => `x${v}\t y`);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), value, (segments, meta) => {
        const signed = presignGcs(bucket, {
          method: "PUT",
          key: segments.join("/"),
          headers: { "x-goog-meta-note": meta },
          expiresAt: in15m,
          date: NOW,
        });
        return rsaAcceptsRequest("PUT", signed.url, signed.headers);
      }),
      { numRuns: 150 },
    );
  });

  it("signs a bucket URL and any header through the low-level signer", () => {
    const signed = signV4Url(rsa(), {
      method: "POST",
      expiresIn: 60,
      date: NOW,
      headers: { "X-Goog-Resumable": "start" },
      query: { uploads: "" },
    });
    expect(signed.url.startsWith("https://storage.googleapis.com/signet-test?")).toBe(true);
    expect(signed.headers).toEqual({ "x-goog-resumable": "start" });
    expect(rsaAcceptsRequest("POST", signed.url, signed.headers)).toBe(true);
  });
});

describe("HMAC keys (GOOG4-HMAC-SHA256)", () => {
  const bucket = gcsBucket({ bucket: "signet-test" }, HMAC);

  it("signs with the key derived from the secret for the day of the signature", () => {
    const days = [NOW, new Date("2026-03-02T00:00:01Z"), NOW];
    for (const date of days) {
      const signed = presignGcs(bucket, {
        method: "GET",
        key: "a/b.txt",
        range: { start: 0, end: 9 },
        expiresAt: new Date(date.getTime() + 60_000),
        date,
      });
      const { stringToSign, signature, params } = receive("GET", signed.url, signed.headers);
      expect(params.get("X-Goog-Algorithm")).toBe("GOOG4-HMAC-SHA256");
      const datestamp = params.get("X-Goog-Date")!.slice(0, 8);
      expect(params.get("X-Goog-Credential")).toBe(
        `${HMAC.hmacAccessId}/${datestamp}/auto/storage/goog4_request`,
      );
      expect(signature.equals(hmacSignature(HMAC.hmacSecret, datestamp, stringToSign))).toBe(true);
      expect(signature.equals(hmacSignature("another-secret", datestamp, stringToSign))).toBe(
        false,
      );
    }
  });

  it("signs POST policies", () => {
    const { fields } = presignGcsPost(bucket, { key: "a.txt", expiresAt: in15m, date: NOW });
    expect(fields["x-goog-algorithm"]).toBe("GOOG4-HMAC-SHA256");
    expect(fields["x-goog-credential"]).toBe(
      `${HMAC.hmacAccessId}/20260301/auto/storage/goog4_request`,
    );
    expect(fields["x-goog-signature"]).toBe(
      hmacSignature(HMAC.hmacSecret, "20260301", fields.policy!).toString("hex"),
    );
  });
});

describe("POST policies verify with the service account's public key", () => {
  const decode = (policy: string) =>
    JSON.parse(Buffer.from(policy, "base64").toString("utf8")) as {
      conditions: unknown[];
      expiration: string;
    };

  it("binds one key, a length range, an exact type and a status", () => {
    const post = presignGcsPost(rsa(), {
      key: "uploads/été.png",
      contentLength: { min: 1, max: 1048576 },
      contentType: "image/png",
      successActionStatus: 201,
      expiresAt: in15m,
      date: NOW,
    });
    expect(post.url).toBe("https://storage.googleapis.com/signet-test/");
    expect(
      rsaAccepts(post.fields.policy!, Buffer.from(post.fields["x-goog-signature"]!, "hex")),
    ).toBe(true);
    const policy = decode(post.fields.policy!);
    expect(policy.expiration).toBe("2026-03-01T12:49:56Z");
    expect(policy.conditions).toEqual([
      ["content-length-range", 1, 1048576],
      { "content-type": "image/png" },
      { success_action_status: "201" },
      { bucket: "signet-test" },
      { key: "uploads/été.png" },
      { "x-goog-date": "20260301T123456Z" },
      { "x-goog-credential": `${account.client_email}/20260301/auto/storage/goog4_request` },
      { "x-goog-algorithm": "GOOG4-RSA-SHA256" },
    ]);
    expect(Buffer.from(post.fields.policy!, "base64").toString()).toContain("\\u00e9");
    expect(post.fields).toMatchObject({
      key: "uploads/été.png",
      "content-type": "image/png",
      success_action_status: "201",
    });
  });

  it("binds a folder with starts-with $key, a type prefix and a redirect", () => {
    const post = presignGcsPost(rsa({ virtualHostedStyle: true }), {
      folder: "uploads/alice/",
      contentType: { startsWith: "image/" },
      successActionRedirect: "https://app.example.com/done",
      expiresAt: in15m,
      date: NOW,
    });
    expect(post.url).toBe("https://signet-test.storage.googleapis.com/");
    expect(post.fields.key).toBe("uploads/alice/${filename}");
    expect(post.fields["content-type"]).toBeUndefined();
    expect(
      rsaAccepts(post.fields.policy!, Buffer.from(post.fields["x-goog-signature"]!, "hex")),
    ).toBe(true);
    const { conditions } = decode(post.fields.policy!);
    expect(conditions).toContainEqual(["starts-with", "$key", "uploads/alice/"]);
    expect(conditions).toContainEqual(["starts-with", "$content-type", "image/"]);
    expect(conditions).toContainEqual({ success_action_redirect: "https://app.example.com/done" });
    expect(conditions.some((c) => typeof c === "object" && c !== null && "key" in c)).toBe(false);
  });

  it("the whole bucket is the empty folder", () => {
    const post = presignGcsPost(rsa(), { folder: "", expiresAt: in15m, date: NOW });
    expect(post.fields.key).toBe("${filename}");
    expect(decode(post.fields.policy!).conditions).toContainEqual(["starts-with", "$key", ""]);
  });
});

// ---- cross-checks against @google-cloud/storage ----

describe("the same URLs and policies as @google-cloud/storage", () => {
  const credentials = { client_email: account.client_email, private_key: account.private_key };
  const storage = new Storage({ projectId: "dummy-project-id", credentials });
  const emulated = new Storage({
    projectId: "dummy-project-id",
    credentials,
    apiEndpoint: "http://127.0.0.1:4443",
  });
  const network = vi.fn(() => {
    throw new Error("no network in this test");
  });

  beforeAll(() => {
    vi.spyOn(http, "request").mockImplementation(network);
    vi.spyOn(https, "request").mockImplementation(network);
    vi.spyOn(globalThis, "fetch").mockImplementation(network);
  });
  afterAll(() => {
    expect(network).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"], now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  type SdkConfig = Parameters<ReturnType<ReturnType<Storage["bucket"]>["file"]>["getSignedUrl"]>[0];
  const KEY = "reports/2026 Q3/été (final)!*'.pdf";
  const urlCases: [string, Partial<GcsLocation>, Omit<GcsPresignInput, "expiresAt">, SdkConfig][] =
    [
      ["GET", {}, { method: "GET", key: KEY }, { version: "v4", action: "read", expires: in15m }],
      [
        "GET of a range",
        {},
        { method: "GET", key: KEY, range: { start: 100, end: 199 } },
        {
          version: "v4",
          action: "read",
          expires: in15m,
          extensionHeaders: { range: "bytes=100-199" },
        },
      ],
      [
        "GET with response overrides",
        {},
        {
          method: "GET",
          key: KEY,
          responseContentDisposition: 'inline; filename="q3.pdf"',
          responseContentType: "application/pdf",
        },
        {
          version: "v4",
          action: "read",
          expires: in15m,
          responseDisposition: 'inline; filename="q3.pdf"',
          responseType: "application/pdf",
        },
      ],
      [
        "PUT with type, MD5, length and metadata",
        {},
        {
          method: "PUT",
          key: KEY,
          contentType: "application/pdf",
          contentMd5: "XrY7u+Ae7tCTyyK7j1rNww==",
          contentLength: 2048,
          headers: { "x-goog-meta-owner": "alice" },
        },
        {
          version: "v4",
          action: "write",
          expires: in15m,
          contentType: "application/pdf",
          contentMd5: "XrY7u+Ae7tCTyyK7j1rNww==",
          extensionHeaders: { "content-length": "2048", "x-goog-meta-owner": "alice" },
        },
      ],
      [
        "PUT of a part",
        {},
        {
          method: "PUT",
          key: KEY,
          part: { uploadId: "ABPnzm5/+x=", partNumber: 3 },
          contentLength: 5,
        },
        {
          version: "v4",
          action: "write",
          expires: in15m,
          queryParams: { uploadId: "ABPnzm5/+x=", partNumber: "3" },
          extensionHeaders: { "content-length": "5" },
        },
      ],
      [
        "DELETE",
        {},
        { method: "DELETE", key: KEY },
        { version: "v4", action: "delete", expires: in15m },
      ],
      [
        "virtual-hosted style",
        { virtualHostedStyle: true },
        { method: "GET", key: KEY },
        { version: "v4", action: "read", expires: in15m, virtualHostedStyle: true },
      ],
      [
        "bucket-bound hostname",
        { hostname: "https://cdn.example.com" },
        { method: "GET", key: KEY },
        { version: "v4", action: "read", expires: in15m, cname: "https://cdn.example.com" },
      ],
      [
        "emulator endpoint",
        { endpoint: "http://127.0.0.1:4443" },
        { method: "GET", key: KEY },
        { version: "v4", action: "read", expires: in15m },
      ],
    ];

  const split = (url: string) => {
    const parsed = new URL(url);
    return {
      resource: parsed.origin + parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
    };
  };

  it.each(urlCases)("%s", async (_name, location, input, sdkConfig) => {
    const ours = presignGcs(rsa(location), { ...input, expiresAt: in15m });
    const client = location.endpoint === undefined ? storage : emulated;
    const [theirs] = await client.bucket("signet-test").file(KEY).getSignedUrl(sdkConfig);
    // Same resource and the same signed parameters; only the order of the query differs.
    expect(split(ours.url)).toEqual(split(theirs));
  });

  it("any key signs the same (property)", async () => {
    const key = fc
      .array(fc.string({ unit: "binary", minLength: 1, maxLength: 10 }), {
        minLength: 1,
        maxLength: 3,
      })
      .map((segments) => segments.join("/"));
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        const ours = presignGcs(rsa(), { method: "GET", key: k, expiresAt: in15m });
        const [theirs] = await storage
          .bucket("signet-test")
          .file(k)
          .getSignedUrl({ version: "v4", action: "read", expires: in15m });
        expect(split(ours.url)).toEqual(split(theirs));
      }),
      { numRuns: 40 },
    );
  });

  const postCases: [string, Partial<GcsLocation>, Omit<GcsPostInput, "expiresAt">, object][] = [
    ["one key", {}, { key: KEY }, {}],
    [
      "length range, exact type, status",
      {},
      {
        key: KEY,
        contentLength: { min: 1, max: 1048576 },
        contentType: "image/png",
        successActionStatus: 201,
      },
      {
        conditions: [["content-length-range", 1, 1048576]],
        fields: { "content-type": "image/png", success_action_status: "201" },
      },
    ],
    [
      "type prefix and redirect, virtual-hosted",
      { virtualHostedStyle: true },
      {
        key: KEY,
        contentType: { startsWith: "image/" },
        successActionRedirect: "https://example.com/ok",
      },
      {
        virtualHostedStyle: true,
        conditions: [["starts-with", "$content-type", "image/"]],
        fields: { success_action_redirect: "https://example.com/ok" },
      },
    ],
  ];

  it.each(postCases)("POST policy: %s", async (_name, location, input, sdkOptions) => {
    const ours = presignGcsPost(rsa(location), { ...input, expiresAt: in15m });
    const [theirs] = await storage
      .bucket("signet-test")
      .file(KEY)
      .generateSignedPostPolicyV4({ expires: in15m, ...sdkOptions });
    expect(ours.url).toBe(theirs.url);
    expect(ours.fields).toEqual(theirs.fields);
  });
});

// ---- refusals ----

describe("refusals", () => {
  const bucket = rsa();
  const get = { method: "GET", key: "a", expiresAt: in15m, date: NOW } as const;

  it("more than 7 days is expiry_too_long; exactly 7 days signs", () => {
    const week = new Date(NOW.getTime() + 7 * 86400_000);
    expect(presignGcs(bucket, { ...get, expiresAt: week }).url).toContain("X-Goog-Expires=604800&");
    const err = errorOf(() =>
      presignGcs(bucket, { ...get, expiresAt: new Date(week.getTime() + 1000) }),
    );
    expect(err).toMatchObject({ code: "expiry_too_long", field: "expiresIn" });
    const postTooLong = { key: "a", expiresAt: new Date(week.getTime() + 1000), date: NOW };
    expect(errorOf(() => presignGcsPost(bucket, postTooLong))).toMatchObject({
      code: "expiry_too_long",
    });
  });

  it("an expiry at or before the signing time is invalid", () => {
    expect(errorOf(() => presignGcs(bucket, { ...get, expiresAt: NOW }))).toMatchObject({
      code: "invalid_request",
    });
    expect(
      errorOf(() => presignGcs(bucket, { ...get, expiresAt: new Date(Number.NaN) })),
    ).toMatchObject({ code: "invalid_request" });
  });

  it("truncates the signing time to the second and never outlives expiresAt", () => {
    const date = new Date("2026-03-01T12:34:56.999Z");
    const signed = presignGcs(bucket, {
      ...get,
      date,
      expiresAt: new Date(date.getTime() + 900_500),
    });
    expect(signed.url).toContain("X-Goog-Date=20260301T123456Z&X-Goog-Expires=901&");
    expect(signed.expiresAt.toISOString()).toBe("2026-03-01T12:49:57.000Z");
  });

  it.each([
    ["range on PUT", { method: "PUT", range: { start: 0, end: 1 } }, "range"],
    ["a reversed range", { range: { start: 5, end: 4 } }, "range"],
    ["contentType on GET", { contentType: "text/plain" }, "contentType"],
    ["contentLength on GET", { contentLength: 3 }, "contentLength"],
    ["a fractional contentLength", { method: "PUT", contentLength: 1.5 }, "contentLength"],
    ["a malformed contentMd5", { method: "PUT", contentMd5: "abc" }, "contentMd5"],
    [
      "response overrides on PUT",
      { method: "PUT", responseContentType: "text/plain" },
      "responseContentType",
    ],
    ["a part on GET", { part: { uploadId: "u", partNumber: 1 } }, "part"],
    ["part number 0", { method: "PUT", part: { uploadId: "u", partNumber: 0 } }, "part.partNumber"],
    [
      "part number 10001",
      { method: "PUT", part: { uploadId: "u", partNumber: 10001 } },
      "part.partNumber",
    ],
    ["Range as a custom header", { headers: { Range: "bytes=0-1" } }, "headers"],
    [
      "a header given twice",
      { headers: { "X-Goog-Meta-A": "1", "x-goog-meta-a": "2" } },
      "headers",
    ],
    ["a header name that is no token", { headers: { "x goog": "1" } }, "headers"],
  ] as const)("%s", (_name, change, field) => {
    const err = errorOf(() => presignGcs(bucket, { ...get, ...change } as GcsPresignInput));
    expect(err).toMatchObject({ code: "invalid_request", field });
  });

  it("an empty key is invalid_key", () => {
    expect(errorOf(() => presignGcs(bucket, { ...get, key: "" }))).toMatchObject({
      code: "invalid_key",
    });
    expect(errorOf(() => presignGcsPost(bucket, { key: "", expiresAt: in15m }))).toMatchObject({
      code: "invalid_key",
    });
  });

  it("a header value with a line break is refused without echoing it", () => {
    const secret = "AES-key-material\r\nhost:evil.example";
    const err = errorOf(() =>
      presignGcs(bucket, { ...get, headers: { "x-goog-encryption-key": secret } }),
    );
    expect(err).toMatchObject({ code: "invalid_request", field: "headers" });
    expect(err.message).not.toContain("AES-key-material");
  });

  it("the signature's own query parameters cannot be overridden", () => {
    for (const name of ["X-Goog-Signature", "x-goog-expires"])
      expect(
        errorOf(() =>
          signV4Url(bucket, { method: "GET", key: "a", expiresIn: 60, query: { [name]: "1" } }),
        ),
      ).toMatchObject({ code: "invalid_request", field: "query" });
  });

  it("form uploads name exactly one of key and folder, and a folder ends in /", () => {
    expect(errorOf(() => presignGcsPost(bucket, { expiresAt: in15m }))).toMatchObject({
      field: "key",
    });
    expect(
      errorOf(() => presignGcsPost(bucket, { key: "a", folder: "b/", expiresAt: in15m })),
    ).toMatchObject({ field: "key" });
    expect(
      errorOf(() => presignGcsPost(bucket, { folder: "docs", expiresAt: in15m })),
    ).toMatchObject({
      field: "folder",
    });
  });

  it.each([
    ["a reversed length range", { contentLength: { min: 5, max: 4 } }, "contentLength"],
    ["status 302", { successActionStatus: 302 }, "successActionStatus"],
    [
      "a redirect that is no URL",
      { successActionRedirect: "javascript:alert(1)" },
      "successActionRedirect",
    ],
  ] as const)("form upload: %s", (_name, change, field) => {
    const input = { key: "a", expiresAt: in15m, date: NOW, ...change } as GcsPostInput;
    expect(errorOf(() => presignGcsPost(bucket, input))).toMatchObject({
      code: "invalid_request",
      field,
    });
  });

  it("the signer's own form fields cannot be supplied", () => {
    for (const name of ["policy", "Key", "x-goog-signature", "bucket"])
      expect(
        errorOf(() =>
          signPostPolicyV4(bucket, { key: "a", expiresIn: 60, fields: { [name]: "x" } }),
        ),
      ).toMatchObject({ code: "invalid_request", field: "fields" });
  });
});

describe("credentials and locations", () => {
  const pem = account.private_key;

  it.each([
    ["a bucket name GCS refuses", { bucket: "Bad_Bucket" }, "bucket"],
    [
      "hostname with virtualHostedStyle",
      { bucket: "b-1", hostname: "cdn.example.com", virtualHostedStyle: true },
      "hostname",
    ],
    ["an ftp endpoint", { bucket: "b-1", endpoint: "ftp://example.com" }, "endpoint"],
    [
      "an endpoint with a path",
      { bucket: "b-1", endpoint: "https://example.com/storage" },
      "endpoint",
    ],
  ] as const)("refuses %s", (_name, location, field) => {
    expect(
      errorOf(() => gcsBucket(location, { serviceAccount: serviceAccountText })),
    ).toMatchObject({
      code: "invalid_request",
      field,
    });
  });

  it("refuses a malformed service-account file without quoting it", () => {
    const broken = serviceAccountText.replace('"client_email"', "client_email");
    const err = errorOf(() => gcsBucket({ bucket: "b-1" }, { serviceAccount: broken }));
    expect(err).toMatchObject({ code: "invalid_request", field: "credentials.serviceAccount" });
    expect(err.message).not.toContain("PRIVATE KEY");
    expect(err.message).not.toContain(pem.slice(40, 80));
  });

  it("refuses a key that is not an RSA private key", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    for (const privateKey of [ec, "not a key"])
      expect(
        errorOf(() =>
          gcsBucket(
            { bucket: "b-1" },
            { serviceAccount: { client_email: "a@b", private_key: privateKey } },
          ),
        ),
      ).toMatchObject({ code: "invalid_request", field: "credentials.serviceAccount" });
  });

  it("refuses an empty HMAC secret", () => {
    expect(
      errorOf(() => gcsBucket({ bucket: "b-1" }, { hmacAccessId: "GOOG1X", hmacSecret: "" })),
    ).toMatchObject({ field: "credentials.hmacSecret" });
  });

  it("keeps secrets out of the bucket's enumerable state and its inspection", () => {
    for (const [b, secret] of [
      [rsa(), pem.slice(100, 160)],
      [gcsBucket({ bucket: "b-1" }, HMAC), HMAC.hmacSecret],
    ] as const) {
      expect(JSON.stringify(b)).not.toContain(secret);
      expect(inspect(b, { depth: 10, showHidden: true })).not.toContain(secret);
    }
  });

  it("accepts the parsed key file as well as its text", () => {
    const fromObject = gcsBucket({ bucket: "signet-test" }, { serviceAccount: account });
    const input = { method: "GET", key: "a", expiresAt: in15m, date: NOW } as const;
    expect(presignGcs(fromObject, input).url).toBe(presignGcs(rsa(), input).url);
  });
});
