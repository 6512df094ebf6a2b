/**
 * What request logs may hold: method, path and status. Never the query (it carries tokens
 * and signatures), never a link's token or a short URL's id (in the path of /l/…, /s/… and
 * /u/…), and never a
 * header (Authorization carries credentials).
 *
 * The path is redacted whatever form the request target takes (RFC 9112 §3.2): origin-form
 * with repeated slashes (`//l/…`) or dot segments, percent-encoded route names (`/%6c/…`),
 * absolute-form (`http://host/l/…`), asterisk-form. A segment after one that reads `l`, `s` or `u`
 * (decoded, any case), and any segment shaped like a token (`payload.mac`, decoded once or
 * twice), is replaced by "…".
 */
interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;
// base64url payload "." base64url MAC, as in every Signet token (and JWT-like strings).
const TOKEN_SHAPE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
// Links' tokens and short URLs' ids are bearer secrets in the path.
const LINK_ROUTES = new Set(["l", "s", "u"]);

function decoded(segment: string): string {
  let text = segment;
  // Twice: a double-encoded segment must not hide a token either.
  for (let i = 0; i < 2 && text.includes("%"); i++) {
    try {
      text = decodeURIComponent(text);
    } catch {
      break;
    }
  }
  return text;
}

/** The path without its query or fragment, links' tokens and token-shaped segments as "…". */
export function loggablePath(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const path = url.split(/[?#]/, 1)[0]!.replace(ABSOLUTE_FORM, "");
  let afterLinkRoute = false;
  return path
    .split("/")
    .map((segment) => {
      if (segment === "" || segment === ".") return segment;
      const text = decoded(segment);
      const redact = afterLinkRoute || TOKEN_SHAPE.test(text);
      afterLinkRoute = LINK_ROUTES.has(text.toLowerCase());
      return redact ? "…" : segment;
    })
    .join("/");
}

export const logSerializers = {
  req: (req: LoggedRequest) => ({ method: req.method, path: loggablePath(req.url), ip: req.ip }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};
