/**
 * Grants: what a principal may do. A scope must lie inside one grant of its caller, never
 * wider; a grant's `require` is applied to the URL even when the caller did not ask, and
 * bounds on size or type are met by requiring exact values inside them, which get signed.
 *
 * Evaluation, per grant in order: principal, bucket (no grant reaching the bucket at all is
 * 404, the same as an unknown bucket), folder, actions, expiry, required constraints. The
 * first grant that allows everything wins; otherwise the refusal names the rule that failed
 * in the grant that came closest, and nothing about other principals' grants.
 */
import { rangesWithin } from "./cidr.js";
import { SignetError } from "./errors.js";
import { inFolder, keyProblem, toFolder } from "./keys.js";
import { type MediaPattern, parsePattern, patternWithin } from "./media-type.js";
import type { Principal } from "./principal.js";

export const ACTIONS = ["read", "write", "delete", "list", "share"] as const;
export type Action = (typeof ACTIONS)[number];

export interface GrantRequire {
  contentLengthMax?: number;
  contentTypes?: string[];
  /** normalised CIDR strings */
  ip?: string[];
}

export interface GrantSpec {
  principal: string;
  buckets: string[];
  prefix?: string;
  actions: Action[];
  maxExpiresIn?: number;
  /** URLs issued under this grant per principal, per minute and per day (service/quotas.ts) */
  quota?: { perMinute?: number; perDay?: number };
  require?: GrantRequire;
}

export interface Grant extends GrantSpec {
  id: string;
}

/** What a presign asks for, as far as grants are concerned. */
export interface AccessRequest {
  bucket: string;
  actions: Action[];
  /** one key, or a folder (after the folder rule) */
  key?: string;
  folder?: string;
  expiresIn?: number;
  contentType?: string;
  contentLength?: number;
  contentLengthRange?: [number, number];
  ip?: string[];
}

/** The request as the grant lets it through: expiry and constraints filled in. */
export interface Allowed {
  grantId: string;
  maxExpiresIn: number | undefined;
  /** the caller's ip ranges, or the grant's when the caller gave none */
  ip?: string[];
}

const SUB = "${sub}";
const PRINCIPAL = /^(role|key|sub):(.+)$/;
// A subject that could escape or widen its folder: path syntax, controls, wildcard-like.
// eslint-disable-next-line no-control-regex
const UNSAFE_SUBJECT = /[/\\*?[\]{}$%\u0000-\u001f\u007f]/;

const safeSubjects = new Map<string, boolean>();

/** Whether a subject may stand for ${sub} in a folder; remembered, as the same callers recur. */
export function isSafeSubject(subject: string): boolean {
  let safe = safeSubjects.get(subject);
  if (safe === undefined) {
    safe =
      subject !== "" &&
      subject !== "." &&
      subject !== ".." &&
      !UNSAFE_SUBJECT.test(subject) &&
      keyProblem(subject) === undefined;
    if (safeSubjects.size >= 10_000) safeSubjects.clear();
    safeSubjects.set(subject, safe);
  }
  return safe;
}

/** Checks the parts of a grant a schema cannot; the error's field is under `path`. */
export function checkGrant(spec: GrantSpec, path: string): void {
  const bad = (field: string, why: string) =>
    new SignetError("invalid_request", `${path}.${field} ${why}`, `${path}.${field}`);
  if (!PRINCIPAL.test(spec.principal))
    throw bad("principal", "must be role:NAME, key:ID or sub:SUBJECT");
  if (spec.prefix !== undefined) {
    const rest = spec.prefix.split(SUB).join("");
    if (rest.includes("$") || rest.includes("{") || rest.includes("}"))
      throw bad("prefix", "has a placeholder other than ${sub}");
    try {
      toFolder(spec.prefix.split(SUB).join("x"));
    } catch (err) {
      throw bad("prefix", `is not a valid folder: ${(err as Error).message}`);
    }
  }
  for (const type of spec.require?.contentTypes ?? [])
    if (parsePattern(type) === undefined)
      throw bad("require.contentTypes", `has an invalid media type pattern '${type}'`);
}

/**
 * Matched on the parsed type and parameters (a parameter the grant's pattern does not name is
 * refused). A form upload's contentType may itself be a pattern: it must lie inside one.
 */
function typeMatches(patterns: MediaPattern[], contentType: string): boolean {
  const asked = parsePattern(contentType);
  return asked !== undefined && patterns.some((pattern) => patternWithin(asked, pattern));
}

/** How far a grant got before it refused, and why: the furthest refusal is the one reported. */
interface Refusal {
  step: number;
  rule: string;
}

/** A grant prepared once, when the set is built, so that evaluating it does no parsing. */
interface Compiled {
  grant: Grant;
  order: number;
  /** the folder, when the prefix has no ${sub} */
  folder?: string;
  /** the prefix split around ${sub}, when it has one */
  template?: string[];
  types?: MediaPattern[];
}

