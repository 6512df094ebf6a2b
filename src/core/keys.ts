/**
 * Object keys and folders: the one place that says what a key may be and how a prefix
 * becomes a folder (DESIGN.md, "Rules that hold everywhere").
 */
import { SignetError } from "./errors.js";

export const MAX_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A segment that is empty, "." or "..": between two slashes or at either end of the key.
const BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** Why `key` is not a valid object key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return "key is empty";
  if (!key.isWellFormed()) return "key is not valid UTF-8 (lone surrogate)";
  // A UTF-16 code unit is at most 3 bytes of UTF-8: short keys need no count.
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES)
    return `key is longer than ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(key)) return "key contains a control character";
  if (key.startsWith("/")) return "key starts with /";
  if (key.endsWith("/")) return "key ends with /";
  // Keys are checked for every URL signed: one scan finds a bad segment, the loop words it.
  if (BAD_SEGMENT.test(key))
    for (const segment of key.split("/")) {
      if (segment === "") return "key has an empty segment";
      if (segment === "." || segment === "..") return `key has a '${segment}' segment`;
    }
  return undefined;
}

/**
 * Where upload intents stage their bytes until complete (Signet's own keys): no caller may
 * name a key or folder under it, and a folder URL never reaches it.
 */
export const STAGING_FOLDER = ".signet-staging/";

/** The staging key of one upload intent (file ids are opaque and unguessable). */
export const stagingKey = (fileId: string) => `${STAGING_FOLDER}${fileId}`;

/** Whether `key` (or folder) is Signet's own staging space, or lies in it. */
export const isStaging = (key: string) =>
  key.startsWith(STAGING_FOLDER) || `${key}/` === STAGING_FOLDER;

/** A key a caller names: valid, and not one of Signet's own staging keys. */
export function assertCallerKey(key: string, field = "key"): string {
  assertValidKey(key, field);
  if (isStaging(key))
    throw new SignetError("invalid_key", `keys under ${STAGING_FOLDER} are Signet's own`, field);
  return key;
}

export function assertValidKey(key: string, field = "key"): string {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new SignetError("invalid_key", problem, field);
  return key;
}

/**
 * The folder rule: `p` becomes `p/`; the empty prefix stays empty (the whole bucket).
 * A trailing slash given by the caller is accepted, so `p` and `p/` are the same folder.
 * The part before the slash must itself be a valid key.
 */
export function toFolder(prefix: string, field = "prefix"): string {
  if (prefix === "") return "";
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const problem = keyProblem(bare);
  if (problem !== undefined)
    throw new SignetError("invalid_key", problem.replace(/^key/, "prefix"), field);
  return `${bare}/`;
}

/** Whether `key` lies under `folder` (a value returned by toFolder). */
export function inFolder(folder: string, key: string): boolean {
  return key.startsWith(folder) && key.length > folder.length;
}
