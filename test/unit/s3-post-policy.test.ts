/**
 * S3 POST policies: cross-checked against @aws-sdk/s3-presigned-post createPresignedPost on the
 * same inputs and clock (the same policy bytes, so the same signature), then their own rules.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type S3PostInput, presignPost } from "../../src/backends/s3/s3-post-policy.js";
import { type S3Location, S3Signer } from "../../src/backends/s3/s3-signing.js";
import { type Credentials, signingKey } from "../../src/backends/s3/sigv4.js";

const CREDENTIALS: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const DATE = new Date("2026-01-02T03:04:05.678Z");
const EXPIRES_IN = 600;
const expiresAt = new Date(DATE.getTime() + EXPIRES_IN * 1000);
const LOCATION: S3Location = { bucket: "signet-uploads", region: "eu-west-3" };
const CHECKSUM = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

type Conditions = NonNullable<Parameters<typeof createPresignedPost>[1]["Conditions"]>;
type SdkFields = Record<string, string>;

interface Case {
  name: string;
  location?: S3Location;
  credentials?: Credentials;
  input: Omit<S3PostInput, "date" | "expiresAt">;
  /** the same request in the SDK's terms */
  sdk: { Key: string; Conditions?: Conditions; Fields?: SdkFields };
}

const decode = (policy: string) =>
  JSON.parse(Buffer.from(policy, "base64").toString("utf8")) as {
    expiration: string;
    conditions: unknown[];
  };

describe("S3 POST policies against @aws-sdk/s3-presigned-post", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const cases: Case[] = [
    {
      name: "one key, exact length range, exact type, 201",
      input: {
        key: "kyc/42/passport.jpg",
        contentLength: { min: 1, max: 5_000_000 },
        contentType: "image/jpeg",
        successActionStatus: 201,
      },
      sdk: {
        Key: "kyc/42/passport.jpg",
        Conditions: [["content-length-range", 1, 5_000_000]],
        Fields: { "Content-Type": "image/jpeg", success_action_status: "201" },
      },
    },
    {
      name: "a folder, any image, a redirect, a session token",
      credentials: { ...CREDENTIALS, sessionToken: "FwoGZXIvYXdzEXAMPLE//token+=" },
      input: {
        folder: "users/42/",
        contentLength: { min: 0, max: 1_048_576 },
        contentType: { startsWith: "image/" },
        successActionRedirect: "https://app.example.com/uploaded?x=1",
      },
      sdk: {
        Key: "users/42/${filename}",
        Conditions: [
          ["content-length-range", 0, 1_048_576],
          ["starts-with", "$Content-Type", "image/"],
        ],
        Fields: { success_action_redirect: "https://app.example.com/uploaded?x=1" },
      },
    },
    {
      name: "the whole bucket, a checksum, a non-ASCII folder, path style on an S3-compatible endpoint",
      location: {
        ...LOCATION,
        region: "us-east-1",
        endpoint: "http://127.0.0.1:9000",
        forcePathStyle: true,
      },
      input: { folder: "dossiers/é/", checksumSha256: CHECKSUM },
      sdk: { Key: "dossiers/é/${filename}", Fields: { "x-amz-checksum-sha256": CHECKSUM } },
    },
    {
      name: "the whole bucket",
      input: { folder: "" },
      sdk: { Key: "${filename}" },
    },
  ];

  it.each(cases)(
    "$name",
    async ({ location = LOCATION, credentials = CREDENTIALS, input, sdk }) => {
      const ours = presignPost(new S3Signer(location, credentials), {
        ...input,
        date: DATE,
        expiresAt,
      });
      vi.useFakeTimers({ toFake: ["Date"], now: DATE });
      const client = new S3Client({
        region: location.region,
        credentials,
        endpoint: location.endpoint,
        forcePathStyle: location.forcePathStyle,
      });
      const theirs = await createPresignedPost(client, {
        Bucket: location.bucket,
        ...sdk,
        Expires: EXPIRES_IN,
      });
      expect(decode(ours.fields.Policy!)).toEqual(decode(theirs.fields.Policy!));
      expect(ours.fields.Policy).toBe(theirs.fields.Policy);
      expect(ours.fields["X-Amz-Signature"]).toBe(theirs.fields["X-Amz-Signature"]);
      expect(ours.fields).toEqual(theirs.fields);
      expect(ours.url).toBe(theirs.url);
    },
  );
});