function compile(grant: Grant, order: number): Compiled {
  const compiled: Compiled = { grant, order };
  if (grant.prefix === undefined) compiled.folder = "";
  else if (!grant.prefix.includes(SUB)) compiled.folder = toFolder(grant.prefix);
  else compiled.template = grant.prefix.split(SUB);
  if (grant.require?.contentTypes !== undefined)
    compiled.types = grant.require.contentTypes.map((type) => parsePattern(type)!);
  return compiled;
}

/** The template with the subject in place; the template was checked as a folder with a stand-in. */
function folderFor(compiled: Compiled, subject: string): string {
  if (compiled.folder !== undefined) return compiled.folder;
  const prefix = compiled.template!.join(subject);
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

export class GrantSet {
  /** grants by the principal they name ("role:x", "key:y", "sub:z"), in their given order */
  private readonly byPrincipal = new Map<string, Compiled[]>();

  constructor(grants: readonly Grant[]) {
    grants.forEach((grant, order) => {
      const list = this.byPrincipal.get(grant.principal) ?? [];
      list.push(compile(grant, order));
      this.byPrincipal.set(grant.principal, list);
    });
  }

  private candidates(principal: Principal): Compiled[] {
    let found = this.byPrincipal.get(principal.id) ?? [];
    for (const role of principal.roles) {
      const more = this.byPrincipal.get(`role:${role}`);
      if (more !== undefined)
        found = found.length === 0 ? more : [...found, ...more].sort((a, b) => a.order - b.order);
    }
    return found;
  }

  /** Whether any grant of the caller names the bucket (else, for the caller, it does not exist). */
  names(principal: Principal, bucket: string): boolean {
    return this.candidates(principal).some(
      ({ grant }) => grant.buckets.includes("*") || grant.buckets.includes(bucket),
    );
  }

  /** The grant-shaped decision: Allowed, or a SignetError (404 or 403). */
  authorize(principal: Principal, request: AccessRequest): Allowed {
    let best: Refusal | undefined;
    for (const compiled of this.candidates(principal)) {
      const { buckets } = compiled.grant;
      if (!(buckets.includes("*") || buckets.includes(request.bucket))) continue;
      const result = evaluate(compiled, principal, request);
      if (!("step" in result)) return result;
      if (best === undefined || result.step > best.step) best = result;
    }
    if (best === undefined) throw new SignetError("not_found", "bucket not found");
    throw new SignetError("forbidden", best.rule);
  }
}

function evaluate(
  compiled: Compiled,
  principal: Principal,
  request: AccessRequest,
): Allowed | Refusal {
  const { grant } = compiled;
  // ${sub} is the principal's namespaced id (key:…, sub:…), never its bare subject: a JWT
  // whose sub equals an API key's id must not reach that key's folder.
  if (compiled.template !== undefined && !isSafeSubject(principal.id))
    return {
      step: 1,
      rule: "the caller's subject cannot be used in a folder (it has path or wildcard characters)",
    };
  const folder = folderFor(compiled, principal.id);
  const target = request.key ?? request.folder ?? "";
  const inside =
    request.key !== undefined
      ? folder === "" || inFolder(folder, request.key)
      : target.startsWith(folder);
  if (!inside)
    return { step: 2, rule: `no grant allows ${request.actions.join(", ")} on '${target}'` };
  for (const action of request.actions)
    if (!grant.actions.includes(action))
      return { step: 3, rule: `no grant allows ${action} on '${target}'` };
  if (
    grant.maxExpiresIn !== undefined &&
    request.expiresIn !== undefined &&
    request.expiresIn > grant.maxExpiresIn
  )
    return {
      step: 4,
      rule: `expiresIn ${request.expiresIn} is above the grant's maximum of ${grant.maxExpiresIn} seconds`,
    };

  const allowed: Allowed = { grantId: grant.id, maxExpiresIn: grant.maxExpiresIn };
  const require = grant.require ?? {};
  const writes = request.actions.includes("write");
  if (writes && require.contentLengthMax !== undefined) {
    const max = request.contentLength ?? request.contentLengthRange?.[1];
    if (max === undefined)
      return {
        step: 5,
        rule: `the grant requires contentLength or contentLengthRange (at most ${require.contentLengthMax} bytes)`,
      };
    if (max > require.contentLengthMax)
      return {
        step: 6,
        rule: `contentLength ${max} is above the grant's maximum of ${require.contentLengthMax} bytes`,
      };
  }
  if (writes && require.contentTypes !== undefined) {
    if (request.contentType === undefined)
      return {
        step: 5,
        rule: `the grant requires contentType (one of ${require.contentTypes.join(", ")})`,
      };
    if (!typeMatches(compiled.types!, request.contentType))
      return {
        step: 6,
        rule: `contentType '${request.contentType}' is not one of ${require.contentTypes.join(", ")}`,
      };
  }
  if (require.ip !== undefined) {
    if (request.ip === undefined) allowed.ip = require.ip;
    else if (!rangesWithin(request.ip, require.ip))
      return { step: 6, rule: "ip is wider than the grant's ip ranges" };
    else allowed.ip = request.ip;
  } else if (request.ip !== undefined) {
    allowed.ip = request.ip;
  }
  return allowed;
}
