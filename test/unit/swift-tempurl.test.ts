/**
 * The Swift tempurl signer against signatures computed apart from it: the worked examples in
 * Swift 2.30's tempurl.py docstring, vectors from Swift 2.30's own get_hmac(), and a small model
 * of tempurl.py's verifier that reads only the URL (as Swift does) and recomputes the HMAC from
 * the documented format.
 */
import { createHmac } from "node:crypto";
import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type SwiftDigest,
  type SwiftTempUrlConfig,
  SwiftTempUrlSigner,
  tempUrlKeyHeaders,
} from "../../src/backends/swift/swift-tempurl.js";
import { keyProblem } from "../../src/core/keys.js";
import type { Method } from "../../src/core/methods.js";
import { encodeKeyPath } from "../../src/core/urls.js";

const DOCS: SwiftTempUrlConfig = {
  storageUrl: "https://swift-cluster.example.com/v1/AUTH_account",
  container: "container",
  tempUrlKey: "mykey",
};
const PEER: SwiftTempUrlConfig = {
  storageUrl: "http://127.0.0.1:18080/v1/AUTH_test",
  container: "photos",
  tempUrlKey: "mykey",
};
const at = (seconds: number) => new Date(seconds * 1000);
const FUTURE = at(4102444800); // 2100-01-01

/**
 * What tempurl.py checks, from the URL alone: path unquoted, query parsed like parse_qs, the
 * prefix a plain string prefix of the object, HEAD also accepted with a GET, POST or PUT
 * signature. Not modelled: the client IP check and the clock (Swift's own tests cover those).
 */
function swiftAccepts(url: string, method: string, tempUrlKey: string): boolean {
  const { pathname, searchParams: q } = new URL(url);
  const sig = q.get("temp_url_sig");
  const expires = q.get("temp_url_expires");
  if (sig === null || expires === null || !/^\d+$/.test(expires)) return false;
  const path = decodeURIComponent(pathname);
  const [, version, account, container, ...rest] = path.split("/");
  const object = rest.join("/");
  if (version !== "v1" || object === "") return false;
  const prefix = q.get("temp_url_prefix");
  if (prefix !== null && !object.startsWith(prefix)) return false;
  const hashed = prefix === null ? path : `prefix:/v1/${account}/${container}/${prefix}`;
  const [digest, hex] = sig.startsWith("sha512:")
    ? ["sha512", Buffer.from(sig.slice("sha512:".length), "base64url").toString("hex")]
    : ["sha256", sig];
  const ip = q.get("temp_url_ip_range");
  const methods = method === "HEAD" ? ["HEAD", "GET", "POST", "PUT"] : [method];
  return methods.some((m) => {
    const body = [...(ip === null ? [] : [`ip=${ip}`]), m, expires, hashed].join("\n");
    return createHmac(digest, tempUrlKey).update(body, "utf8").digest("hex") === hex;
  });
}

const objectUrlFor = (template: string, key: string) =>
  template.replace("{key}", encodeKeyPath(key));

describe("Swift tempurl: the worked examples of Swift 2.30's tempurl.py", () => {
  const signer = new SwiftTempUrlSigner(DOCS);

  it("signs a sha256 GET exactly as documented", () => {
    expect(signer.objectUrl("object", { method: "GET", expiresAt: at(1512508563) })).toBe(
      "https://swift-cluster.example.com/v1/AUTH_account/container/object" +
        "?temp_url_sig=732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b" +
        "&temp_url_expires=1512508563",
    );
  });

  it("signs a sha512 GET as sha512:<padded urlsafe base64>", () => {
    const sha512 = new SwiftTempUrlSigner({ ...DOCS, digest: "sha512" });
    const url = new URL(sha512.objectUrl("object", { method: "GET", expiresAt: at(1516741234) }));
    expect(url.searchParams.get("temp_url_sig")).toBe(
      "sha512:ZrSijn0GyDhsv1ltIj9hWUTrbAeE45NcKXyBaz7aPbSMvROQ4jtYH4nRAmm5ErY2X11Yc1Yhy2OMCyN3yueeXg==",
    );
  });

  it.each([
    ["1.2.3.4", "3f48476acaf5ec272acd8e99f7b5bad96c52ddba53ed27c60613711774a06f0c"],
    ["1.2.3.0/24", "6ff81256b8a3ba11d239da51a703b9c06a56ffddeb8caab74ca83af8f73c9c83"],
  ])("puts ip=%s first in the HMAC body", (ipRange, sig) => {
    const url = signer.objectUrl("object", { method: "GET", expiresAt: at(1648082711), ipRange });
    expect(url).toBe(
      `https://swift-cluster.example.com/v1/AUTH_account/container/object?temp_url_sig=${sig}` +
        `&temp_url_expires=1648082711&temp_url_ip_range=${encodeURIComponent(ipRange)}`,
    );
  });
});

