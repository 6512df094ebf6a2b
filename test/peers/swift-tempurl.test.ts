/**
 * The Swift tempurl signer against a real Swift 2.30 (scripts/peers/swift-start.sh), which
 * verifies every URL itself. Runs only when SIGNET_SWIFT_URL is set, e.g.
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 npx vitest run test/peers/swift-tempurl.test.ts
 */
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type SwiftTempUrlConfig,
  type SwiftTempUrlOptions,
  SwiftTempUrlSigner,
  tempUrlKeyHeaders,
} from "../../src/backends/swift/swift-tempurl.js";
import { encodeKeyPath } from "../../src/core/urls.js";
import { missing } from "../helpers/skip.js";

const SWIFT = process.env.SIGNET_SWIFT_URL;
const ACCOUNT_KEY = "signet account key";
const OLD_KEY = "old container key";
const NEW_KEY = "clé neuve 密钥 2";

const soon = () => new Date(Date.now() + 300_000);
const objectUrl = (template: string, key: string) => template.replace("{key}", encodeKeyPath(key));

/** The same URL with one character of its signature changed. */
function tampered(url: string): string {
  const u = new URL(url);
  const sig = u.searchParams.get("temp_url_sig") ?? "";
  u.searchParams.set(
    "temp_url_sig",
    sig.slice(0, 10) + (sig[10] === "a" ? "b" : "a") + sig.slice(11),
  );
  return u.toString();
}

