/**
 * Azure Blob Storage shared access signatures (SAS), signed without the SDK.
 *
 * A SAS is a query string; its `sig` is base64(HMAC-SHA256(key, utf8(stringToSign))), where key is
 * the base64-decoded account key (a service SAS) or the `value` of a user delegation key obtained
 * through @azure/identity and BlobServiceClient.getUserDelegationKey (a user delegation SAS, which
 * also carries the key's own fields skoid…skv). For sv=2025-11-05, the one version emitted
 * (SAS_VERSION), the string-to-sign is these fields joined by "\n", each "" when absent:
 *
 *   service:    sp st se /blob/{account}/{container}[/{blob}] si sip spr sv sr sst ses
 *               rscc rscd rsce rscl rsct
 *   delegation: sp st se /blob/{account}/{container}[/{blob}] skoid sktid skt ske sks skv
 *               saoid suoid scid skdutid sduoid sip spr sv sr sst ses rscc rscd rsce rscl rsct
 *
 * (sst is the snapshot time, never set here.) Older layouts, which `stringToSign` also builds:
 * before 2018-11-09 there is no sr or sst, before 2020-12-06 no ses; user delegation exists since
 * 2018-11-09, with saoid suoid scid since 2020-02-10 and skdutid sduoid since 2025-07-05.
 * Times are UTC to the second (2026-01-01T00:00:00Z); values are signed as-is and URL-encoded in
 * the query.
 *
 * Example: a read of reports/q3.pdf in container signet of Azurite's public development account
 * devstoreaccount1 (its well-known key), expiring 2026-01-01T00:00:00Z, endpoint
 * https://devstoreaccount1.blob.core.windows.net, signs
 *
 *   "r\n\n2026-01-01T00:00:00Z\n/blob/devstoreaccount1/signet/reports/q3.pdf\n\n\nhttps\n
 *    2025-11-05\nb\n\n\n\n\n\n\n"
 *
 * giving …/signet/reports/q3.pdf?sv=2025-11-05&spr=https&se=2026-01-01T00%3A00%3A00Z&sr=b&sp=r
 * &sig=7HE68KhKg2ZSOol%2Fl%2BjB5IV2zCNGlyLlJujweStYgkI%3D
 *
 * What a SAS binds: the blob (sr=b) or the whole container (sr=c), never a folder; permissions
 * r (read; also serves HEAD and properties), w (write: Put Blob, any block, a block list,
 * properties, metadata), c (create a new blob only), a (append), d (delete), l (list, container
 * only); start and expiry; the protocol (spr=https, or https,http when the endpoint itself is
 * http); one IPv4 address or range (sip); a stored access policy (si, up to 5 per container,
 * deleting it revokes every SAS naming it, within 30 s on Azure; service SAS only); response
 * Content-Disposition and Content-Type on reads (rscd, rsct). It cannot bind a byte range, a
 * content length or type, a body checksum, an IPv6 address or several ranges, or a folder: those
 * need a Signet link.
 * A Put Blob through a SAS must send `x-ms-blob-type: BlockBlob` (BLOCK_BLOB_HEADERS).
 */
import { createHmac } from "node:crypto";
import type { UserDelegationKey } from "@azure/storage-blob";
import { parseCidr } from "../../core/cidr.js";
import { SignetError } from "../../core/errors.js";
import type { Method } from "../../core/methods.js";
import { encodeKeyPath, trimSlash } from "../../core/urls.js";

/** The service version every SAS here is signed for (the newest Azurite 3.35 accepts). */
export const SAS_VERSION = "2025-11-05";

/** Headers a client must send with a Put Blob through a SAS. */
export const BLOCK_BLOB_HEADERS: Readonly<Record<string, string>> = {
  "x-ms-blob-type": "BlockBlob",
};

/** Where the blobs are: one container of one storage account. */
export interface AzureLocation {
  accountName: string;
  container: string;
  /**
   * The blob service endpoint, for Azurite and sovereign clouds; path-style endpoints include the
   * account (http://127.0.0.1:10000/devstoreaccount1). Default https://{account}.blob.core.windows.net.
   */
  endpoint?: string;
}

/** What signs: the account key (service SAS) or a user delegation key (user delegation SAS). */
export type AzureSasKey = { accountKey: string } | { userDelegationKey: UserDelegationKey };

export interface BlobSasOptions {
  /** The blob's name; absent, the SAS covers the whole container (sr=c). */
  blob?: string;
  /** Permission letters from "racwd" (blob) or "racwdl" (container), in any order. */
  permissions?: string;
  startsOn?: Date;
  expiresOn?: Date;
  /** One IPv4 address or CIDR (a one-element list is accepted too). */
  ip?: string | readonly string[];
  /** A stored access policy id (si); the policy can then supply permissions and times. */
  policyId?: string;
  /** rscd and rsct: response headers Azure sends on reads through this SAS. */
  contentDisposition?: string;
  contentType?: string;
}