describe("Swift tempurl: vectors from Swift 2.30's swift.common.digest.get_hmac", () => {
  it("hashes the unencoded UTF-8 path and a UTF-8 key, and percent-encodes the URL", () => {
    const signer = new SwiftTempUrlSigner({ ...PEER, tempUrlKey: "clé secrète 密钥" });
    const url = signer.objectUrl("dir x/été 文.txt", { method: "PUT", expiresAt: at(1700000000) });
    expect(url).toBe(
      "http://127.0.0.1:18080/v1/AUTH_test/photos/dir%20x/%C3%A9t%C3%A9%20%E6%96%87.txt" +
        "?temp_url_sig=d96bbbd93a43437c42f1b42da5b44df5c261598f55a7ea79f78d86e23bb748d5" +
        "&temp_url_expires=1700000000",
    );
  });

  it.each([
    ["p/", "b0b7c232fd0a290aec9d9798baeb3abebd7e4e306b677633580f975ed12850df"],
    ["", "7ce5843d4cf9693c8749fcf908dc7d9d554e34fbc6a081b97cb31e38bb6e19cb"],
  ])("signs the folder %j as prefix:/v1/AUTH_test/photos/<folder>", (folder, sig) => {
    const signer = new SwiftTempUrlSigner(PEER);
    const { url, objectUrlTemplate } = signer.folderUrl(folder, {
      method: "GET",
      expiresAt: at(1700000000),
    });
    const query = `temp_url_sig=${sig}&temp_url_expires=1700000000&temp_url_prefix=${encodeURIComponent(folder)}`;
    expect(url).toBe(`http://127.0.0.1:18080/v1/AUTH_test/photos/${folder}?${query}`);
    expect(objectUrlTemplate).toBe(`http://127.0.0.1:18080/v1/AUTH_test/photos/{key}?${query}`);
  });

  it("signs a sha512 DELETE of a non-ASCII folder bound to an IPv6 range", () => {
    const signer = new SwiftTempUrlSigner({ ...PEER, digest: "sha512" });
    const { url } = signer.folderUrl("été/", {
      method: "DELETE",
      expiresAt: at(1700000000),
      ipRange: "2001:db8::/32",
    });
    const q = new URL(url).searchParams;
    expect(q.get("temp_url_sig")).toBe(
      "sha512:wfvanqclNVOpiQPn4dp9v9FRXFtk9NCZDL0wFwRyZlyNjLh35u-nAxVwbMiMa5ldvtwQ9gAS36SAbyeNwBC47A==",
    );
    expect(q.get("temp_url_prefix")).toBe("été/");
    expect(q.get("temp_url_ip_range")).toBe("2001:db8::/32");
  });
});

