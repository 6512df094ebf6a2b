/**
 * SwiftBackend without a Swift: what unbound() names, the URLs presign() gives for an object, a
 * folder and a multipart part (signatures recomputed here from tempurl's documented format),
 * the segment layout, the config, and the refusals that come before any request.
 */
import { createHmac } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  createSwiftBackend,
  MAX_PART_NUMBER,
  SEGMENT_PREFIX,
  SwiftBackend,
  type SwiftBackendOptions,
  type SwiftBucketConfig,
  SwiftBucketConfigSchema,
  segmentName,
} from "../../src/backends/swift/swift.js";
import type { DirectScope } from "../../src/backends/types.js";
import type { ScopeConstraints } from "../../src/core/constraints.js";
import { parser } from "../../src/core/schema.js";

const OPTIONS: SwiftBackendOptions = {
  storageUrl: "https://swift.example.com/v1/AUTH_account",
  container: "photos",
  keys: { tempUrlKey: "mykey" },
};
const EXPIRES = 1512508563;
const UPLOAD = "u".repeat(24);
const backend = new SwiftBackend(OPTIONS);

function scope(fields: Partial<DirectScope>): DirectScope {
  return {
    bucket: "media",
    methods: ["GET"],
    key: "a/b.txt",
    expiresAt: new Date(EXPIRES * 1000),
    principal: "alice",
    tokenId: "t1",
    constraints: {},
    ...fields,
  };
}
const folder = (name: string, fields: Partial<DirectScope> = {}) =>
  scope({ key: undefined, folder: name, ...fields });

/** tempurl.py's HMAC-SHA256 over "[ip=…\n]METHOD\nexpires\npath", in hex. */
const sig = (lines: string[], key = "mykey") =>
  createHmac("sha256", key).update(lines.join("\n")).digest("hex");

describe("unbound", () => {
  const each = (constraints: ScopeConstraints) => scope({ constraints });
  it.each<[string, DirectScope, string[]]>([
    ["a GET of a key", scope({}), []],
    ["a HEAD", scope({ methods: ["HEAD"] }), []],
    ["a DELETE (its signature lets no HEAD through)", scope({ methods: ["DELETE"] }), []],
    // Without admin credentials a link cannot do better: the PUT is signed (HEAD passes too).
    ["a PUT, temp URL key only", scope({ methods: ["PUT"] }), []],
    ["a PUT of a part", scope({ methods: ["PUT"], part: { uploadId: UPLOAD, partNumber: 1 } }), []],
    ["several methods", scope({ methods: ["GET", "HEAD"] }), ["methods"]],
    ["POST", scope({ methods: ["POST"] }), ["methods"]],
    ["LIST of a folder", folder("p/", { methods: ["LIST"] }), ["methods"]],
    ["a GET of a folder", folder("p/"), []],
    ["a DELETE of a folder", folder("p/", { methods: ["DELETE"] }), []],
    ["a PUT of a folder, temp URL key only", folder("p/", { methods: ["PUT"] }), []],
    ["the whole container, which holds the segments", folder(""), ["folder"]],
    ["notBefore", scope({ notBefore: new Date(0) }), ["notBefore"]],
    ["one IPv4 range", each({ ip: ["10.0.0.0/8"] }), []],
    ["one IPv6 range", each({ ip: ["2001:db8::/32"] }), []],
    ["two ranges", each({ ip: ["10.0.0.0/8", "192.168.0.0/16"] }), ["ip"]],
    ["a range with host bits set", each({ ip: ["10.0.0.1/8"] }), ["ip"]],
    ["a byte range", each({ range: { start: 0, end: 9 } }), ["range"]],
    ["a length", each({ contentLength: 5 }), ["contentLength"]],
    ["a length range", each({ contentLengthRange: [1, 5] }), ["contentLengthRange"]],
    ["a type", each({ contentType: "image/png" }), ["contentType"]],
    ["a checksum", each({ checksumSha256: "x".repeat(44) }), ["checksumSha256"]],
    ["headers", each({ headers: { "x-a": "b" } }), ["headers"]],
    [
      "response overrides (filename and inline are unsigned)",
      each({ responseContentDisposition: "inline", responseContentType: "text/plain" }),
      ["responseContentDisposition", "responseContentType"],
    ],
  ])("%s", (_name, given, expected) => {
    expect(backend.unbound(given)).toEqual(expected);
  });

  // With admin credentials a plain PUT goes through a link: its signature would let HEAD through.
  const withAdmin = new SwiftBackend({
    ...OPTIONS,
    admin: { authUrl: "https://swift.example.com/auth/v1.0", user: "a:b", key: "k" },
  });
  it.each<[string, DirectScope, string[]]>([
    ["a PUT, with admin credentials", scope({ methods: ["PUT"] }), ["methods"]],
    ["a PUT of a folder, with admin credentials", folder("p/", { methods: ["PUT"] }), ["methods"]],
    [
      "a PUT of a part, with admin credentials",
      scope({ methods: ["PUT"], part: { uploadId: UPLOAD, partNumber: 1 } }),
      [],
    ],
  ])("%s", (_name, given, expected) => {
    expect(withAdmin.unbound(given)).toEqual(expected);
  });

  it("names everything unbound at once", () => {
    const all = scope({
      methods: ["GET", "PUT"],
      notBefore: new Date(0),
      constraints: {
        ip: ["10.0.0.0/8", "::1/128"],
        range: { start: 0, end: 1 },
        contentType: "a/b",
      },
    });
    expect(backend.unbound(all).sort()).toEqual(
      ["methods", "notBefore", "ip", "range", "contentType"].sort(),
    );
  });

  it("refuses keys and folders under the segment prefix", () => {
    expect(() => backend.unbound(scope({ key: `${SEGMENT_PREFIX}a/${UPLOAD}/00001` }))).toThrow(
      expect.objectContaining({ code: "invalid_key" }),
    );
    expect(() => backend.unbound(folder(`${SEGMENT_PREFIX}a/`))).toThrow(
      expect.objectContaining({ code: "invalid_key" }),
    );
    // a key merely named like it is an ordinary key
    expect(backend.unbound(scope({ key: ".signet-segments" }))).toEqual([]);
  });
});

