/**
 * OpenStack Swift temporary URLs, as Swift 2.30's tempurl middleware verifies them.
 *
 * A temp URL is an object's URL plus a query that Swift itself checks:
 *
 *   {storage URL}/{container}/{object}?temp_url_sig={sig}&temp_url_expires={unix seconds}
 *       [&temp_url_prefix={folder}][&temp_url_ip_range={range}][&filename={name}][&inline]
 *
 * sig is an HMAC keyed with a Temp-URL-Key over these lines, joined by "\n" (no trailing one):
 *
 *   ip={range}     only with temp_url_ip_range, and then first (a path may hold a newline)
 *   {METHOD}       GET, HEAD, PUT or DELETE: one method per signature
 *   {expires}      the unix seconds of temp_url_expires
 *   {path}         /v1/{account}/{container}/{object}, or for a folder
 *                  prefix:/v1/{account}/{container}/{folder}   (with temp_url_prefix={folder})
 *
 * The body is UTF-8 and its path is the decoded one Swift sees after WSGI unquoting (spaces and
 * non-ASCII as themselves), while the URL carries each segment percent-encoded. HMAC-SHA256 is
 * sent as hex, HMAC-SHA512 as "sha512:" + padded base64url, the form Swift's docs require.
 * Expiry is sent as unix seconds: Swift also takes ISO 8601 ("%Y-%m-%dT%H:%M:%SZ") in the URL,
 * but hashes the unix seconds even then; sending them keeps URL and body alike.
 *
 * Example (from Swift's docs): key "mykey", GET until 1512508563 of /v1/AUTH_account/container/
 * object: HMAC-SHA256("mykey", "GET\n1512508563\n/v1/AUTH_account/container/object") is
 * 732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b, so the URL is
 *
 *   https://swift.example.com/v1/AUTH_account/container/object
 *       ?temp_url_sig=732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b
 *       &temp_url_expires=1512508563
 *
 * Settings on the Swift side: `tempurl` in the proxy pipeline before the auth middleware;
 * `[filter:tempurl] methods` (default GET HEAD PUT POST DELETE) and `allowed_digests` (2.30
 * still takes sha1 by default; this signer refuses it). The keys are account metadata
 * (X-Account-Meta-Temp-URL-Key and -Key-2, set by the account's owner) or container metadata
 * (X-Container-Meta-Temp-URL-Key and -Key-2, whose URLs reach that container only). Swift tries
 * every key set, so rotation is: add the new key as the second one, sign with it, then drop the
 * old one, which ends every URL signed with it (at once when the proxies share memcache, else
 * once their info cache expires: recheck_account/container_existence, 60 s by default). This
 * signer signs with the key it is given; tempUrlKeyHeaders() builds the POST that sets them.
 *
 * What a temp URL binds: the method (but Swift lets a HEAD through with any GET, PUT or POST
 * signature for the same path, so a PUT URL also reveals an object's size and ETag), the expiry
 * (no not-before), one object or one folder (temp_url_prefix is a plain string prefix: Signet's
 * folders end in "/", so `p/` covers `p/o1` and `p/p2/o3`, never `p3/o5`; "" is the whole
 * container) and one client IP range (temp_url_ip_range: an address or CIDR, IPv4 or IPv6,
 * matched against the address the proxy sees).
 * What it cannot bind: byte ranges, content length or type, checksums, response overrides.
 * `filename` and `inline` set Content-Disposition on GET and HEAD but are NOT signed: whoever
 * holds the URL may change or drop them (without them Swift answers `attachment` with the
 * object's name, or the object's own Content-Disposition). Swift drops every other query parameter of a temp URL
 * (so `multipart-manifest=put` never reaches it) and refuses X-Object-Manifest, X-Symlink-Target
 * and X-Copy-From on it. It never lists: a GET on a folder's own URL asks for an object named
 * like the folder. Revocation is only by key rotation. POST is refused: tempurl's POST updates
 * an object's metadata, while Signet's POST is a browser form upload (Swift's formpost, another
 * signature).
 */