describe.skipIf(
  missing("Swift tempurl against a real Swift", {
    "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT,
  }),
)("Swift tempurl against a real Swift", () => {
  let token = "";
  let storageUrl = "";
  let container = "";
  let signer: SwiftTempUrlSigner;
  let config: SwiftTempUrlConfig;

  /** A request with tempauth credentials (setup and checks only, never through a temp URL). */
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${storageUrl}${path}`, {
      ...init,
      headers: { "x-auth-token": token, ...(init.headers as Record<string, string>) },
    });
  const opts = (options: Partial<SwiftTempUrlOptions> = {}): SwiftTempUrlOptions => ({
    method: "GET",
    expiresAt: soon(),
    ...options,
  });

  beforeAll(async () => {
    const auth = await fetch(`${SWIFT}/auth/v1.0`, {
      headers: { "x-auth-user": "test:tester", "x-auth-key": "testing" },
    });
    expect(auth.status).toBe(200);
    token = auth.headers.get("x-auth-token") ?? "";
    storageUrl = auth.headers.get("x-storage-url") ?? "";
    expect(storageUrl).toBe(`${SWIFT}/v1/AUTH_test`);

    const keys = await admin("", {
      method: "POST",
      headers: tempUrlKeyHeaders("account", { tempUrlKey: ACCOUNT_KEY }),
    });
    expect(keys.status).toBe(204);
    container = `signet-tempurl-${Date.now().toString(36)}`;
    expect((await admin(`/${container}`, { method: "PUT" })).status).toBe(201);
    for (const key of ["p/o1", "p/o2", "p/p2/o3", "o4", "p3/o5"]) {
      const put = await admin(`/${container}/${key}`, { method: "PUT", body: `body of ${key}` });
      expect(put.status).toBe(201);
    }
    config = { storageUrl, container, tempUrlKey: ACCOUNT_KEY };
    signer = new SwiftTempUrlSigner(config);
  });

  it("reads p/o1, p/o2 and p/p2/o3 with one GET folder URL for p", async () => {
    const { objectUrlTemplate } = signer.folderUrl("p/", opts());
    for (const key of ["p/o1", "p/o2", "p/p2/o3"]) {
      const res = await fetch(objectUrl(objectUrlTemplate, key));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`body of ${key}`);
    }
  });

  it("refuses (401) o4 and p3/o5 with that folder URL, for GET and PUT alike", async () => {
    const reader = signer.folderUrl("p/", opts()).objectUrlTemplate;
    const writer = signer.folderUrl("p/", opts({ method: "PUT" })).objectUrlTemplate;
    for (const key of ["o4", "p3/o5"]) {
      expect((await fetch(objectUrl(reader, key))).status).toBe(401);
      const put = await fetch(objectUrl(writer, key), { method: "PUT", body: "evil" });
      expect(put.status).toBe(401);
      expect(await (await admin(`/${container}/${key}`)).text()).toBe(`body of ${key}`);
    }
  });

  it("uploads under p/ with one PUT folder URL, read by a GET URL signed before", async () => {
    const reader = signer.folderUrl("p/", opts()).objectUrlTemplate;
    const writer = signer.folderUrl("p/", opts({ method: "PUT" })).objectUrlTemplate;
    for (const key of ["p/new1", "p/sub/new2"]) {
      const put = await fetch(objectUrl(writer, key), { method: "PUT", body: `later ${key}` });
      expect(put.status).toBe(201);
      expect(await (await admin(`/${container}/${key}`)).text()).toBe(`later ${key}`);
      const res = await fetch(objectUrl(reader, key));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`later ${key}`);
    }
    const wrongMethod = await fetch(objectUrl(reader, "p/new3"), { method: "PUT", body: "x" });
    expect(wrongMethod.status).toBe(401);
  });

  it('covers the whole container with the folder ""', async () => {
    const { objectUrlTemplate } = signer.folderUrl("", opts());
    for (const key of ["o4", "p3/o5"])
      expect((await fetch(objectUrl(objectUrlTemplate, key))).status).toBe(200);
  });

  it("refuses a tampered, re-dated or expired URL", async () => {
    const url = signer.objectUrl("p/o1", opts());
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(tampered(url))).status).toBe(401);
    const later = new URL(url);
    later.searchParams.set(
      "temp_url_expires",
      String(Number(later.searchParams.get("temp_url_expires")) + 1),
    );
    expect((await fetch(later)).status).toBe(401);
    const expired = signer.objectUrl("p/o1", opts({ expiresAt: new Date(Date.now() - 60_000) }));
    expect((await fetch(expired)).status).toBe(401);
  });

  it("refuses an IP-bound URL from outside its range and serves it inside", async () => {
    expect((await fetch(signer.objectUrl("p/o1", opts({ ipRange: "10.0.0.0/8" })))).status).toBe(
      401,
    );
    const inside = await fetch(signer.objectUrl("p/o1", opts({ ipRange: "127.0.0.1/32" })));
    expect(inside.status).toBe(200);
    expect(await inside.text()).toBe("body of p/o1");
    const folder = signer.folderUrl("p/", opts({ ipRange: "10.0.0.0/8" })).objectUrlTemplate;
    expect((await fetch(objectUrl(folder, "p/o2"))).status).toBe(401);
  });

  it("accepts sha512 signatures and refuses them tampered", async () => {
    const sha512 = new SwiftTempUrlSigner({ ...config, digest: "sha512" });
    const url = sha512.objectUrl("p/o2", opts());
    expect(new URL(url).searchParams.get("temp_url_sig")).toMatch(/^sha512:/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("body of p/o2");
    expect((await fetch(tampered(url))).status).toBe(401);
    const { objectUrlTemplate } = sha512.folderUrl("p/", opts());
    expect((await fetch(objectUrl(objectUrlTemplate, "p/p2/o3"))).status).toBe(200);
  });

  it("writes and reads a key with spaces, non-ASCII and reserved characters", async () => {
    const key = "dir x/été 文件 +%&=?#.txt";
    const put = await fetch(signer.objectUrl(key, opts({ method: "PUT" })), {
      method: "PUT",
      body: "unicode body",
    });
    expect(put.status).toBe(201);
    const res = await fetch(signer.objectUrl(key, opts()));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("unicode body");
    // stored under exactly that name, not a percent-encoded one
    const listing = await admin(`/${container}?format=json&prefix=${encodeURIComponent("dir x/")}`);
    expect(((await listing.json()) as { name: string }[]).map((o) => o.name)).toEqual([key]);
    const { objectUrlTemplate } = signer.folderUrl("dir x/", opts());
    expect((await fetch(objectUrl(objectUrlTemplate, key))).status).toBe(200);
  });

  it("lets HEAD through with a GET or PUT signature but not a DELETE one; DELETE deletes", async () => {
    await admin(`/${container}/p/gone`, { method: "PUT", body: "x" });
    const head = (url: string) => fetch(url, { method: "HEAD" }).then((r) => r.status);
    expect(await head(signer.objectUrl("p/gone", opts({ method: "HEAD" })))).toBe(200);
    expect(await head(signer.objectUrl("p/gone", opts()))).toBe(200);
    expect(await head(signer.objectUrl("p/gone", opts({ method: "PUT" })))).toBe(200);
    const deleteUrl = signer.objectUrl("p/gone", opts({ method: "DELETE" }));
    expect(await head(deleteUrl)).toBe(401);
    expect((await fetch(signer.objectUrl("p/gone", opts({ method: "HEAD" })))).status).toBe(401);
    expect((await fetch(deleteUrl, { method: "DELETE" })).status).toBe(204);
    expect((await admin(`/${container}/p/gone`)).status).toBe(404);
  });

  it("sets Content-Disposition from filename and inline, which are not signed", async () => {
    const named = signer.objectUrl("p/o1", opts({ filename: "Q3 report é.pdf" }));
    const attachment = await fetch(named);
    expect(attachment.status).toBe(200);
    expect(attachment.headers.get("content-disposition")).toBe(
      `attachment; filename="Q3 report %C3%A9.pdf"; filename*=UTF-8''Q3%20report%20%C3%A9.pdf`,
    );
    const inline = await fetch(signer.objectUrl("p/o1", opts({ inline: true })));
    expect(inline.headers.get("content-disposition")).toBe("inline");
    const changed = new URL(named);
    changed.searchParams.set("filename", "other.exe");
    const unsigned = await fetch(changed);
    expect(unsigned.status).toBe(200);
    expect(unsigned.headers.get("content-disposition")).toMatch(
      /^attachment; filename="other\.exe"/,
    );
  });

  it("rotates container keys: an old-key URL works until that key is removed", async () => {
    const rotating = `${container}-rot`;
    expect((await admin(`/${rotating}`, { method: "PUT" })).status).toBe(201);
    expect((await admin(`/${rotating}/r/o`, { method: "PUT", body: "rotated" })).status).toBe(201);
    const both = await admin(`/${rotating}`, {
      method: "POST",
      headers: tempUrlKeyHeaders("container", { tempUrlKey: OLD_KEY, tempUrlKey2: NEW_KEY }),
    });
    expect(both.status).toBe(204);
    const signedWith = (tempUrlKey: string) =>
      new SwiftTempUrlSigner({ storageUrl, container: rotating, tempUrlKey }).objectUrl(
        "r/o",
        opts(),
      );
    const oldUrl = signedWith(OLD_KEY);
    const newUrl = signedWith(NEW_KEY);
    expect((await fetch(oldUrl)).status).toBe(200);
    expect((await fetch(newUrl)).status).toBe(200);
    // a container key reaches its own container only
    const elsewhere = new SwiftTempUrlSigner({ ...config, tempUrlKey: NEW_KEY });
    expect((await fetch(elsewhere.objectUrl("p/o1", opts()))).status).toBe(401);

    const newOnly = await admin(`/${rotating}`, {
      method: "POST",
      headers: tempUrlKeyHeaders("container", { tempUrlKey: NEW_KEY }),
    });
    expect(newOnly.status).toBe(204);
    expect((await fetch(oldUrl)).status).toBe(401);
    const res = await fetch(newUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("rotated");
  });

  it("rotates account keys: a URL signed with Temp-URL-Key-2 fails once it is removed", async () => {
    const both = await admin("", {
      method: "POST",
      headers: tempUrlKeyHeaders("account", { tempUrlKey: ACCOUNT_KEY, tempUrlKey2: OLD_KEY }),
    });
    expect(both.status).toBe(204);
    const oldUrl = new SwiftTempUrlSigner({ ...config, tempUrlKey: OLD_KEY }).objectUrl(
      "p/o1",
      opts(),
    );
    expect((await fetch(oldUrl)).status).toBe(200);
    const removed = await admin("", {
      method: "POST",
      headers: tempUrlKeyHeaders("account", { tempUrlKey: ACCOUNT_KEY }),
    });
    expect(removed.status).toBe(204);
    expect((await fetch(oldUrl)).status).toBe(401);
    expect((await fetch(signer.objectUrl("p/o1", opts()))).status).toBe(200);
  });

  it("has s3api up for the S3 tests: S3 credentials list, a bad S3 signature gets S3's 403", async () => {
    const s3 = new S3Client({
      endpoint: SWIFT,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test:tester", secretAccessKey: "testing" },
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: container, Prefix: "p/p2/" }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["p/p2/o3"]);
    s3.destroy();
    const expires = Math.floor(Date.now() / 1000) + 60;
    const bad = await fetch(
      `${SWIFT}/${container}/p/o1?AWSAccessKeyId=test%3Atester&Signature=bogus&Expires=${expires}`,
    );
    expect(bad.status).toBe(403);
    expect(bad.headers.get("content-type")).toBe("application/xml");
    expect(await bad.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });
});