describe("presign", () => {
  it("gives the module's worked example for a folder", () => {
    const signed = backend.presign(folder("trips/2024/"));
    const query =
      "temp_url_sig=6e8b21b8ffe6cfb59bd50f3c26fc2ae4eadc8da6d64c8909dee348041f993826" +
      `&temp_url_expires=${EXPIRES}&temp_url_prefix=trips%2F2024%2F`;
    expect(signed).toEqual({
      url: `https://swift.example.com/v1/AUTH_account/photos/trips/2024/?${query}`,
      method: "GET",
      headers: {},
      objectUrlTemplate: `https://swift.example.com/v1/AUTH_account/photos/{key}?${query}`,
    });
    expect(sig(["GET", `${EXPIRES}`, "prefix:/v1/AUTH_account/photos/trips/2024/"])).toBe(
      "6e8b21b8ffe6cfb59bd50f3c26fc2ae4eadc8da6d64c8909dee348041f993826",
    );
  });

  it("signs one object for one method and one IP range", () => {
    const signed = backend.presign(
      scope({ key: "a b/é.txt", methods: ["DELETE"], constraints: { ip: ["10.0.0.0/8"] } }),
    );
    const expected = sig([
      "ip=10.0.0.0/8",
      "DELETE",
      `${EXPIRES}`,
      "/v1/AUTH_account/photos/a b/é.txt",
    ]);
    expect(signed).toEqual({
      url:
        "https://swift.example.com/v1/AUTH_account/photos/a%20b/%C3%A9.txt" +
        `?temp_url_sig=${expected}&temp_url_expires=${EXPIRES}&temp_url_ip_range=10.0.0.0%2F8`,
      method: "DELETE",
      headers: {},
    });
  });

  it("signs a part as a PUT of its segment object", () => {
    const signed = backend.presign(
      scope({ key: "a/b.bin", methods: ["PUT"], part: { uploadId: UPLOAD, partNumber: 7 } }),
    );
    const path = `/v1/AUTH_account/photos/.signet-segments/a/b.bin/${UPLOAD}/00007`;
    const expected = sig(["PUT", `${EXPIRES}`, path]);
    expect(signed).toEqual({
      url: `https://swift.example.com${path}?temp_url_sig=${expected}&temp_url_expires=${EXPIRES}`,
      method: "PUT",
      headers: {},
    });
  });

  it("refuses what it cannot bind, naming the first unbound part", () => {
    for (const [given, field] of [
      [scope({ methods: ["GET", "HEAD"] }), "methods"],
      [folder(""), "folder"],
      [scope({ constraints: { contentType: "a/b" } }), "contentType"],
    ] as const)
      expect(() => backend.presign(given)).toThrow(
        expect.objectContaining({ code: "constraint_not_enforceable", field }),
      );
    expect(() =>
      backend.presign(scope({ methods: ["GET"], part: { uploadId: UPLOAD, partNumber: 1 } })),
    ).toThrow(expect.objectContaining({ code: "invalid_request", field: "part" }));
  });

  it("has no form upload", () => {
    expect(
      backend.presignPost({
        bucket: "media",
        key: "a",
        expiresAt: new Date(EXPIRES * 1000),
        principal: "alice",
        tokenId: "t1",
      }),
    ).toBeNull();
  });

  it("signs sha512 when configured", () => {
    const sha512 = new SwiftBackend({ ...OPTIONS, digest: "sha512" });
    const url = new URL(sha512.presign(scope({})).url);
    const expected = createHmac("sha512", "mykey")
      .update(`GET\n${EXPIRES}\n/v1/AUTH_account/photos/a/b.txt`)
      .digest("base64url");
    expect(url.searchParams.get("temp_url_sig")).toBe(`sha512:${expected}==`);
  });

  it("signs with the keys useKeys gives", () => {
    const switching = new SwiftBackend(OPTIONS);
    switching.useKeys({ tempUrlKey: "other", tempUrlKey2: "mykey" });
    const url = new URL(switching.presign(scope({})).url);
    expect(url.searchParams.get("temp_url_sig")).toBe(
      sig(["GET", `${EXPIRES}`, "/v1/AUTH_account/photos/a/b.txt"], "other"),
    );
  });
});

