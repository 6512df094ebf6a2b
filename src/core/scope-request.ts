/**
 * What a caller asks to sign, checked for syntax and contradictions and brought into one
 * shape: a key or a folder, methods, a time window and constraints. Every refusal here is
 * 400 `invalid_request` (or `invalid_key`) naming the field.
 */
import { parseIpList } from "./cidr.js";
import { type ScopeConstraints } from "./constraints.js";
import { SignetError } from "./errors.js";
import type { Action } from "./grants.js";
import { assertCallerKey, isStaging, STAGING_FOLDER, toFolder } from "./keys.js";
import { parseMediaType, parsePattern } from "./media-type.js";
import type { Method } from "./methods.js";
import type { Delivery, PresignInput } from "../api/types.js";

export type { Delivery };

/**
 * The wire shape of /v1/presign (and of each batch request) after schema validation: the API's
 * `PresignInput` (src/api/types.ts, the one definition the SDKs share) less `short`, which is
 * the form of the answer, not part of the scope (issuance handles it).
 */
export type ScopeInput = Omit<PresignInput, "short">;

export interface ScopeRequest {
  bucket: string;
  key?: string;
  folder?: string;
  methods: Method[];
  expiresIn?: number;
  notBefore?: Date;
  constraints: ScopeConstraints;
  form?: { successActionStatus?: 200 | 201 | 204; successActionRedirect?: string };
  delivery: Delivery;
  revocable: boolean;
}

export const ACTION_OF: Record<Method, Action> = {
  GET: "read",
  HEAD: "read",
  LIST: "list",
  PUT: "write",
  POST: "write",
  DELETE: "delete",
};

export const actionsOf = (methods: Method[]): Action[] =>
  methods.length === 1 ? [ACTION_OF[methods[0]!]] : [...new Set(methods.map((m) => ACTION_OF[m]))];

const bad = (field: string, why: string) =>
  new SignetError("invalid_request", `${field} ${why}`, field);

const RANGE = /^bytes=(\d{1,15})-(\d{1,15})$/;
const SHA256_B64 = /^[A-Za-z0-9+/]{43}=$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const HEADER_VALUE = /^[\x20-\x7e]*$/;
// Headers a scope sets through its own fields, or that no client controls.
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "range",
  "authorization",
  "connection",
  "transfer-encoding",
  "cookie",
]);

/** `bytes=a-b` → {start, end}; only a closed range can be bound into a URL. */
export function parseBoundRange(text: string, field = "range"): { start: number; end: number } {
  const match = RANGE.exec(text);
  if (match === null) throw bad(field, "must be bytes=START-END");
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) throw bad(field, "ends before it starts");
  return { start, end };
}