export interface SignedSas {
  /** The blob's (or container's) URL with the SAS query. */
  url: string;
  /** The SAS query alone, without "?". */
  query: string;
  /** The expiry as signed (whole seconds), when the SAS carries one. */
  expiresOn?: Date;
}

/** A string-to-sign field, by its query-parameter name; sst is the snapshot time. */
export type SasField =
  | "sp"
  | "st"
  | "se"
  | "canonicalizedResource"
  | "si"
  | "skoid"
  | "sktid"
  | "skt"
  | "ske"
  | "sks"
  | "skv"
  | "saoid"
  | "suoid"
  | "scid"
  | "skdutid"
  | "sduoid"
  | "sip"
  | "spr"
  | "sv"
  | "sr"
  | "sst"
  | "ses"
  | "rscc"
  | "rscd"
  | "rsce"
  | "rscl"
  | "rsct";

export type SasFields = Partial<Record<SasField, string>>;

export type SasKind = "service" | "delegation";

const FIRST_VERSION = "2015-04-05";
const FIRST_DELEGATION_VERSION = "2018-11-09";

/** The string-to-sign layout: groups of fields, each from a version on, some for one kind only. */
const LAYOUT: ReadonlyArray<readonly [since: string, only: SasKind | null, SasField[]]> = [
  [FIRST_VERSION, null, ["sp", "st", "se", "canonicalizedResource"]],
  [FIRST_VERSION, "service", ["si"]],
  [FIRST_DELEGATION_VERSION, "delegation", ["skoid", "sktid", "skt", "ske", "sks", "skv"]],
  ["2020-02-10", "delegation", ["saoid", "suoid", "scid"]],
  ["2025-07-05", "delegation", ["skdutid", "sduoid"]],
  [FIRST_VERSION, null, ["sip", "spr", "sv"]],
  ["2018-11-09", null, ["sr", "sst"]],
  ["2020-12-06", null, ["ses"]],
  [FIRST_VERSION, null, ["rscc", "rscd", "rsce", "rscl", "rsct"]],
];

/**
 * The string-to-sign of a blob service SAS for `version`. Versions after SAS_VERSION are refused:
 * their layout may differ (2026-04-06 adds signed request headers to delegation SAS).
 */
export function stringToSign(kind: SasKind, version: string, fields: SasFields): string {
  const first = kind === "service" ? FIRST_VERSION : FIRST_DELEGATION_VERSION;
  if (!/^\d{4}-\d\d-\d\d$/.test(version) || version < first || version > SAS_VERSION)
    throw new RangeError(`no ${kind} SAS layout for version ${version}`);
  return LAYOUT.filter(([since, only]) => version >= since && (only ?? kind) === kind)
    .flatMap(([, , names]) => names.map((name) => fields[name] ?? ""))
    .join("\n");
}

/** base64(HMAC-SHA256(key, utf8(stringToSign))), the key given in base64. */
export function sasSignature(keyBase64: string, toSign: string): string {
  const key = Buffer.from(keyBase64, "base64");
  // An empty key would still sign, and every URL would then fail at Azure.
  if (key.length === 0) throw new RangeError("the SAS signing key is empty or not base64");
  return createHmac("sha256", key).update(toSign, "utf8").digest("base64");
}

/** The order @azure/storage-blob writes a SAS query in, so URLs compare equal to its own. */
const QUERY_ORDER: readonly SasField[] = [
  "sv",
  "spr",
  "st",
  "se",
  "sip",
  "si",
  "skoid",
  "sktid",
  "skt",
  "ske",
  "sks",
  "skv",
  "sr",
  "sp",
  "rscd",
  "rsct",
  "skdutid",
];

const BLOB_PERMISSIONS = "racwd";
const CONTAINER_PERMISSIONS = "racwdl";

