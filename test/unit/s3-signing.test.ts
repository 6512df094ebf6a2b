/**
 * The S3 layer: presigned URLs cross-checked against @aws-sdk/s3-request-presigner on the same
 * inputs and clock, then its own rules (what each method may bind, refusals, endpoints).
 *
 * Cross-check: both URLs are verified the way S3 does, by recomputing the canonical request
 * from the URL and the headers the client sends and checking X-Amz-Signature; then the two
 * canonical requests must be equal once the SDK's own extra parameters are left out (x-id, and
 * X-Amz-Content-Sha256=UNSIGNED-PAYLOAD, which S3 assumes for presigned URLs anyway).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyProblem } from "../../src/core/keys.js";
import {
  type S3Location,
  type S3PresignInput,
  type S3SignedRequest,
  S3Signer,
  s3Endpoint,
} from "../../src/backends/s3/s3-signing.js";
import {
  type Credentials,
  type Pair,
  UNSIGNED_PAYLOAD,
  canonicalRequest,
  credentialScope,
  signingKey,
  stringToSign,
} from "../../src/backends/s3/sigv4.js";

const CREDENTIALS: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars";
const DATE = new Date("2026-01-02T03:04:05.678Z");
const EXPIRES_IN = 900;
const expiresAt = new Date(DATE.getTime() + EXPIRES_IN * 1000);
const LOCATION: S3Location = { bucket: "signet-test", region: "eu-west-3" };
const CHECKSUM = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; // SHA-256 of ""

const SDK_ONLY = ["x-id", "X-Amz-Content-Sha256"];

function reference(location: S3Location, credentials: Credentials) {
  return new S3Client({
    region: location.region,
    credentials,
    endpoint: location.endpoint,
    forcePathStyle: location.forcePathStyle,
    // otherwise the SDK signs a CRC32 of an empty body into every PUT URL
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

function parseQuery(search: string): Pair[] {
  if (search === "") return [];
  return search
    .slice(1)
    .split("&")
    .map((part) => {
      const at = part.indexOf("=");
      return [decodeURIComponent(part.slice(0, at)), decodeURIComponent(part.slice(at + 1))];
    });
}

/**
 * Verifies a presigned URL as S3 would, given the headers the client sends: whether its
 * signature holds, and its canonical request without the `dropped` parameters.
 */
function verify(
  url: string,
  method: string,
  headers: Record<string, string>,
  dropped: string[] = [],
) {
  const { host, pathname, search } = new URL(url);
  const query = parseQuery(search);
  const param = (name: string) => query.find(([n]) => n === name)?.[1] ?? "";
  const signed = query.filter(([name]) => name !== "X-Amz-Signature");
  const request = {
    method,
    path: pathname,
    headers: [["host", host] as const, ...Object.entries(headers)],
    payloadHash: UNSIGNED_PAYLOAD,
  };
  const date = param("X-Amz-Date");
  const region = param("X-Amz-Credential").split("/")[2]!;
  const scope = credentialScope(date, region, "s3");
  const toSign = stringToSign(date, scope, canonicalRequest({ ...request, query: signed }));
  const key = signingKey(CREDENTIALS.secretAccessKey, date.slice(0, 8), region, "s3");
  return {
    valid: createHmac("sha256", key).update(toSign).digest("hex") === param("X-Amz-Signature"),
    canonical: canonicalRequest({
      ...request,
      query: signed.filter(([n]) => !dropped.includes(n)),
    }),
    signedHeaders: param("X-Amz-SignedHeaders"),
  };
}

interface Case {
  name: string;
  location?: S3Location;
  credentials?: Credentials;
  input: Omit<S3PresignInput, "date" | "expiresAt">;
  /** any S3 command: the SDK types each command apart, with no common type getSignedUrl takes */
  command: any;
  /** how the SDK must be told to sign a header as a header */
  sdk?: { signableHeaders?: Set<string>; unhoistableHeaders?: Set<string> };
}

