/**
 * Parses a data-plane URL from the raw request line, not from the router's decoded copy:
 * only the raw form shows an encoded slash (%2F) or a malformed escape. Each segment is
 * decoded on its own, so a decoded key can never gain or lose a segment.
 */
import { SignetError } from "../core/errors.js";

export interface ObjectTarget {
  bucket: string;
  /** the decoded key; for a path ending in "/" the folder, with its trailing slash */
  key: string;
  query: URLSearchParams;
}

const bad = (why: string) => new SignetError("invalid_key", why, "path");

function decodeSegment(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw bad("the path is not valid percent-encoded UTF-8");
  }
  if (decoded.includes("/")) throw bad("the path has an encoded slash (%2F) in a segment");
  return decoded;
}

/** A raw (percent-encoded) path of segments → the key it names, each segment decoded alone. */
export function decodeKeyPath(raw: string): string {
  return raw.split("/").map(decodeSegment).join("/");
}

/** `rawUrl` is request.raw.url; `mount` is the route prefix such as "/o/". */
export function parseObjectPath(rawUrl: string, mount: string): ObjectTarget {
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1));
  if (!path.startsWith(mount)) throw bad("not a data-plane path");
  const rest = path.slice(mount.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) throw bad("the path names no bucket and key");
  const bucket = decodeSegment(rest.slice(0, slash));
  return { bucket, key: decodeKeyPath(rest.slice(slash + 1)), query };
}

/** The single value of a query parameter; a repeated one is refused, never guessed at. */
export function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1)
    throw new SignetError("invalid_request", `the query parameter ${name} is repeated`, name);
  return values[0];
}
