/**
 * GcsBackend (src/backends/gcs/gcs.ts): what unbound() names, what presign() and presignPost() sign
 * (each URL verified with the service account's public key by test/helpers/fake-gcs.ts's
 * verifier, which shares no code with the signer), and the bucket config.
 */
import { createPublicKey, verify } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createGcsBackend,
  GcsBackend,
  type GcsBucketConfig,
  GcsBucketConfigSchema,
} from "../../src/backends/gcs/gcs.js";
import { gcsBucket } from "../../src/backends/gcs/gcs-signing.js";
import type { DirectScope } from "../../src/backends/types.js";
import { parser } from "../../src/core/schema.js";
import { serviceAccountKey, v4Refusal } from "../helpers/fake-gcs.js";

const keyFile = new URL(
  "../fixtures/conformance/gcs/test_service_account.not-a-test.json",
  import.meta.url,
);
const keyText = await readFile(keyFile, "utf8");
const account = JSON.parse(keyText) as { client_email: string; private_key: string };
const key = serviceAccountKey(account);

const NOW = new Date("2026-03-01T12:34:56Z");
const in15m = new Date(NOW.getTime() + 900_000);
const backend = new GcsBackend(gcsBucket({ bucket: "signet-test" }, { serviceAccount: keyText }));

const scope = (change: Partial<DirectScope> = {}): DirectScope => ({
  bucket: "media",
  methods: ["GET"],
  key: "reports/q3.pdf",
  expiresAt: in15m,
  principal: "alice",
  tokenId: "t1",
  constraints: {},
  ...change,
});

/** What GCS makes of a client sending `headers` to `url` with `method`. */
function refusal(method: string, url: string, headers: Record<string, string>) {
  const parsed = new URL(url);
  return v4Refusal(
    {
      method,
      target: url.slice(url.indexOf("/", url.indexOf("//") + 2)),
      headers: { host: parsed.host, ...headers },
    },
    key,
    NOW,
  );
}

function errorOf(fn: () => unknown): Error & { code?: string; field?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

async function rejectionOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; field?: string };
  }
  throw new Error("expected a refusal");
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"], now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("unbound()", () => {
  it.each<[string, Partial<DirectScope>, string[]]>([
    ["a plain GET", {}, []],
    ["HEAD, PUT, DELETE", { methods: ["DELETE"] }, []],
    [
      "everything V4 signs",
      {
        methods: ["PUT"],
        part: { uploadId: "u", partNumber: 3 },
        constraints: {
          contentType: "image/png",
          contentLength: 5,
          headers: { "x-goog-meta-owner": "alice" },
        },
      },
      [],
    ],
    [
      "a range and response overrides",
      {
        constraints: {
          range: { start: 0, end: 9 },
          responseContentDisposition: "attachment",
          responseContentType: "text/plain",
        },
      },
      [],
    ],
    ["two methods", { methods: ["GET", "HEAD"] }, ["methods"]],
    ["LIST", { methods: ["LIST"], key: undefined, folder: "p/" }, ["methods", "folder"]],
    ["POST (a form upload is presignPost)", { methods: ["POST"] }, ["methods"]],
    ["a folder", { key: undefined, folder: "reports/" }, ["folder"]],
    ["the whole bucket", { key: undefined, folder: "" }, ["folder"]],
    ["notBefore", { notBefore: new Date(NOW.getTime() + 60_000) }, ["notBefore"]],
    ["an IP range", { constraints: { ip: ["10.0.0.0/8"] } }, ["ip"]],
    [
      "a length range on a direct PUT",
      { methods: ["PUT"], constraints: { contentLengthRange: [1, 10] } },
      ["contentLengthRange"],
    ],
    [
      "a type pattern",
      { methods: ["PUT"], constraints: { contentType: "image/*" } },
      ["contentType"],
    ],
    [
      "a sha256",
      {
        methods: ["PUT"],
        constraints: { checksumSha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" },
      },
      ["checksumSha256"],
    ],
    ["exactly 7 days", { expiresAt: new Date(NOW.getTime() + 7 * 86400_000) }, []],
    ["past 7 days", { expiresAt: new Date(NOW.getTime() + 7 * 86400_000 + 1000) }, ["expiresAt"]],
    [
      "several at once",
      { methods: ["GET", "PUT"], constraints: { ip: ["::1/128"], range: { start: 0, end: 1 } } },
      ["methods", "ip"],
    ],
  ])("%s", (_name, change, names) => {
    expect(backend.unbound(scope(change))).toEqual(names);
  });

  it("names a constraint it does not know rather than dropping it", () => {
    const future = { constraints: { watermark: "yes" } } as unknown as Partial<DirectScope>;
    expect(backend.unbound(scope(future))).toEqual(["watermark"]);
  });

  it("presign refuses any scope with something unbound", () => {
    for (const change of [
      { key: undefined, folder: "reports/" },
      { methods: ["GET", "HEAD"] },
      { constraints: { ip: ["10.0.0.0/8"] } },
    ] as Partial<DirectScope>[])
      expect(errorOf(() => backend.presign(scope(change)))).toMatchObject({
        code: "constraint_not_enforceable",
      });
  });
});

