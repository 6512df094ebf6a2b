/**
 * Served bytes must never run as the service's own page: every data-plane answer is
 * nosniff and sandboxed, and active types (HTML, SVG, XML, JS) default to attachment.
 */

export const SAFETY_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "sandbox",
} as const;

const ACTIVE =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z]+\/[a-z0-9.+-]*\+xml|text\/javascript|application\/(x-)?javascript|application\/ecmascript|text\/ecmascript)$/;

export function isActiveType(contentType: string): boolean {
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  return ACTIVE.test(essence);
}

// Names that neither form changes (no escape in the quoted fallback, none by encodeURIComponent).
const PLAIN_NAME = /^[\w.~-]*$/;

/** RFC 6266 Content-Disposition with an ASCII fallback and the exact name in filename*. */
export function contentDisposition(kind: "inline" | "attachment", key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  // Most names need no escaping: both forms are the name itself.
  if (PLAIN_NAME.test(name)) return `${kind}; filename="${name}"; filename*=UTF-8''${name}`;
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${exact}`;
}

export function defaultDisposition(contentType: string, key: string): string {
  return contentDisposition(isActiveType(contentType) ? "attachment" : "inline", key);
}