describe("Swift tempurl: URLs as Swift reads them", () => {
  const methods: Method[] = ["GET", "HEAD", "PUT", "DELETE"];
  const digests: SwiftDigest[] = ["sha256", "sha512"];
  const validKey = fc
    .array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((segments) => segments.join("/"))
    .filter((key) => keyProblem(key) === undefined);

  it("signs any valid key so that Swift accepts its method and no other (HEAD aside)", () => {
    fc.assert(
      fc.property(
        validKey,
        fc.constantFrom(...methods),
        fc.constantFrom(...digests),
        (key, method, digest) => {
          const signer = new SwiftTempUrlSigner({ ...PEER, digest });
          const url = signer.objectUrl(key, { method, expiresAt: FUTURE });
          expect(new URL(url).pathname).toBe(`/v1/AUTH_test/photos/${encodeKeyPath(key)}`);
          for (const other of methods) {
            const headPasses = other === "HEAD" && (method === "GET" || method === "PUT");
            expect(swiftAccepts(url, other, "mykey")).toBe(other === method || headPasses);
          }
          expect(swiftAccepts(url, method, "another key")).toBe(false);
        },
      ),
    );
  });

  it("gives a folder URL whose template reaches every key under the folder and no other", () => {
    const signer = new SwiftTempUrlSigner(PEER);
    const { url, objectUrlTemplate } = signer.folderUrl("p/", { method: "GET", expiresAt: FUTURE });
    expect(objectUrlFor(objectUrlTemplate, "p/")).toBe(url);
    for (const key of ["p/o1", "p/p2/o3", "p/é x?#%+.txt"])
      expect(swiftAccepts(objectUrlFor(objectUrlTemplate, key), "GET", "mykey")).toBe(true);
    for (const key of ["o4", "p3/o5", "p"])
      expect(swiftAccepts(objectUrlFor(objectUrlTemplate, key), "GET", "mykey")).toBe(false);
    expect(swiftAccepts(objectUrlFor(objectUrlTemplate, "p/o1"), "PUT", "mykey")).toBe(false);
  });

  it('reaches every object of the container with the folder ""', () => {
    const signer = new SwiftTempUrlSigner(PEER);
    const { objectUrlTemplate } = signer.folderUrl("", { method: "PUT", expiresAt: FUTURE });
    for (const key of ["o4", "p3/o5", "dir x/été"])
      expect(swiftAccepts(objectUrlFor(objectUrlTemplate, key), "PUT", "mykey")).toBe(true);
  });

  it("adds filename and inline outside the signature", () => {
    const signer = new SwiftTempUrlSigner(PEER);
    const options = { method: "GET" as const, expiresAt: FUTURE };
    const plain = new URL(signer.objectUrl("a.pdf", options));
    const named = new URL(
      signer.objectUrl("a.pdf", { ...options, filename: "Q3 report é.pdf", inline: true }),
    );
    expect(named.searchParams.get("temp_url_sig")).toBe(plain.searchParams.get("temp_url_sig"));
    expect(named.searchParams.get("filename")).toBe("Q3 report é.pdf");
    expect(named.search.endsWith("&inline")).toBe(true);
  });

  it("floors the expiry to whole seconds so that the URL never outlives it", () => {
    const signer = new SwiftTempUrlSigner(PEER);
    const url = signer.objectUrl("a", { method: "GET", expiresAt: new Date(1700000000999) });
    expect(new URL(url).searchParams.get("temp_url_expires")).toBe("1700000000");
  });

  it("keeps a path prefix before /v1 and a percent-encoded account in URL and HMAC alike", () => {
    const signer = new SwiftTempUrlSigner({
      ...PEER,
      storageUrl: "https://h.example/swift/v1/AUTH_t%C3%A9/",
    });
    const url = signer.objectUrl("a", { method: "GET", expiresAt: at(1700000000) });
    expect(url.startsWith("https://h.example/swift/v1/AUTH_t%C3%A9/photos/a?")).toBe(true);
    const body = "GET\n1700000000\n/swift/v1/AUTH_té/photos/a";
    const sig = createHmac("sha256", "mykey").update(body).digest("hex");
    expect(new URL(url).searchParams.get("temp_url_sig")).toBe(sig);
  });
});