describe("presign()", () => {
  it("gives the module's documented example", () => {
    const lab = new GcsBackend(gcsBucket({ bucket: "lab-data" }, { serviceAccount: keyText }));
    const signed = lab.presign(
      scope({ key: "genomes/a.bam", constraints: { range: { start: 0, end: 1048575 } } }),
    );
    expect(signed.url).toMatch(
      /^https:\/\/storage\.googleapis\.com\/lab-data\/genomes\/a\.bam\?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id\.iam\.gserviceaccount\.com%2F20260301%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20260301T123456Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host%3Brange&X-Goog-Signature=3c1bf9b708e0f780[0-9a-f]+296c851a0$/,
    );
    expect(signed.headers).toEqual({ range: "bytes=0-1048575" });
  });

  it("signs a range into the Range header the client must send", () => {
    const signed = backend.presign(scope({ constraints: { range: { start: 100, end: 199 } } }));
    expect(signed.method).toBe("GET");
    expect(signed.methods).toBeUndefined();
    expect(signed.headers).toEqual({ range: "bytes=100-199" });
    expect(signed.url).toMatch(
      /^https:\/\/storage\.googleapis\.com\/signet-test\/reports\/q3\.pdf\?/,
    );
    expect(refusal("GET", signed.url, signed.headers)).toBeUndefined();
    expect(refusal("GET", signed.url, { range: "bytes=100-200" })).toBe("SignatureDoesNotMatch");
    expect(refusal("GET", signed.url, {})).toBe("the signed header range is missing");
    expect(refusal("HEAD", signed.url, signed.headers)).toBe("SignatureDoesNotMatch");
  });

  it("lists content-type, content-length and extension headers of an upload", () => {
    const signed = backend.presign(
      scope({
        methods: ["PUT"],
        key: "kyc/alice/passport.jpg",
        constraints: {
          contentType: "image/jpeg",
          contentLength: 1024,
          headers: { "x-goog-meta-owner": "alice", "x-goog-if-generation-match": "0" },
        },
      }),
    );
    expect(signed.method).toBe("PUT");
    expect(signed.headers).toEqual({
      "content-type": "image/jpeg",
      "content-length": "1024",
      "x-goog-meta-owner": "alice",
      "x-goog-if-generation-match": "0",
    });
    expect(new URL(signed.url).searchParams.get("X-Goog-SignedHeaders")).toBe(
      "content-length;content-type;host;x-goog-if-generation-match;x-goog-meta-owner",
    );
    expect(refusal("PUT", signed.url, signed.headers)).toBeUndefined();
    for (const [name, value] of [
      ["content-type", "text/html"],
      ["content-length", "1025"],
      ["x-goog-meta-owner", "mallory"],
    ] as const)
      expect(refusal("PUT", signed.url, { ...signed.headers, [name]: value })).toBe(
        "SignatureDoesNotMatch",
      );
  });

  it("signs response overrides into the query", () => {
    const signed = backend.presign(
      scope({
        constraints: {
          responseContentDisposition: 'attachment; filename="q3.pdf"',
          responseContentType: "application/pdf",
        },
      }),
    );
    expect(signed.headers).toEqual({});
    const query = new URL(signed.url).searchParams;
    expect(query.get("response-content-disposition")).toBe('attachment; filename="q3.pdf"');
    expect(query.get("response-content-type")).toBe("application/pdf");
    expect(refusal("GET", signed.url, {})).toBeUndefined();
    expect(
      refusal(
        "GET",
        signed.url.replace(
          "response-content-type=application%2Fpdf",
          "response-content-type=text%2Fhtml",
        ),
        {},
      ),
    ).toBe("SignatureDoesNotMatch");
  });

  it("puts a part's uploadId and partNumber in the signed query", () => {
    const signed = backend.presign(
      scope({
        methods: ["PUT"],
        key: "big/object.bin",
        part: { uploadId: "ABPnzm5/+x=", partNumber: 7 },
        constraints: { contentLength: 5242880 },
      }),
    );
    const query = new URL(signed.url).searchParams;
    expect(query.get("uploadId")).toBe("ABPnzm5/+x=");
    expect(query.get("partNumber")).toBe("7");
    expect(signed.url).toContain("uploadId=ABPnzm5%2F%2Bx%3D");
    expect(signed.headers).toEqual({ "content-length": "5242880" });
    expect(refusal("PUT", signed.url, signed.headers)).toBeUndefined();
    expect(refusal("PUT", signed.url.replace("partNumber=7", "partNumber=8"), signed.headers)).toBe(
      "SignatureDoesNotMatch",
    );
    expect(
      refusal("PUT", signed.url.replace("uploadId=ABPnzm5", "uploadId=XBPnzm5"), signed.headers),
    ).toBe("SignatureDoesNotMatch");
    expect(refusal("PUT", signed.url, { "content-length": "5242881" })).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("leaves constraints that do not fit the method to the signer's refusals", () => {
    expect(
      errorOf(() => backend.presign(scope({ constraints: { contentType: "text/plain" } }))),
    ).toMatchObject({ code: "invalid_request", field: "contentType" });
    expect(
      errorOf(() =>
        backend.presign(scope({ methods: ["HEAD"], constraints: { range: { start: 0, end: 1 } } })),
      ),
    ).toMatchObject({ code: "invalid_request", field: "range" });
  });
});

describe("presignPost()", () => {
  const decode = (policy: string) =>
    JSON.parse(Buffer.from(policy, "base64").toString()) as { conditions: unknown[] };
  const publicKey = createPublicKey(account.private_key);
  const post = {
    bucket: "media",
    expiresAt: in15m,
    principal: "alice",
    tokenId: "t1",
  };

  it("binds an exact key, a length range, a type pattern and a status", () => {
    const { url, fields } = backend.presignPost({
      ...post,
      key: "uploads/a.png",
      contentLengthRange: [1, 1048576],
      contentType: "image/*",
      successActionStatus: 201,
    })!;
    expect(url).toBe("https://storage.googleapis.com/signet-test/");
    expect(fields.key).toBe("uploads/a.png");
    expect(fields["content-type"]).toBeUndefined();
    const { conditions } = decode(fields.policy!);
    expect(conditions).toContainEqual(["content-length-range", 1, 1048576]);
    expect(conditions).toContainEqual(["starts-with", "$content-type", "image/"]);
    expect(conditions).toContainEqual({ success_action_status: "201" });
    expect(conditions).toContainEqual({ key: "uploads/a.png" });
    const signature = Buffer.from(fields["x-goog-signature"]!, "hex");
    expect(verify("sha256", Buffer.from(fields.policy!), publicKey, signature)).toBe(true);
  });

  it("binds a folder with starts-with $key, an exact type and a redirect", () => {
    const { fields } = backend.presignPost({
      ...post,
      folder: "uploads/alice/",
      contentType: "image/png",
      successActionRedirect: "https://app.example.com/done",
    })!;
    expect(fields.key).toBe("uploads/alice/${filename}");
    expect(fields["content-type"]).toBe("image/png");
    const { conditions } = decode(fields.policy!);
    expect(conditions).toContainEqual(["starts-with", "$key", "uploads/alice/"]);
    expect(conditions).toContainEqual({ "content-type": "image/png" });
    expect(conditions).toContainEqual({ success_action_redirect: "https://app.example.com/done" });
  });

  it("refuses a sha256, which no policy can bind", () => {
    expect(
      errorOf(() =>
        backend.presignPost({
          ...post,
          key: "a",
          checksumSha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
        }),
      ),
    ).toMatchObject({ code: "constraint_not_enforceable", field: "checksumSha256" });
  });
});

describe("config", () => {
  const parse = parser(GcsBucketConfigSchema, "buckets.lab");
  const base = { backend: "gcs", bucket: "lab-data" } as const;
  const env = { GCS_ID: "GOOG1EXAMPLE", GCS_SECRET: "bGlrZS1hLXJlYWwtc2VjcmV0LWJ1dC1ub3Q" };
  const hmac = { hmacAccessId: "${GCS_ID}", hmacSecret: "${GCS_SECRET}" };

  it("accepts a key file or an HMAC key, with the optional settings", () => {
    expect(parse({ ...base, credentialsFile: "/etc/sa.json" })).toBeTruthy();
    expect(
      parse({
        ...base,
        ...hmac,
        endpoint: "http://127.0.0.1:4443",
        virtualHostedStyle: false,
        maxExpiresIn: 3600,
        maxObjectSize: 1024,
      }),
    ).toBeTruthy();
  });

  it.each([
    ["an unknown property", { ...base, region: "eu" }, "buckets.lab.region"],
    [
      "a secret written as a value",
      { ...base, hmacAccessId: "${GCS_ID}", hmacSecret: "abc" },
      "buckets.lab.hmacSecret",
    ],
    ["no bucket", { backend: "gcs", credentialsFile: "/a" }, "buckets.lab.bucket"],
    ["another backend", { ...base, backend: "s3" }, "buckets.lab.backend"],
  ])("refuses %s", (_name, raw, field) => {
    expect(errorOf(() => parse(raw))).toMatchObject({ code: "invalid_request", field });
  });

  it("builds a backend from a key file or from the environment", async () => {
    const fromFile = await createGcsBackend(
      { ...base, credentialsFile: fileURLToPath(keyFile) },
      {},
    );
    const fromEnv = await createGcsBackend({ ...base, ...hmac }, env);
    expect(fromFile.kind).toBe("gcs");
    expect(fromFile.maxExpiresIn).toBe(604800);
    expect(fromFile.presign(scope()).url).toContain("GOOG4-RSA-SHA256");
    expect(fromEnv.presign(scope()).url).toContain("X-Goog-Credential=GOOG1EXAMPLE%2F");
    expect(inspect(fromEnv, { depth: 10, showHidden: true })).not.toContain(env.GCS_SECRET);
    expect(JSON.stringify(fromEnv)).not.toContain(env.GCS_SECRET);
  });

  it.each<[string, Omit<GcsBucketConfig, "backend" | "bucket">, string]>([
    ["no credentials", {}, "credentialsFile"],
    ["both kinds", { credentialsFile: "/a", ...hmac }, "credentialsFile"],
    ["half an HMAC key", { hmacSecret: "${GCS_SECRET}" }, "hmacAccessId"],
    ["an unset variable", { ...hmac, hmacSecret: "${GCS_NOPE}" }, "hmacSecret"],
    ["an unreadable file", { credentialsFile: "/nonexistent/sa.json" }, "credentialsFile"],
    [
      "hostname with virtualHostedStyle",
      { ...hmac, hostname: "cdn.example.com", virtualHostedStyle: true },
      "hostname",
    ],
    ["an endpoint with a path", { ...hmac, endpoint: "https://example.com/gcs" }, "endpoint"],
  ])("refuses %s, naming the key", async (_name, settings, name) => {
    const err = await rejectionOf(createGcsBackend({ ...base, ...settings }, env, "buckets.lab"));
    expect(err.message).toMatch(new RegExp(`^invalid config: buckets\\.lab\\.${name}[: ]`));
    expect(err.message).not.toContain(env.GCS_SECRET);
  });

  it("names the unset variable, never a value", async () => {
    const err = await rejectionOf(
      createGcsBackend({ ...base, ...hmac, hmacSecret: "${GCS_NOPE}" }, env, "buckets.lab"),
    );
    expect(err.message).toBe(
      "invalid config: buckets.lab.hmacSecret names ${GCS_NOPE}, which is not set",
    );
  });

  it("refuses a bucket name GCS would not take", async () => {
    const err = await rejectionOf(createGcsBackend({ ...base, bucket: "Lab_Data", ...hmac }, env));
    expect(err.message).toBe("invalid config: bucket: not a GCS bucket name");
  });

  it("refuses a key file that is not a service account key without quoting it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "signet-gcs-"));
    const broken = join(dir, "sa.json");
    // Not JSON any more, with the private key still inside.
    await writeFile(broken, keyText.replace('"client_email"', "client_email"));
    const err = await rejectionOf(createGcsBackend({ ...base, credentialsFile: broken }, {}));
    expect(err.message).toBe(
      "invalid config: credentialsFile: the service account file is not JSON",
    );
    expect(err.message).not.toContain("PRIVATE KEY");
    expect(err.message).not.toContain(account.private_key.slice(40, 80));
  });
});
