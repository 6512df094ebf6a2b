/**
 * The published GCS V4 vectors (test/fixtures/conformance/gcs, googleapis/conformance-tests):
 * all 29 signed-URL cases and all 11 POST-policy cases, with the dummy service account, must
 * reproduce byte for byte: URL, canonical request, string-to-sign, policy and signature.
 *
 * The vectors describe hosts the way the client libraries are configured (hostname, client
 * endpoint, emulator host, universe domain, url style); `locationOf` maps them onto
 * GcsLocation's one endpoint, in the libraries' precedence: hostname, then client endpoint,
 * then emulator, then storage.{universe domain}.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type PolicyCondition, signPostPolicyV4 } from "../../src/backends/gcs/gcs-post-policy.js";
import { gcsBucket, type GcsLocation, signV4Url } from "../../src/backends/gcs/gcs-signing.js";

interface HostFields {
  bucket: string;
  urlStyle?: "PATH_STYLE" | "VIRTUAL_HOSTED_STYLE" | "BUCKET_BOUND_HOSTNAME";
  scheme?: string;
  bucketBoundHostname?: string;
  hostname?: string;
  clientEndpoint?: string;
  emulatorHostname?: string;
  universeDomain?: string;
}

interface SigningCase extends HostFields {
  description: string;
  object?: string;
  method: string;
  expiration: number;
  timestamp: string;
  headers?: Record<string, string>;
  queryParameters?: Record<string, string>;
  expectedUrl: string;
  expectedCanonicalRequest: string;
  expectedStringToSign: string;
}

interface PolicyCase {
  description: string;
  policyInput: HostFields & {
    object: string;
    expiration: number;
    timestamp: string;
    conditions?: { startsWith?: [string, string]; contentLengthRange?: [number, number] };
    fields?: Record<string, string>;
  };
  policyOutput: { url: string; fields: Record<string, string>; expectedDecodedPolicy: string };
}

const read = (name: string) =>
  readFileSync(new URL(`../fixtures/conformance/gcs/${name}`, import.meta.url), "utf8");
const vectors = JSON.parse(read("v4_signatures.json")) as {
  signingV4Tests: SigningCase[];
  postPolicyV4Tests: PolicyCase[];
};
const serviceAccount = read("test_service_account.not-a-test.json");

function locationOf(c: HostFields): GcsLocation {
  const scheme = c.scheme ?? "https";
  if (c.urlStyle === "BUCKET_BOUND_HOSTNAME")
    return { bucket: c.bucket, hostname: `${scheme}://${c.bucketBoundHostname}` };
  const endpoint =
    c.hostname !== undefined
      ? `${scheme}://${c.hostname}`
      : (c.clientEndpoint ??
        c.emulatorHostname ??
        `https://storage.${c.universeDomain ?? "googleapis.com"}`);
  return { bucket: c.bucket, endpoint, virtualHostedStyle: c.urlStyle === "VIRTUAL_HOSTED_STYLE" };
}

/** Upstream quirk (fixtures README §1): this case's canonical request shows the path-style path. */
const PATH_STYLE_QUIRK = "Universe domain with virtual hosted style";

describe("GCS V4 signed URL conformance vectors", () => {
  it("has all 29 cases", () => {
    expect(vectors.signingV4Tests).toHaveLength(29);
  });

  it.each(vectors.signingV4Tests)("$description", (c) => {
    const bucket = gcsBucket(locationOf(c), { serviceAccount });
    const signed = signV4Url(bucket, {
      method: c.method,
      key: c.object,
      expiresIn: c.expiration,
      date: new Date(c.timestamp),
      headers: c.headers,
      query: c.queryParameters,
    });
    const expectedCanonical =
      c.description === PATH_STYLE_QUIRK
        ? c.expectedCanonicalRequest.replace("\n/test-bucket/test-object\n", "\n/test-object\n")
        : c.expectedCanonicalRequest;
    expect(signed.canonicalRequest).toBe(expectedCanonical);
    expect(signed.stringToSign).toBe(c.expectedStringToSign);
    expect(signed.url).toBe(c.expectedUrl);
  });

  it("the quirk case's upstream canonical request really is the path-style one", () => {
    const c = vectors.signingV4Tests.find((v) => v.description === PATH_STYLE_QUIRK)!;
    expect(c.expectedCanonicalRequest.split("\n")[1]).toBe("/test-bucket/test-object");
  });
});

describe("GCS V4 POST policy conformance vectors", () => {
  it("has all 11 cases", () => {
    expect(vectors.postPolicyV4Tests).toHaveLength(11);
  });

  it.each(vectors.postPolicyV4Tests)("$description", ({ policyInput: input, policyOutput }) => {
    const conditions: PolicyCondition[] = [];
    if (input.conditions?.startsWith)
      conditions.push(["starts-with", ...input.conditions.startsWith]);
    if (input.conditions?.contentLengthRange)
      conditions.push(["content-length-range", ...input.conditions.contentLengthRange]);
    const signed = signPostPolicyV4(gcsBucket(locationOf(input), { serviceAccount }), {
      key: input.object,
      expiresIn: input.expiration,
      date: new Date(input.timestamp),
      conditions,
      fields: input.fields,
    });
    expect(signed.url).toBe(policyOutput.url);
    // Exact, so the base64 policy and the signature match upstream's \u00e9 escaping too.
    expect(signed.fields).toEqual(policyOutput.fields);
    // The decoded vector holds the literal "é": compare as parsed JSON.
    expect(JSON.parse(signed.policyDocument)).toEqual(
      JSON.parse(policyOutput.expectedDecodedPolicy),
    );
  });
});
