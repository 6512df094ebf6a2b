/**
 * Media types, parsed strictly (RFC 9110 §8.3.1 and §5.6):
 *
 *   media-type = type "/" subtype parameters
 *   parameters = *( OWS ";" OWS [ parameter ] )
 *   parameter  = name "=" ( token / quoted-string )       ; names are case-insensitive
 *
 * e.g. `text/plain; charset="utf-8"` → { type: "text", subtype: "plain", parameters:
 * [["charset", "utf-8"]] }. Every media type Signet accepts (presign, upload headers, form
 * fields) or writes back (Content-Type of served objects) goes through here, so that nothing
 * that a browser could read as a second type (`image/png;x=,text/html`), and no CR/LF or other
 * control character, is ever stored or echoed. Stricter than the RFC in three ways, on purpose:
 * only printable ASCII (no obs-text), no repeated parameter name, and at most 255 characters.
 *
 * A pattern (grants' `require.contentTypes`, a form upload's `contentType`) is `type/subtype`,
 * `type/*` or `*\/*`, optionally with parameters; a media type matches it when the type and
 * subtype match and every parameter it carries is one the pattern names, with the same value
 * (or any value where the pattern's value is `*`). Parameters the pattern does not allow are
 * refused, so `image/*` admits `image/png` but not `image/png; x=y`.
 */

/** The longest media type accepted, in characters. */
export const MAX_MEDIA_TYPE_LENGTH = 255;

export interface MediaType {
  /** lower case */
  type: string;
  /** lower case */
  subtype: string;
  /** `type/subtype`, lower case */
  essence: string;
  /** [name (lower case), value (unquoted)] in the given order */
  parameters: [string, string][];
}

export interface MediaPattern {
  /** lower case, or "*" */
  type: string;
  /** lower case, or "*" */
  subtype: string;
  /** allowed parameters: name (lower case) → value ("*" for any); values of charset compare case-insensitively */
  parameters: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const PRINTABLE = /^[\t\x20-\x7e]*$/;

/** A parsed media type, or undefined when `text` is not one (or is longer than allowed). */
export function parseMediaType(text: string): MediaType | undefined {
  const parsed = parse(text);
  if (parsed === undefined || parsed.type === "*" || parsed.subtype === "*") return undefined;
  return {
    type: parsed.type,
    subtype: parsed.subtype,
    essence: `${parsed.type}/${parsed.subtype}`,
    parameters: parsed.parameters,
  };
}

/** A parsed pattern (`image/*`, `*\/*`, `text/plain; charset=utf-8`), or undefined. */
export function parsePattern(text: string): MediaPattern | undefined {
  const parsed = parse(text);
  if (parsed === undefined || (parsed.type === "*" && parsed.subtype !== "*")) return undefined;
  return {
    type: parsed.type,
    subtype: parsed.subtype,
    parameters: new Map(parsed.parameters),
  };
}

/** Whether `type` lies inside `pattern`: type, subtype, and only parameters the pattern allows. */
export function matchesPattern(pattern: MediaPattern, type: MediaType): boolean {
  if (pattern.type !== "*" && pattern.type !== type.type) return false;
  if (pattern.subtype !== "*" && pattern.subtype !== type.subtype) return false;
  return type.parameters.every(([name, value]) => {
    const allowed = pattern.parameters.get(name);
    if (allowed === undefined) return false;
    if (allowed === "*") return true;
    return name === "charset" ? allowed.toLowerCase() === value.toLowerCase() : allowed === value;
  });
}

/**
 * Whether every media type `inner` admits is one `outer` admits too (a form upload's pattern
 * inside a grant's): a concrete type is the pattern that admits only itself.
 */
export function patternWithin(inner: MediaPattern, outer: MediaPattern): boolean {
  if (outer.type !== "*" && outer.type !== inner.type) return false;
  if (outer.subtype !== "*" && outer.subtype !== inner.subtype) return false;
  for (const [name, value] of inner.parameters) {
    const allowed = outer.parameters.get(name);
    if (allowed === undefined) return false;
    if (allowed === "*") continue;
    if (value === "*") return false;
    if (name === "charset" ? allowed.toLowerCase() !== value.toLowerCase() : allowed !== value)
      return false;
  }
  return true;
}

/** Both parsed; false when either does not parse. */
export function mediaTypeMatches(pattern: string, contentType: string): boolean {
  const p = parsePattern(pattern);
  const t = parseMediaType(contentType);
  return p !== undefined && t !== undefined && matchesPattern(p, t);
}

/** The essence (`type/subtype`, lower case) of a valid media type, else undefined. */
export function essenceOf(text: string): string | undefined {
  return parseMediaType(text)?.essence;
}

/** `text` when it is a valid media type (safe to send back as a header), else `fallback`. */
export function safeMediaType(text: string, fallback = "application/octet-stream"): string {
  return parseMediaType(text) === undefined ? fallback : text;
}

interface Parsed {
  type: string;
  subtype: string;
  parameters: [string, string][];
}

const isOws = (c: string | undefined) => c === " " || c === "\t";

function parse(text: string): Parsed | undefined {
  if (text.length > MAX_MEDIA_TYPE_LENGTH || !PRINTABLE.test(text)) return undefined;
  const semi = text.indexOf(";");
  const head = semi === -1 ? text : text.slice(0, semi);
  // No whitespace inside or before the essence; OWS only before ";" (RFC 9110 §8.3.1).
  const essence = head.replace(/[ \t]+$/, "");
  const slash = essence.indexOf("/");
  if (slash === -1) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const parameters: [string, string][] = [];
  let i = semi === -1 ? text.length : semi;
  while (i < text.length) {
    // at a ";"
    i++;
    while (isOws(text[i])) i++;
    if (i >= text.length || text[i] === ";") continue;
    let nameEnd = i;
    while (nameEnd < text.length && TOKEN_CHAR.test(text[nameEnd]!)) nameEnd++;
    if (nameEnd === i || text[nameEnd] !== "=") return undefined;
    const name = text.slice(i, nameEnd).toLowerCase();
    i = nameEnd + 1;
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const escaped = text[i];
          if (escaped === undefined) return undefined;
          value += escaped;
          i++;
        } else value += c;
      }
    } else {
      const start = i;
      while (i < text.length && TOKEN_CHAR.test(text[i]!)) i++;
      if (i === start) return undefined;
      value = text.slice(start, i);
    }
    while (isOws(text[i])) i++;
    if (i < text.length && text[i] !== ";") return undefined;
    if (parameters.some(([n]) => n === name)) return undefined;
    parameters.push([name, value]);
  }
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), parameters };
}