/** Signs a SAS for one blob, or for the location's container when `options.blob` is absent. */
export function signBlobSas(
  location: AzureLocation,
  key: AzureSasKey,
  options: BlobSasOptions,
): SignedSas {
  const endpoint = trimSlash(
    location.endpoint ?? `https://${location.accountName}.blob.core.windows.net`,
  );
  const { blob } = options;
  const resource = blob === undefined ? "c" : "b";
  const delegation = "userDelegationKey" in key;
  if (options.policyId !== undefined && delegation)
    throw new SignetError(
      "constraint_not_enforceable",
      "a user delegation SAS cannot name a stored access policy, so it cannot be revoked",
    );
  if (options.policyId === undefined && (!options.permissions || !options.expiresOn))
    throw new RangeError("a SAS without a stored access policy needs permissions and expiresOn");
  const sp = options.permissions
    ? canonicalPermissions(
        options.permissions,
        blob === undefined ? CONTAINER_PERMISSIONS : BLOB_PERMISSIONS,
      )
    : undefined;
  // Without sp the stored access policy grants the permissions, and Azure checks them itself.
  const overrides = (options.contentDisposition ?? options.contentType) !== undefined;
  if (overrides && sp !== undefined && !sp.includes("r"))
    throw new SignetError("invalid_request", "response overrides apply only to reads");

  const expiresOn = options.expiresOn && wholeSeconds(options.expiresOn);
  const fields: SasFields = {
    sp,
    st: options.startsOn && isoSeconds(options.startsOn),
    se: expiresOn && isoSeconds(expiresOn),
    canonicalizedResource: `/blob/${location.accountName}/${location.container}${blob === undefined ? "" : `/${blob}`}`,
    si: options.policyId,
    sip: options.ip === undefined ? undefined : sasIpRange(options.ip),
    spr: sasProtocol(endpoint),
    sv: SAS_VERSION,
    sr: resource,
    rscd: options.contentDisposition,
    rsct: options.contentType,
  };
  let signingKey: string;
  if (delegation) {
    const udk = key.userDelegationKey;
    Object.assign(fields, {
      skoid: udk.signedObjectId,
      sktid: udk.signedTenantId,
      skt: isoSeconds(udk.signedStartsOn),
      ske: isoSeconds(udk.signedExpiresOn),
      sks: udk.signedService,
      skv: udk.signedVersion,
      skdutid: udk.signedDelegatedUserTenantId,
    } satisfies SasFields);
    signingKey = udk.value;
  } else {
    signingKey = key.accountKey;
  }

  const sig = sasSignature(
    signingKey,
    stringToSign(delegation ? "delegation" : "service", SAS_VERSION, fields),
  );
  const query = [
    ...QUERY_ORDER.flatMap((name) => (fields[name] ? [[name, fields[name]] as const] : [])),
    ["sig", sig] as const,
  ]
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join("&");
  const path = `${encodeURIComponent(location.container)}${blob === undefined ? "" : `/${encodeKeyPath(blob)}`}`;
  const signed: SignedSas = { url: `${endpoint}/${path}?${query}`, query };
  if (expiresOn) signed.expiresOn = expiresOn;
  return signed;
}

/**
 * The SAS permissions for Signet methods: GET and HEAD read, PUT writes (a whole blob, or its
 * blocks and block list), DELETE deletes, LIST lists (container SAS only). A form POST has no SAS.
 */
export function sasPermissions(methods: readonly Method[], resource: "b" | "c"): string {
  const letters = methods.map((method) => {
    if (method === "POST")
      throw new SignetError("constraint_not_enforceable", "Azure Blob Storage has no form upload");
    if (method === "LIST" && resource === "b")
      throw new RangeError("LIST needs a container SAS (sr=c)");
    return { GET: "r", HEAD: "r", PUT: "w", DELETE: "d", LIST: "l" }[method];
  });
  return canonicalPermissions(
    [...new Set(letters)].join(""),
    resource === "c" ? CONTAINER_PERMISSIONS : BLOB_PERMISSIONS,
  );
}

/**
 * The sip value for a scope's `ip`: one IPv4 address or CIDR becomes "a.b.c.d" or
 * "a.b.c.d-e.f.g.h". IPv6 and several entries cannot be bound by a SAS: 400
 * constraint_not_enforceable (a link can enforce them).
 */
export function sasIpRange(ip: string | readonly string[]): string {
  const list = typeof ip === "string" ? [ip] : ip;
  if (list.length > 1)
    throw new SignetError(
      "constraint_not_enforceable",
      "an Azure SAS binds one IPv4 address or range, not several",
      "ip",
    );
  const [only] = list;
  if (only === undefined) throw new SignetError("invalid_request", "ip names no address", "ip");
  const { address, prefix, family } = parseCidr(only);
  if (family === "ipv6")
    throw new SignetError("constraint_not_enforceable", "an Azure SAS cannot bind IPv6", "ip");
  const size = 2 ** (32 - prefix);
  const start = Math.floor(ipv4ToNumber(address) / size) * size;
  const end = start + size - 1;
  return start === end ? numberToIpv4(start) : `${numberToIpv4(start)}-${numberToIpv4(end)}`;
}

/** spr: https only, unless the endpoint itself is http (Azurite, local tests). */
function sasProtocol(endpoint: string): string {
  const { protocol } = new URL(endpoint);
  if (protocol === "https:") return "https";
  if (protocol === "http:") return "https,http";
  throw new RangeError("the Azure endpoint must be an http or https URL");
}

/** Azure wants permissions in its own fixed order, each once. */
function canonicalPermissions(permissions: string, allowed: string): string {
  const chars = [...permissions];
  if (chars.some((c) => !allowed.includes(c)) || new Set(chars).size !== chars.length)
    throw new RangeError(`SAS permissions must be distinct letters from "${allowed}"`);
  return [...allowed].filter((c) => chars.includes(c)).join("");
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}