import { createHmac } from "node:crypto";
import { type Cidr, parseCidr } from "../../core/cidr.js";
import { invalidRequest, SignetError } from "../../core/errors.js";
import { assertValidKey, toFolder } from "../../core/keys.js";
import type { Method } from "../../core/methods.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";

export type SwiftDigest = "sha256" | "sha512";

export interface SwiftTempUrlConfig {
  /** the account's storage URL, e.g. https://swift.example.com/v1/AUTH_account */
  storageUrl: string;
  container: string;
  /** the Temp-URL-Key (account or container, first or second) to sign with */
  tempUrlKey: string;
  /** default sha256 */
  digest?: SwiftDigest;
}

export interface SwiftTempUrlOptions {
  /** GET, HEAD, PUT or DELETE */
  method: Method;
  /** floored to whole seconds, so the URL never outlives it */
  expiresAt: Date;
  /** one address or CIDR, IPv4 or IPv6, with no host bits set */
  ipRange?: string;
  /** GET and HEAD only, unsigned: Content-Disposition's filename */
  filename?: string;
  /** GET and HEAD only, unsigned: Content-Disposition inline instead of attachment */
  inline?: boolean;
}

export interface SwiftFolderUrl {
  /** the folder's own URL (Swift never lists it) */
  url: string;
  /** the same query on any object: the literal `{key}` stands for its percent-encoded key */
  objectUrlTemplate: string;
}

export interface SwiftTempUrlKeys {
  tempUrlKey: string;
  tempUrlKey2?: string;
}

const METHODS: readonly Method[] = ["GET", "HEAD", "PUT", "DELETE"];

export class SwiftTempUrlSigner {
  private readonly containerUrl: string;
  /** the decoded /v1/{account}/{container} that Swift hashes */
  private readonly containerPath: string;
  /** a #private field: JSON.stringify and util.inspect never show it */
  readonly #key: string;
  private readonly digest: SwiftDigest;

  constructor(config: SwiftTempUrlConfig) {
    let storage: URL;
    let accountPath: string;
    try {
      storage = new URL(config.storageUrl);
      accountPath = decodeURIComponent(trimSlash(storage.pathname));
    } catch {
      throw invalidRequest("swift storage URL is not a URL", "storageUrl");
    }
    if (!/^https?:$/.test(storage.protocol) || !/\/v1\/[^/]+$/.test(accountPath))
      throw invalidRequest("swift storage URL must be http(s)://host/v1/{account}", "storageUrl");
    if (storage.search !== "" || storage.hash !== "")
      throw invalidRequest("swift storage URL must have no query or fragment", "storageUrl");
    if (config.container === "" || config.container.includes("/"))
      throw invalidRequest("swift container must be one non-empty path segment", "container");
    if (config.tempUrlKey === "") throw invalidRequest("swift temp URL key is empty", "tempUrlKey");
    const digest = config.digest ?? "sha256";
    if (digest !== "sha256" && digest !== "sha512")
      throw invalidRequest("swift temp URL digest must be sha256 or sha512", "digest");
    const encodedContainer = encodeURIComponent(config.container);
    this.containerUrl = `${storage.origin}${trimSlash(storage.pathname)}/${encodedContainer}`;
    this.containerPath = `${accountPath}/${config.container}`;
    this.#key = config.tempUrlKey;
    this.digest = digest;
  }

  /** A temp URL for one object. */
  objectUrl(key: string, options: SwiftTempUrlOptions): string {
    assertValidKey(key);
    const query = this.query(`${this.containerPath}/${key}`, options);
    return `${this.containerUrl}/${encodeKeyPath(key)}?${query}`;
  }

  /** A temp URL for every object under `folder` ("" or ending in "/", after the folder rule). */
  folderUrl(folder: string, options: SwiftTempUrlOptions): SwiftFolderUrl {
    if (toFolder(folder) !== folder) throw new Error("swift folder URL needs a normalised folder");
    const query = this.query(`prefix:${this.containerPath}/${folder}`, options, folder);
    return {
      url: `${this.containerUrl}/${encodeKeyPath(folder)}?${query}`,
      objectUrlTemplate: `${this.containerUrl}/{key}?${query}`,
    };
  }

