/**
 * The worked SigV4 examples of the Amazon S3 API Reference (test/fixtures/conformance/README.md
 * §3): the presigned GET through the S3 layer, byte for byte, and the four Authorization-header
 * examples through the generic signer.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { S3Signer } from "../../src/backends/s3/s3-signing.js";
import {
  type Pair,
  UNSIGNED_PAYLOAD,
  presign,
  signHeaders,
  signingKey,
  uriEncodePath,
} from "../../src/backends/s3/sigv4.js";

interface Expected {
  canonicalRequest: string;
  canonicalRequestSha256: string;
  stringToSign: string;
  signature: string;
}
const docs = JSON.parse(
  readFileSync(
    join(import.meta.dirname, "../fixtures/conformance/aws/s3-docs-examples.json"),
    "utf8",
  ),
) as {
  credentials: { accessKeyId: string; secretAccessKey: string };
  scope: { date: string; region: string; service: string };
  derived: { signingKeyHex: string };
  presignedUrlExamples: {
    name: string;
    input: {
      bucket: string;
      key: string;
      host: string;
      region: string;
      timestamp: string;
      expiresSeconds: number;
    };
    expected: Expected & { url: string };
  }[];
  authorizationHeaderExamples: {
    name: string;
    input: {
      method: string;
      canonicalUri: string;
      canonicalQueryString: string;
      headers: Record<string, string>;
      payload: string;
      region: string;
      service: string;
    };
    expected: Expected & { authorization: string };
  }[];
};

const { credentials } = docs;
const date = new Date("2013-05-24T00:00:00Z");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function expectSignature(actual: Omit<Expected, "canonicalRequestSha256">, expected: Expected) {
  expect(actual.canonicalRequest).toBe(expected.canonicalRequest);
  expect(sha256(actual.canonicalRequest)).toBe(expected.canonicalRequestSha256);
  expect(actual.stringToSign).toBe(expected.stringToSign);
  expect(actual.signature).toBe(expected.signature);
}

describe("S3 API Reference examples", () => {
  it("derives the documented signing key", () => {
    const { date: day, region, service } = docs.scope;
    const key = signingKey(credentials.secretAccessKey, day, region, service);
    expect(key.toString("hex")).toBe(docs.derived.signingKeyHex);
  });

  describe.each(docs.presignedUrlExamples)("presigned URL: $name", ({ input, expected }) => {
    it("is the documented URL, from the S3 layer", () => {
      const signer = new S3Signer(
        { bucket: input.bucket, region: input.region, endpoint: "https://s3.amazonaws.com" },
        credentials,
      );
      expect(signer.endpoint.host).toBe(input.host);
      const signed = signer.presign({
        method: "GET",
        key: input.key,
        date,
        expiresAt: new Date(date.getTime() + input.expiresSeconds * 1000),
      });
      expect(signed.url).toBe(expected.url);
      expect(signed.headers).toEqual({});
    });

    it("has the documented canonical request, from the generic signer", () => {
      const signed = presign(
        {
          method: "GET",
          path: `/${input.key}`,
          headers: [["Host", input.host]],
          payloadHash: UNSIGNED_PAYLOAD,
        },
        { credentials, region: input.region, service: "s3", date },
        { expiresIn: input.expiresSeconds },
      );
      expectSignature(signed, expected);
    });
  });

  it.each(docs.authorizationHeaderExamples)(
    "Authorization header: $name",
    ({ input, expected }) => {
      const payloadHash = sha256(input.payload);
      expect(payloadHash).toBe(input.headers["x-amz-content-sha256"]);
      // the canonical URI is given encoded; it is what the S3 layer makes of the raw key
      expect(uriEncodePath(decodeURIComponent(input.canonicalUri))).toBe(input.canonicalUri);
      const query = input.canonicalQueryString
        .split("&")
        .filter((part) => part !== "")
        .map((part) => part.split("=") as unknown as Pair);
      // the signer adds x-amz-date and x-amz-content-sha256 itself
      const headers = Object.entries(input.headers).filter(
        ([name]) => name !== "x-amz-date" && name !== "x-amz-content-sha256",
      );
      const signed = signHeaders(
        { method: input.method, path: input.canonicalUri, query, headers, payloadHash },
        { credentials, region: input.region, service: input.service, date },
        { contentSha256Header: true },
      );
      expectSignature(signed, expected);
      expect(signed.headers["x-amz-date"]).toBe(input.headers["x-amz-date"]);
      expect(signed.headers["x-amz-content-sha256"]).toBe(payloadHash);
      // the page writes the Authorization parts without the space after each comma
      expect(signed.headers.authorization!.replaceAll(", ", ",")).toBe(expected.authorization);
    },
  );
});