describe("S3 POST policies", () => {
  const signer = new S3Signer(LOCATION, CREDENTIALS);
  const post = (input: Omit<S3PostInput, "date" | "expiresAt">, seconds = EXPIRES_IN) =>
    presignPost(signer, {
      ...input,
      date: DATE,
      expiresAt: new Date(DATE.getTime() + seconds * 1000),
    });
  const failsWith = (fn: () => unknown, code: string, field: string) =>
    expect(fn).toThrowError(expect.objectContaining({ code, field }));

  it("writes the conditions S3 checks, and signs the policy with the day's key", () => {
    const form = post({
      key: "a/b.pdf",
      contentLength: { min: 10, max: 20 },
      contentType: "application/pdf",
      checksumSha256: CHECKSUM,
    });
    expect(decode(form.fields.Policy!)).toEqual({
      expiration: "2026-01-02T03:14:05Z",
      conditions: [
        ["content-length-range", 10, 20],
        { "Content-Type": "application/pdf" },
        { "x-amz-checksum-sha256": CHECKSUM },
        { bucket: "signet-uploads" },
        { "X-Amz-Algorithm": "AWS4-HMAC-SHA256" },
        { "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20260102/eu-west-3/s3/aws4_request" },
        { "X-Amz-Date": "20260102T030405Z" },
        { key: "a/b.pdf" },
      ],
    });
    const key = signingKey(CREDENTIALS.secretAccessKey, "20260102", "eu-west-3", "s3");
    expect(form.fields["X-Amz-Signature"]).toBe(
      createHmac("sha256", key).update(form.fields.Policy!).digest("hex"),
    );
    expect(form.fields.key).toBe("a/b.pdf");
    expect(form.fields["Content-Type"]).toBe("application/pdf");
    expect(form.expiresAt).toEqual(new Date("2026-01-02T03:14:05Z"));
    expect(form.url).toBe("https://signet-uploads.s3.eu-west-3.amazonaws.com/");
  });

  it("binds a folder as a prefix ending in '/', never a sibling sharing its first letters", () => {
    const form = post({ folder: "p" });
    expect(form.fields.key).toBe("p/${filename}");
    expect(decode(form.fields.Policy!).conditions.at(-1)).toEqual(["starts-with", "$key", "p/"]);
  });

  it("leaves a Content-Type pattern to the form, and signs no field it does not need", () => {
    const form = post({ folder: "", contentType: { startsWith: "image/" } });
    expect(form.fields["Content-Type"]).toBeUndefined();
    expect(decode(form.fields.Policy!).conditions[0]).toEqual([
      "starts-with",
      "$Content-Type",
      "image/",
    ]);
    expect(Object.keys(form.fields).sort()).toEqual(
      [
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
        "bucket",
        "key",
      ].sort(),
    );
  });

  it("refuses what a policy cannot say or S3 would not honour", () => {
    failsWith(() => post({}), "invalid_request", "key");
    failsWith(() => post({ key: "a", folder: "b/" }), "invalid_request", "key");
    failsWith(() => post({ key: "a/../b" }), "invalid_key", "key");
    failsWith(() => post({ folder: "/abs/" }), "invalid_key", "folder");
    failsWith(
      () => post({ key: "a", contentLength: { min: 5, max: 4 } }),
      "invalid_request",
      "contentLength",
    );
    failsWith(
      () => post({ key: "a", contentLength: { min: -1, max: 4 } }),
      "invalid_request",
      "contentLength.min",
    );
    failsWith(
      () => post({ key: "a", contentLength: { min: 0, max: 0.5 } }),
      "invalid_request",
      "contentLength.max",
    );
    failsWith(() => post({ key: "a", contentType: "" }), "invalid_request", "contentType");
    failsWith(
      () => post({ key: "a", checksumSha256: "not-base64" }),
      "invalid_request",
      "checksumSha256",
    );
    failsWith(
      () => post({ key: "a", successActionStatus: 302 as 201 }),
      "invalid_request",
      "successActionStatus",
    );
    failsWith(
      () => post({ key: "a", successActionRedirect: "nowhere" }),
      "invalid_request",
      "successActionRedirect",
    );
    failsWith(
      () =>
        post({ key: "a", successActionStatus: 201, successActionRedirect: "https://a.example/" }),
      "invalid_request",
      "successActionRedirect",
    );
  });

  it("lives at most 7 days", () => {
    expect(decode(post({ key: "a" }, 604_800).fields.Policy!).expiration).toBe(
      "2026-01-09T03:04:05Z",
    );
    failsWith(() => post({ key: "a" }, 604_801), "expiry_too_long", "expiresIn");
    failsWith(() => post({ key: "a" }, 0), "invalid_request", "expiresIn");
  });
});