export function normalizeScope(input: ScopeInput, now: Date): ScopeRequest {
  // One target, one method list.
  if ((input.key === undefined) === (input.prefix === undefined))
    throw bad(input.key === undefined ? "key" : "prefix", "and prefix: give exactly one");
  if ((input.method === undefined) === (input.methods === undefined))
    throw bad(input.method === undefined ? "method" : "methods", "and methods: give exactly one");
  const methods = input.methods ?? [input.method!];
  if (methods.length === 0) throw bad("methods", "is empty");
  if (methods.length > 1 && new Set(methods).size !== methods.length)
    throw bad("methods", "repeats a method");
  const form = methods.includes("POST");
  if (form && methods.length > 1)
    throw bad("methods", "cannot combine POST (a browser form upload) with other methods");
  if (methods.includes("LIST") && input.prefix === undefined)
    throw bad("methods", "LIST needs a prefix");
  const target: Pick<ScopeRequest, "key" | "folder"> =
    input.key !== undefined
      ? { key: assertCallerKey(input.key) }
      : { folder: toFolder(input.prefix!) };
  if (target.folder !== undefined && target.folder !== "" && isStaging(target.folder))
    throw new SignetError("invalid_key", `keys under ${STAGING_FOLDER} are Signet's own`, "prefix");

  const reads = methods.every((m) => m === "GET" || m === "HEAD");
  const uploads = methods.some((m) => m === "PUT" || m === "POST");
  const onlyFor = (field: keyof ScopeInput, allowed: boolean, what: string) => {
    if (input[field] !== undefined && !allowed) throw bad(field, `applies only to ${what}`);
  };
  onlyFor("range", reads && target.key !== undefined, "GET or HEAD of one key");
  onlyFor("responseContentDisposition", reads, "GET or HEAD");
  onlyFor("responseContentType", reads, "GET or HEAD");
  for (const field of [
    "contentType",
    "contentLength",
    "contentLengthRange",
    "checksumSha256",
  ] as const)
    onlyFor(field, uploads, "uploads (PUT or POST)");
  onlyFor("checksumSha256", target.key !== undefined, "one key");
  onlyFor("contentLength", !form, "PUT (a form upload takes contentLengthRange)");
  onlyFor("successActionStatus", form, "POST");
  onlyFor("successActionRedirect", form, "POST");

  const constraints: ScopeConstraints = {};
  if (input.contentType !== undefined) {
    // A form upload may name a pattern (the browser picks the file's type); a PUT signs one type.
    if ((form ? parsePattern : parseMediaType)(input.contentType) === undefined)
      throw bad(
        "contentType",
        form
          ? "must be a media type or a pattern like image/* (RFC 9110)"
          : "must be a media type (RFC 9110)",
      );
    constraints.contentType = input.contentType;
  }
  if (input.contentLength !== undefined) constraints.contentLength = input.contentLength;
  if (input.contentLengthRange !== undefined) {
    const [min, max] = input.contentLengthRange;
    if (min > max) throw bad("contentLengthRange", "has its minimum above its maximum");
    if (input.contentLength !== undefined)
      throw bad("contentLengthRange", "contradicts contentLength: give one");
    constraints.contentLengthRange = [min, max];
  }
  if (input.checksumSha256 !== undefined) {
    if (!SHA256_B64.test(input.checksumSha256))
      throw bad("checksumSha256", "must be the base64 of 32 bytes");
    constraints.checksumSha256 = input.checksumSha256;
  }
  if (input.range !== undefined) constraints.range = parseBoundRange(input.range);
  if (input.headers !== undefined) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(input.headers)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(lower)) throw bad("headers", `has an invalid header name '${name}'`);
      if (RESERVED_HEADERS.has(lower))
        throw bad("headers", `cannot require ${lower} (use the scope's own field, or none)`);
      if (!HEADER_VALUE.test(value)) throw bad("headers", `has an invalid value for ${lower}`);
      // Header names are case-insensitive: two spellings of one name would bind only the last.
      if (Object.hasOwn(headers, lower)) throw bad("headers", `names ${lower} twice`);
      headers[lower] = value;
    }
    if (Object.keys(headers).length > 0) constraints.headers = headers;
  }
  if (input.responseContentDisposition !== undefined) {
    if (!HEADER_VALUE.test(input.responseContentDisposition))
      throw bad("responseContentDisposition", "must be printable ASCII");
    constraints.responseContentDisposition = input.responseContentDisposition;
  }
  if (input.responseContentType !== undefined) {
    if (parseMediaType(input.responseContentType) === undefined)
      throw bad("responseContentType", "must be a media type (RFC 9110)");
    constraints.responseContentType = input.responseContentType;
  }
  if (input.ip !== undefined) constraints.ip = parseIpList(input.ip);
  if (input.referrers !== undefined) constraints.referrers = input.referrers.map(toOrigin);

  let notBefore: Date | undefined;
  if (input.notBefore !== undefined) {
    notBefore = new Date(input.notBefore);
    if (Number.isNaN(notBefore.getTime())) throw bad("notBefore", "is not an ISO 8601 time");
    const horizon = now.getTime() + (input.expiresIn ?? 0) * 1000;
    if (input.expiresIn !== undefined && notBefore.getTime() >= horizon)
      throw bad("notBefore", "is not before the expiry");
  }
  if (
    input.successActionRedirect !== undefined &&
    !/^https?:\/\/[^\s]+$/.test(input.successActionRedirect)
  )
    throw bad("successActionRedirect", "must be an http(s) URL");

  const request: ScopeRequest = {
    bucket: input.bucket,
    ...target,
    methods,
    constraints,
    delivery: input.delivery ?? "auto",
    revocable: input.revocable ?? false,
  };
  if (input.expiresIn !== undefined) request.expiresIn = input.expiresIn;
  if (notBefore !== undefined) request.notBefore = notBefore;
  if (form)
    request.form = {
      successActionStatus: input.successActionStatus,
      successActionRedirect: input.successActionRedirect,
    };
  return request;
}

/** An allowed referrer: an http(s) origin and nothing more (no path, query or credentials). */
function toOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad("referrers", `${JSON.stringify(value)} is not a URL`);
  }
  const bare = url.pathname === "/" && url.search === "" && url.hash === "";
  if ((url.protocol !== "https:" && url.protocol !== "http:") || !bare || url.username !== "")
    throw bad("referrers", "each entry is an origin such as https://app.example");
  return url.origin;
}