  private query(path: string, options: SwiftTempUrlOptions, prefix?: string): string {
    const { method, ipRange } = options;
    if (!METHODS.includes(method))
      throw new SignetError(
        "constraint_not_enforceable",
        `swift temp URLs sign ${METHODS.join(", ")}, not ${method}`,
        "method",
      );
    const expires = Math.floor(options.expiresAt.getTime() / 1000);
    if (!Number.isSafeInteger(expires))
      throw invalidRequest("expiry is not a valid time", "expiresAt");
    if ((options.filename !== undefined || options.inline) && method !== "GET" && method !== "HEAD")
      throw invalidRequest("filename and inline apply to GET and HEAD only", "filename");
    if (ipRange !== undefined) assertIpRange(ipRange);

    const lines = [method, String(expires), path];
    if (ipRange !== undefined) lines.unshift(`ip=${ipRange}`);
    const mac = createHmac(this.digest, this.#key).update(lines.join("\n"), "utf8");
    // sha512 as in Swift's docs: urlsafe base64, padded (64 bytes always end in "==")
    const sig =
      this.digest === "sha256" ? mac.digest("hex") : `sha512:${mac.digest("base64url")}==`;

    const params: [string, string][] = [
      ["temp_url_sig", sig],
      ["temp_url_expires", String(expires)],
    ];
    if (prefix !== undefined) params.push(["temp_url_prefix", prefix]);
    if (ipRange !== undefined) params.push(["temp_url_ip_range", ipRange]);
    if (options.filename !== undefined) params.push(["filename", options.filename]);
    const query = params.map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
    if (options.inline) query.push("inline");
    return query.join("&");
  }
}

/**
 * The headers of a POST to the storage URL ("account") or to the container's URL ("container")
 * that leaves exactly these keys set: an absent tempUrlKey2 is removed. Values are UTF-8 bytes
 * in a byte string, the way fetch sends header values, since Swift hashes keys as UTF-8.
 */
export function tempUrlKeyHeaders(
  level: "account" | "container",
  keys: SwiftTempUrlKeys,
): Record<string, string> {
  const header = `x-${level}-meta-temp-url-key`;
  const bytes = (key: string) => Buffer.from(key, "utf8").toString("latin1");
  return keys.tempUrlKey2 === undefined
    ? { [header]: bytes(keys.tempUrlKey), [`x-remove-${level}-meta-temp-url-key-2`]: "x" }
    : { [header]: bytes(keys.tempUrlKey), [`${header}-2`]: bytes(keys.tempUrlKey2) };
}

/**
 * Takes one range as core/cidr.ts reads them, and as Python's strict ip_network(), which tempurl
 * applies, also takes it: no host bits set and no surrounding space (the range is signed and
 * sent as given). Else Swift would refuse the URL every time.
 */
function assertIpRange(range: string): void {
  const { address, prefix, family } = parseCidr(range);
  const hostBitsSet = addressBytes(address, family).some(
    (byte, i) => (byte & (0xff >> Math.min(8, Math.max(0, prefix - i * 8)))) !== 0,
  );
  if (hostBitsSet || range !== range.trim())
    throw invalidRequest("ip range must be a network address (no host bits set), unpadded", "ip");
}

/** The address as bytes; host bits are checked on these. */
function addressBytes(address: string, family: Cidr["family"]): number[] {
  if (family === "ipv4") return address.split(".").map(Number);
  // IPv6: an IPv4 tail becomes two groups, then "::" is filled with zero groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = v4
    ? `${address.slice(0, v4.index)}${hexPair(v4[1], v4[2])}:${hexPair(v4[3], v4[4])}`
    : address;
  const [head, tail] = text.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const zeros = tail === undefined ? 0 : 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...Array<string>(zeros).fill("0"), ...groups(tail)];
  return all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

const hexPair = (high = "0", low = "0") => ((Number(high) << 8) | Number(low)).toString(16);