describe("segment names", () => {
  it("are .signet-segments/{key}/{uploadId}/{five-digit part}", () => {
    expect(segmentName("a/b.txt", UPLOAD, 7)).toBe(`.signet-segments/a/b.txt/${UPLOAD}/00007`);
    expect(segmentName("k", UPLOAD, MAX_PART_NUMBER)).toBe(`.signet-segments/k/${UPLOAD}/10000`);
  });

  it("refuse part numbers outside 1..10000 and ids that are not Signet's", () => {
    for (const partNumber of [0, -1, 1.5, MAX_PART_NUMBER + 1])
      expect(() => segmentName("k", UPLOAD, partNumber)).toThrow(
        expect.objectContaining({ field: "partNumber" }),
      );
    for (const uploadId of ["", "../../etc", `${UPLOAD}/x`, "u".repeat(23)])
      expect(() => segmentName("k", uploadId, 1)).toThrow(
        expect.objectContaining({ field: "uploadId" }),
      );
  });

  it("fit Swift's 1,024-byte names: keys of up to 975 bytes", () => {
    expect(segmentName("é".repeat(487) + "x", UPLOAD, 1)).toHaveLength(17 + 488 + 31);
    expect(() => segmentName("é".repeat(488), UPLOAD, 1)).toThrow(
      expect.objectContaining({ code: "invalid_key" }),
    );
  });
});