async function crossCheck({
  location = LOCATION,
  credentials = CREDENTIALS,
  input,
  command,
  sdk,
}: Case) {
  const ours = new S3Signer(location, credentials).presign({ ...input, date: DATE, expiresAt });
  const theirs = await getSignedUrl(reference(location, credentials), command, {
    signingDate: DATE,
    expiresIn: EXPIRES_IN,
    ...sdk,
  });
  const sdkView = verify(theirs, input.method, ours.headers, SDK_ONLY);
  const ourView = verify(ours.url, input.method, ours.headers);
  expect(sdkView.valid, "the SDK's URL verifies with our canonicalisation").toBe(true);
  expect(ourView.valid, "our URL verifies").toBe(true);
  expect(ourView.canonical).toBe(sdkView.canonical);
  expect(ourView.signedHeaders).toBe(sdkView.signedHeaders);
  expect(new URL(ours.url).origin).toBe(new URL(theirs).origin);
}

const signedHeaderNames = (request: S3SignedRequest) =>
  new URL(request.url).searchParams.get("X-Amz-SignedHeaders")!.split(";");

describe("S3 presigned URLs against @aws-sdk/s3-request-presigner", () => {
  const Bucket = LOCATION.bucket;
  const Key = "reports/2026/q3 summary (final)!*'~+é.pdf";
  const cases: Case[] = [
    {
      name: "GET, a key with reserved and non-ASCII characters",
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket, Key }),
    },
    {
      name: "GET with a session token",
      credentials: { ...CREDENTIALS, sessionToken: TOKEN },
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket, Key }),
    },
    {
      name: "HEAD",
      input: { method: "HEAD", key: Key },
      command: new HeadObjectCommand({ Bucket, Key }),
    },
    {
      name: "DELETE",
      input: { method: "DELETE", key: Key },
      command: new DeleteObjectCommand({ Bucket, Key }),
    },
    {
      name: "ranged GET (the SDK signs Range by default: not x-amz-, so not hoisted)",
      input: { method: "GET", key: Key, range: { start: 1_048_576, end: 2_097_151 } },
      command: new GetObjectCommand({ Bucket, Key, Range: "bytes=1048576-2097151" }),
    },
    {
      name: "GET with response overrides",
      input: {
        method: "GET",
        key: Key,
        responseContentDisposition: `attachment; filename="q3 summary.pdf"; filename*=UTF-8''q3%20summary.pdf`,
        responseContentType: "application/pdf",
      },
      command: new GetObjectCommand({
        Bucket,
        Key,
        ResponseContentDisposition: `attachment; filename="q3 summary.pdf"; filename*=UTF-8''q3%20summary.pdf`,
        ResponseContentType: "application/pdf",
      }),
    },
    {
      name: "PUT with Content-Length and Content-Type (the presigner leaves content-type unsigned unless told)",
      input: { method: "PUT", key: Key, contentLength: 12_345, contentType: "application/pdf" },
      command: new PutObjectCommand({
        Bucket,
        Key,
        ContentLength: 12_345,
        ContentType: "application/pdf",
      }),
      sdk: { signableHeaders: new Set(["content-type"]) },
    },
    {
      name: "PUT with x-amz-checksum-sha256 as a header (the presigner hoists x-amz-* unless told)",
      input: { method: "PUT", key: Key, contentLength: 0, checksumSha256: CHECKSUM },
      command: new PutObjectCommand({ Bucket, Key, ContentLength: 0, ChecksumSHA256: CHECKSUM }),
      sdk: { unhoistableHeaders: new Set(["x-amz-checksum-sha256"]) },
    },
    {
      name: "UploadPart bound to its Content-Length, with a session token",
      credentials: { ...CREDENTIALS, sessionToken: TOKEN },
      input: {
        method: "PUT",
        key: Key,
        contentLength: 5_242_880,
        part: { uploadId: "VXBsb2FkIElEIGZvciBlbHZpbmc/+=", partNumber: 17 },
      },
      command: new UploadPartCommand({
        Bucket,
        Key,
        UploadId: "VXBsb2FkIElEIGZvciBlbHZpbmc/+=",
        PartNumber: 17,
        ContentLength: 5_242_880,
      }),
    },
    {
      name: "path style on an S3-compatible endpoint with a port",
      location: {
        bucket: Bucket,
        region: "us-east-1",
        endpoint: "http://127.0.0.1:9000",
        forcePathStyle: true,
      },
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket, Key }),
    },
    {
      name: "an IP endpoint without forcePathStyle (path style all the same)",
      location: { bucket: Bucket, region: "us-east-1", endpoint: "http://127.0.0.1:9000" },
      input: { method: "PUT", key: Key, contentLength: 3 },
      command: new PutObjectCommand({ Bucket, Key, ContentLength: 3 }),
    },
    {
      name: "virtual-hosted on a custom endpoint",
      location: { bucket: Bucket, region: "auto", endpoint: "https://storage.example.com" },
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket, Key }),
    },
    {
      name: "a dotted bucket name (path style: TLS wildcards cover one label)",
      location: { bucket: "signet.test", region: "eu-west-3" },
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket: "signet.test", Key }),
    },
    {
      name: "a China region",
      location: { bucket: Bucket, region: "cn-north-1" },
      input: { method: "GET", key: Key },
      command: new GetObjectCommand({ Bucket, Key }),
    },
  ];

  it.each(cases)("$name", async (c) => {
    await crossCheck(c);
  });

  it("agrees on arbitrary valid keys", async () => {
    const segment = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
      .filter((s) => !s.includes("/"));
    const key = fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((segments) => segments.join("/"))
      .filter((k) => keyProblem(k) === undefined);
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        await crossCheck({
          name: k,
          input: { method: "GET", key: k },
          command: new GetObjectCommand({ Bucket, Key: k }),
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe("S3 presigned URLs", () => {
  const signer = new S3Signer(LOCATION, CREDENTIALS);
  const sign = (input: Omit<S3PresignInput, "date" | "expiresAt">, seconds = EXPIRES_IN) =>
    signer.presign({ ...input, date: DATE, expiresAt: new Date(DATE.getTime() + seconds * 1000) });
  const failsWith = (fn: () => unknown, code: string, field?: string) =>
    expect(fn).toThrowError(
      expect.objectContaining(field === undefined ? { code } : { code, field }),
    );

  it("returns every signed header but host, lower-case, as the client must send it", () => {
    const put = sign({
      method: "PUT",
      key: "a.txt",
      contentLength: 3,
      contentType: "text/plain",
      checksumSha256: CHECKSUM,
    });
    expect(put.headers).toEqual({
      "content-length": "3",
      "content-type": "text/plain",
      "x-amz-checksum-sha256": CHECKSUM,
    });
    expect(signedHeaderNames(put)).toEqual([
      "content-length",
      "content-type",
      "host",
      "x-amz-checksum-sha256",
    ]);
    const get = sign({ method: "GET", key: "a.txt", range: { start: 0, end: 9 } });
    expect(get.headers).toEqual({ range: "bytes=0-9" });
    expect(signedHeaderNames(get)).toEqual(["host", "range"]);
    expect(verify(get.url, "GET", get.headers).valid).toBe(true);
    // another range, or none, is another request: S3 would refuse it
    expect(verify(get.url, "GET", { range: "bytes=0-10" }).valid).toBe(false);
    expect(verify(get.url, "GET", {}).valid).toBe(false);
  });

  it("puts no checksum in a PUT URL unless asked (the SDK v3 empty-body CRC32 trap)", () => {
    const put = sign({ method: "PUT", key: "a.txt", contentLength: 10 });
    const names = [...new URL(put.url).searchParams.keys()];
    expect(names.filter((n) => /checksum|x-amz-sdk/i.test(n))).toEqual([]);
    expect(signedHeaderNames(put)).toEqual(["content-length", "host"]);
    const withChecksum = sign({
      method: "PUT",
      key: "a.txt",
      contentLength: 0,
      checksumSha256: CHECKSUM,
    });
    // a header S3 checks against the body, never a query parameter it might not
    const params = [...new URL(withChecksum.url).searchParams.keys()];
    expect(params.filter((n) => /checksum/i.test(n))).toEqual([]);
    expect(withChecksum.headers["x-amz-checksum-sha256"]).toBe(CHECKSUM);
  });

  it("signs the method: a GET URL does not verify as a PUT", () => {
    const get = sign({ method: "GET", key: "a.txt" });
    expect(verify(get.url, "GET", {}).valid).toBe(true);
    expect(verify(get.url, "PUT", {}).valid).toBe(false);
  });

  it("binds an UploadPart URL to its part, upload and length", () => {
    const part = sign({
      method: "PUT",
      key: "big.bin",
      contentLength: 5_242_880,
      part: { uploadId: "u-1", partNumber: 2 },
    });
    const params = new URL(part.url).searchParams;
    expect(params.get("partNumber")).toBe("2");
    expect(params.get("uploadId")).toBe("u-1");
    expect(part.headers).toEqual({ "content-length": "5242880" });
    const tampered = part.url.replace("partNumber=2", "partNumber=3");
    expect(verify(tampered, "PUT", part.headers).valid).toBe(false);
  });

  it("keeps a key's slashes and encodes each segment once, with no normalisation", () => {
    const { url } = sign({ method: "GET", key: "a b/c+d/é~.txt" });
    expect(new URL(url).pathname).toBe("/a%20b/c%2Bd/%C3%A9~.txt");
  });

  it("expires at expiresAt truncated to the second, at most 7 days after the signing time", () => {
    const signed = signer.presign({
      method: "GET",
      key: "a",
      date: DATE,
      expiresAt: new Date(DATE.getTime() + 60_100),
    });
    expect(signed.expiresAt).toEqual(new Date("2026-01-02T03:05:05Z"));
    expect(new URL(signed.url).searchParams.get("X-Amz-Expires")).toBe("60");
    expect(
      new URL(sign({ method: "GET", key: "a" }, 604_800).url).searchParams.get("X-Amz-Expires"),
    ).toBe("604800");
    failsWith(() => sign({ method: "GET", key: "a" }, 604_801), "expiry_too_long", "expiresIn");
    failsWith(() => sign({ method: "GET", key: "a" }, 0), "invalid_request", "expiresIn");
  });

  it("refuses a constraint the method cannot carry", () => {
    failsWith(
      () => sign({ method: "PUT", key: "a", range: { start: 0, end: 1 } }),
      "invalid_request",
      "range",
    );
    failsWith(
      () => sign({ method: "GET", key: "a", contentLength: 1 }),
      "invalid_request",
      "contentLength",
    );
    failsWith(
      () => sign({ method: "DELETE", key: "a", contentType: "text/plain" }),
      "invalid_request",
      "contentType",
    );
    failsWith(
      () => sign({ method: "HEAD", key: "a", checksumSha256: CHECKSUM }),
      "invalid_request",
      "checksumSha256",
    );
    failsWith(
      () => sign({ method: "PUT", key: "a", responseContentType: "text/plain" }),
      "invalid_request",
      "responseContentType",
    );
    failsWith(
      () => sign({ method: "GET", key: "a", part: { uploadId: "u", partNumber: 1 } }),
      "invalid_request",
      "part",
    );
  });

  it("refuses malformed constraints", () => {
    failsWith(
      () => sign({ method: "GET", key: "a", range: { start: 5, end: 4 } }),
      "invalid_request",
      "range",
    );
    failsWith(
      () => sign({ method: "GET", key: "a", range: { start: -1, end: 4 } }),
      "invalid_request",
      "range",
    );
    failsWith(
      () => sign({ method: "PUT", key: "a", contentLength: 1.5 }),
      "invalid_request",
      "contentLength",
    );
    failsWith(
      () => sign({ method: "PUT", key: "a", contentLength: -1 }),
      "invalid_request",
      "contentLength",
    );
    failsWith(
      () => sign({ method: "PUT", key: "a", contentType: " " }),
      "invalid_request",
      "contentType",
    );
    failsWith(
      () => sign({ method: "PUT", key: "a", checksumSha256: "abc=" }),
      "invalid_request",
      "checksumSha256",
    );
    const part = (partNumber: number, uploadId = "u") => ({
      method: "PUT" as const,
      key: "a",
      contentLength: 1,
      part: { uploadId, partNumber },
    });
    failsWith(
      () => sign({ ...part(1), contentLength: undefined }),
      "invalid_request",
      "contentLength",
    );
    failsWith(() => sign(part(0)), "invalid_request", "part.partNumber");
    failsWith(() => sign(part(10_001)), "invalid_request", "part.partNumber");
    failsWith(() => sign(part(1, "")), "invalid_request", "part.uploadId");
    expect(sign(part(10_000)).url).toContain("partNumber=10000");
  });

  it("refuses invalid keys (an empty one would sign the bucket listing)", () => {
    for (const key of ["", "/a", "a/", "a//b", "a/../b", "a\u0000b"])
      failsWith(() => sign({ method: "GET", key }), "invalid_key");
  });

  it("never exposes the secret", () => {
    const withToken = new S3Signer(LOCATION, { ...CREDENTIALS, sessionToken: TOKEN });
    expect(JSON.stringify(withToken)).not.toContain(CREDENTIALS.secretAccessKey);
    expect(Object.values(withToken).join()).not.toContain(CREDENTIALS.secretAccessKey);
    expect(sign({ method: "GET", key: "a" }).url).not.toContain(
      encodeURIComponent(CREDENTIALS.secretAccessKey),
    );
  });
});

describe("S3 endpoints", () => {
  const endpoint = (location: Partial<S3Location>) => s3Endpoint({ ...LOCATION, ...location });

  it("resolves virtual-hosted and path-style URLs", () => {
    expect(endpoint({})).toEqual({
      origin: "https://signet-test.s3.eu-west-3.amazonaws.com",
      host: "signet-test.s3.eu-west-3.amazonaws.com",
      bucketPath: "",
    });
    expect(endpoint({ forcePathStyle: true })).toEqual({
      origin: "https://s3.eu-west-3.amazonaws.com",
      host: "s3.eu-west-3.amazonaws.com",
      bucketPath: "/signet-test",
    });
    expect(endpoint({ endpoint: "http://[::1]:9000" }).bucketPath).toBe("/signet-test");
    expect(endpoint({ endpoint: "http://localhost:9000" }).host).toBe("signet-test.localhost:9000");
    expect(endpoint({ endpoint: "https://proxy.example.com/s3/", forcePathStyle: true })).toEqual({
      origin: "https://proxy.example.com",
      host: "proxy.example.com",
      bucketPath: "/s3/signet-test",
    });
    expect(endpoint({ endpoint: "https://s3.example.com:443" }).host).toBe(
      "signet-test.s3.example.com",
    );
    expect(endpoint({ bucket: "Legacy_Bucket" }).bucketPath).toBe("/Legacy_Bucket");
  });

  it("posts forms to the bucket's root", () => {
    expect(new S3Signer(LOCATION, CREDENTIALS).postUrl).toBe(
      "https://signet-test.s3.eu-west-3.amazonaws.com/",
    );
    expect(
      new S3Signer({ ...LOCATION, endpoint: "http://127.0.0.1:9000" }, CREDENTIALS).postUrl,
    ).toBe("http://127.0.0.1:9000/signet-test");
  });

  it("refuses what cannot make a URL", () => {
    for (const bad of [
      "ftp://s3.example.com",
      "https://user:pw@s3.example.com",
      "https://:pw@s3.example.com",
      "https://s3.example.com/?a=1",
      "not a url",
    ])
      expect(() => endpoint({ endpoint: bad })).toThrowError(
        expect.objectContaining({ code: "invalid_request", field: "endpoint" }),
      );
    expect(() => endpoint({ bucket: "" })).toThrowError(
      expect.objectContaining({ field: "bucket" }),
    );
    expect(() => endpoint({ region: "eu/west" })).toThrowError(
      expect.objectContaining({ field: "region" }),
    );
    expect(() => new S3Signer(LOCATION, { accessKeyId: "A", secretAccessKey: "" })).toThrowError(
      expect.objectContaining({ field: "credentials" }),
    );
  });
});

describe("the signing key cache", () => {
  const chain = (secret: string, day: string, region: string) =>
    ["s3", "aws4_request"].reduce(
      (key: Buffer, part) => createHmac("sha256", key).update(part).digest(),
      createHmac("sha256", createHmac("sha256", `AWS4${secret}`).update(day).digest())
        .update(region)
        .digest(),
    );

  it("derives each (secret, day, region, service) key once and keeps it apart from the others", () => {
    const first = signingKey("s1", "20260102", "eu-west-3", "s3");
    expect(first).toEqual(chain("s1", "20260102", "eu-west-3"));
    expect(signingKey("s1", "20260102", "eu-west-3", "s3")).toBe(first);
    for (const [secret, day, region] of [
      ["s2", "20260102", "eu-west-3"],
      ["s1", "20260103", "eu-west-3"],
      ["s1", "20260102", "us-east-1"],
    ] as const) {
      const other = signingKey(secret, day, region, "s3");
      expect(other).toEqual(chain(secret, day, region));
      expect(other).not.toEqual(first);
    }
    expect(signingKey("s1", "20260102", "eu-west-3", "sts")).not.toEqual(first);
    // still cached after the others
    expect(signingKey("s1", "20260102", "eu-west-3", "s3")).toBe(first);
  });
});