describe("Swift tempurl: refusals", () => {
  const signer = new SwiftTempUrlSigner(PEER);
  const get = { method: "GET" as const, expiresAt: FUTURE };

  it.each([
    [{ digest: "sha1" as SwiftDigest }, "digest"],
    [{ storageUrl: "http://127.0.0.1:18080/AUTH_test" }, "storageUrl"],
    [{ storageUrl: "ftp://127.0.0.1/v1/AUTH_test" }, "storageUrl"],
    [{ storageUrl: "http://127.0.0.1/v1/AUTH_test?x=1" }, "storageUrl"],
    [{ storageUrl: "not a url" }, "storageUrl"],
    [{ container: "" }, "container"],
    [{ container: "a/b" }, "container"],
    [{ tempUrlKey: "" }, "tempUrlKey"],
  ])("refuses the config %j", (change, field) => {
    expect(() => new SwiftTempUrlSigner({ ...PEER, ...change })).toThrow(
      expect.objectContaining({ code: "invalid_request", field }),
    );
  });

  it("never shows the key when the signer is logged", () => {
    const logged = new SwiftTempUrlSigner({ ...PEER, tempUrlKey: "do-not-print-me" });
    expect(JSON.stringify(logged)).not.toContain("do-not-print-me");
    expect(inspect(logged, { showHidden: true, depth: 5 })).not.toContain("do-not-print-me");
  });

  it("never puts the key in an error", () => {
    const secret = "do-not-print-me";
    for (const change of [{ digest: "sha1" as SwiftDigest }, { container: "" }]) {
      try {
        new SwiftTempUrlSigner({ ...PEER, tempUrlKey: secret, ...change });
        expect.unreachable();
      } catch (err) {
        expect(String((err as Error).message)).not.toContain(secret);
      }
    }
  });

  it.each(["POST", "LIST"] as const)("refuses %s as not enforceable", (method) => {
    expect(() => signer.objectUrl("a", { ...get, method })).toThrow(
      expect.objectContaining({ code: "constraint_not_enforceable", field: "method" }),
    );
  });

  it.each(["PUT", "DELETE"] as const)("refuses filename and inline on %s", (method) => {
    for (const extra of [{ filename: "x" }, { inline: true }])
      expect(() => signer.objectUrl("a", { ...get, ...extra, method })).toThrow(
        expect.objectContaining({ code: "invalid_request", field: "filename" }),
      );
  });

  it("refuses an invalid expiry", () => {
    expect(() => signer.objectUrl("a", { ...get, expiresAt: new Date(Number.NaN) })).toThrow(
      expect.objectContaining({ code: "invalid_request", field: "expiresAt" }),
    );
  });

  it.each([
    "10.0.0.1/8",
    "10.0.0.0/33",
    "300.1.1.1",
    "",
    "1.2.3.4/24/1",
    "1.2.3.4/ 8",
    " 10.0.0.0/8",
    "2001:db8::1/32",
    "2001:db8::/129",
    "::ffff:10.0.0.1/104",
    "10.0.0.0/8,127.0.0.1",
  ])("refuses the IP range %j", (ipRange) => {
    expect(() => signer.objectUrl("a", { ...get, ipRange })).toThrow(
      expect.objectContaining({ code: "invalid_request", field: "ip" }),
    );
  });

  it.each([
    "10.0.0.0/8",
    "127.0.0.1",
    "127.0.0.1/32",
    "0.0.0.0/0",
    "::1",
    "::/0",
    "2001:DB8::/32",
    "::ffff:10.0.0.0/104",
    "1:2:3:4:5:6:7::/112",
  ])("signs the IP range %j", (ipRange) => {
    const url = signer.objectUrl("a", { ...get, ipRange });
    expect(new URL(url).searchParams.get("temp_url_ip_range")).toBe(ipRange);
  });

  it.each(["", "/a", "a/", "a//b", "a/../b"])("refuses the object key %j", (key) => {
    expect(() => signer.objectUrl(key, get)).toThrow(
      expect.objectContaining({ code: "invalid_key" }),
    );
  });

  it.each(["p", "/p/", "p//"])("refuses the folder %j, which is not normalised", (folder) => {
    expect(() => signer.folderUrl(folder, get)).toThrow();
  });
});

describe("Swift tempurl: key headers", () => {
  it("sets both account keys, as UTF-8 bytes", () => {
    expect(tempUrlKeyHeaders("account", { tempUrlKey: "new", tempUrlKey2: "clé" })).toEqual({
      "x-account-meta-temp-url-key": "new",
      "x-account-meta-temp-url-key-2": "cl\u00c3\u00a9",
    });
  });

  it("removes the second container key when none is given", () => {
    expect(tempUrlKeyHeaders("container", { tempUrlKey: "k" })).toEqual({
      "x-container-meta-temp-url-key": "k",
      "x-remove-container-meta-temp-url-key-2": "x",
    });
  });
});