describe("config", () => {
  const parse = parser(SwiftBucketConfigSchema);
  const minimal: SwiftBucketConfig = {
    backend: "swift",
    storageUrl: "https://swift.example.com/v1/AUTH_acme",
    container: "media",
    tempUrlKey: "${SWIFT_TEMPURL_KEY}",
  };
  const admin = {
    authUrl: "https://swift.example.com/auth/v1.0",
    user: "acme:signet",
    key: "${SWIFT_ADMIN_KEY}",
  };
  const env = { SWIFT_TEMPURL_KEY: "temp-secret", SWIFT_ADMIN_KEY: "admin-secret" };

  it("takes a minimal bucket and every option", () => {
    expect(parse(minimal)).toEqual(minimal);
    const full = {
      ...minimal,
      ...admin,
      tempUrlKey2: "${OLD}",
      keyLevel: "container",
      digest: "sha512",
      maxExpiresIn: 3600,
      maxObjectSize: 1 << 20,
    };
    expect(parse(full)).toEqual(full);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["sha1", { digest: "sha1" }, /^digest must be one of "sha256", "sha512"$/],
    ["an unknown key level", { keyLevel: "project" }, /^keyLevel must be one of/],
    ["a key written in the config", { tempUrlKey: "hunter2" }, /^tempUrlKey /],
    ["an admin key written in the config", { key: "hunter2" }, /^key /],
    ["an unknown property", { region: "x" }, /^region is not a known property$/],
    ["a container with a slash", { container: "a/b" }, /^container /],
  ])("refuses %s", (_name, change, message) => {
    expect(() => parse({ ...minimal, ...change })).toThrow(message);
  });

  it("resolves secrets from the environment and keeps them out of sight", () => {
    const made = createSwiftBackend(
      { ...minimal, ...admin, tempUrlKey2: "${SWIFT_TEMPURL_KEY}" },
      env,
    );
    expect(made.keyLevel).toBe("account");
    const url = new URL(made.presign(scope({})).url);
    expect(url.searchParams.get("temp_url_sig")).toBe(
      sig(["GET", `${EXPIRES}`, "/v1/AUTH_acme/media/a/b.txt"], "temp-secret"),
    );
    for (const shown of [inspect(made, { depth: 10, showHidden: true }), JSON.stringify(made)])
      expect(shown).not.toMatch(/temp-secret|admin-secret/);
  });

  it("names the config key of a missing variable, never another secret", () => {
    const refusal = (config: SwiftBucketConfig, given: NodeJS.ProcessEnv) => {
      try {
        createSwiftBackend(config, given, "buckets.media");
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refusal({ ...minimal, ...admin }, { SWIFT_ADMIN_KEY: "admin-secret" })).toBe(
      "invalid config: buckets.media.tempUrlKey names ${SWIFT_TEMPURL_KEY}, which is not set",
    );
    expect(refusal({ ...minimal, ...admin, user: "${SWIFT_USER}" }, env)).toBe(
      "invalid config: buckets.media.user names ${SWIFT_USER}, which is not set",
    );
    expect(refusal({ ...minimal, key: "${SWIFT_ADMIN_KEY}" }, env)).toBe(
      "invalid config: buckets.media.authUrl: authUrl, user and key go together",
    );
    const badUrl = refusal({ ...minimal, storageUrl: "https://swift.example.com/AUTH_acme" }, env);
    expect(badUrl).toMatch(/^invalid config: buckets\.media\.storageUrl: /);
    expect(badUrl).not.toMatch(/secret/);
  });
});

describe("without admin credentials", () => {
  it.each<[string, () => Promise<unknown>]>([
    ["head", () => backend.head("a")],
    ["get", () => backend.get("a")],
    ["put", () => backend.put("a", undefined as never, { contentType: "a/b" })],
    ["delete", () => backend.delete("a")],
    ["list", () => backend.list("", { limit: 10 })],
    ["createMultipart", () => backend.createMultipart("a", { contentType: "a/b" })],
    ["listParts", () => backend.listParts("a", UPLOAD)],
    [
      "completeMultipart",
      () => backend.completeMultipart("a", UPLOAD, [{ partNumber: 1, etag: "e" }]),
    ],
    ["abortMultipart", () => backend.abortMultipart("a", UPLOAD)],
    ["rotateKey", () => backend.rotateKey("new")],
    ["retireKey", () => backend.retireKey()],
  ])("%s refuses before any request", async (_name, operation) => {
    await expect(operation()).rejects.toMatchObject({
      code: "backend_unavailable",
      message: expect.stringMatching(/needs admin credentials/),
    });
  });
});

describe("key rotation", () => {
  // Nothing listens on port 9: a refusal that reached the network would be backend_unavailable.
  const admin = { authUrl: "http://127.0.0.1:9/auth/v1.0", user: "u", key: "k" };

  it("waits until the previous key is retired", async () => {
    const mid = new SwiftBackend({
      ...OPTIONS,
      keys: { tempUrlKey: "b", tempUrlKey2: "a" },
      admin,
    });
    await expect(mid.rotateKey("c")).rejects.toMatchObject({ code: "conflict" });
  });

  it("refuses the current key or an empty one as the new key", async () => {
    const settled = new SwiftBackend({ ...OPTIONS, admin });
    for (const key of ["mykey", ""])
      await expect(settled.rotateKey(key)).rejects.toMatchObject({ code: "invalid_request" });
  });
});
