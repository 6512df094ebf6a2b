/**
 * service/direct-safety.ts: what a direct URL must not do beyond its scope, on real backends
 * (signing needs no network): active content never inline, methods let through beyond the
 * grants, and links that could only fail at use.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3Backend } from "../../src/backends/s3/s3.js";
import { SwiftBackend } from "../../src/backends/swift/swift.js";
import type { DirectScope } from "../../src/backends/types.js";
import { alsoAllowed, linkUnservable, safeDirect } from "../../src/service/direct-safety.js";

const CREDENTIALS = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret" };
const s3 = new S3Backend({
  location: { bucket: "b", region: "us-east-1" },
  checksums: "enforced",
  maxExpiresIn: 604_800,
  client: new S3Client({ region: "us-east-1", credentials: CREDENTIALS }),
  credentials: CREDENTIALS,
});
const SWIFT = {
  storageUrl: "https://swift.example.com/v1/AUTH_a",
  container: "c",
  keys: { tempUrlKey: "k" },
};
const keyOnly = new SwiftBackend(SWIFT);
const withAdmin = new SwiftBackend({
  ...SWIFT,
  admin: { authUrl: "https://swift.example.com/auth/v1.0", user: "a:b", key: "k" },
});

const scope = (fields: Partial<DirectScope>): DirectScope => ({
  bucket: "media",
  methods: ["GET"],
  key: "p/page.html",
  expiresAt: new Date(Date.now() + 600_000),
  principal: "alice",
  tokenId: "t1",
  constraints: {},
  ...fields,
});

describe("safeDirect", () => {
  it("signs attachment on a download where the provider binds overrides", () => {
    const { scope: signed, unbound } = safeDirect(s3, scope({}));
    expect(unbound).toEqual([]);
    expect(signed.constraints.responseContentDisposition).toMatch(
      /^attachment; filename="page.html"/,
    );
    expect(s3.presign(signed).url).toContain("response-content-disposition=attachment");
  });

  it("refuses an active responseContentType, and inline without a safe type", () => {
    expect(
      safeDirect(s3, scope({ constraints: { responseContentType: "text/html" } })).unbound,
    ).toEqual(["responseContentType"]);
    expect(
      safeDirect(s3, scope({ constraints: { responseContentType: "image/svg+xml" } })).unbound,
    ).toEqual(["responseContentType"]);
    expect(
      safeDirect(s3, scope({ constraints: { responseContentDisposition: "inline" } })).unbound,
    ).toEqual(["responseContentDisposition"]);
    const safe = scope({
      constraints: { responseContentDisposition: "inline", responseContentType: "text/plain" },
    });
    expect(safeDirect(s3, safe)).toEqual({ scope: safe, unbound: [] });
  });

  it("leaves uploads as they are", () => {
    const put = scope({ methods: ["PUT"] });
    expect(safeDirect(s3, put)).toEqual({ scope: put, unbound: [] });
    expect(safeDirect(keyOnly, put)).toEqual({ scope: put, unbound: [] });
  });

  it("leaves no download direct where the provider binds no overrides (Swift's unsigned &inline)", () => {
    const get = scope({});
    expect(safeDirect(keyOnly, get)).toEqual({ scope: get, unbound: ["attachment"] });
    expect(safeDirect(withAdmin, scope({ key: undefined, folder: "p/" })).unbound).toEqual([
      "attachment",
    ]);
    expect(safeDirect(withAdmin, scope({ methods: ["HEAD"] })).unbound).toEqual([]);
  });
});

describe("alsoAllowed", () => {
  it("names HEAD for a Swift PUT, nothing for a GET (HEAD is implied) or on S3", () => {
    expect(alsoAllowed(keyOnly, ["PUT"])).toEqual(["HEAD"]);
    expect(alsoAllowed(keyOnly, ["GET"])).toEqual([]);
    expect(alsoAllowed(keyOnly, ["PUT", "HEAD"])).toEqual([]);
    expect(alsoAllowed(s3, ["PUT"])).toEqual([]);
  });
});

describe("linkUnservable", () => {
  const folder = (methods: DirectScope["methods"], constraints = {}) =>
    scope({ key: undefined, folder: "", methods, constraints });

  it("is undefined where Signet can proxy", () => {
    expect(linkUnservable(withAdmin, folder(["GET", "LIST"]), "p")).toBeUndefined();
    expect(linkUnservable(s3, folder(["PUT"], { contentType: "a/b" }), "p")).toBeUndefined();
  });

  it("on a Swift bucket with only a temp URL key: redirectable methods only", () => {
    expect(linkUnservable(keyOnly, folder(["PUT"]), "r")).toBeUndefined();
    expect(linkUnservable(keyOnly, folder(["HEAD", "DELETE"]), "r")).toBeUndefined();
    // a download's redirect target would hand out a URL that renders inline with `&inline`
    expect(linkUnservable(keyOnly, folder(["GET"]), "r")).toMatch(/GET \(attachment\)/);
    expect(linkUnservable(keyOnly, folder(["HEAD", "LIST"]), "r")).toMatch(/listing/);
    expect(linkUnservable(keyOnly, folder(["GET"]), "p")).toMatch(/proxy/);
    expect(linkUnservable(keyOnly, folder(["PUT"], { contentType: "a/b" }), "r")).toMatch(
      /contentType/,
    );
  });

  it("refuses a PUT whose redirect target would let through an ungranted HEAD", () => {
    expect(linkUnservable(keyOnly, folder(["PUT"]), "r", false)).toMatch(/also allow HEAD/);
    expect(linkUnservable(keyOnly, folder(["DELETE"]), "r", false)).toBeUndefined();
  });
});
