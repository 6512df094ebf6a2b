/**
 * How the CLI words an API refusal: the API names its fields (`upsert: true`, `expiresIn`), a
 * CLI user types flags (`--upsert`, `--expires`). Each field the API can name maps to the flags
 * that set it; the flag the running command really has replaces the field in the message.
 */
import type { Command } from "commander";

/** API field → the CLI flags that set it (the first the command has is named). */
export const FLAGS: Readonly<Record<string, readonly string[]>> = {
  upsert: ["--upsert"],
  expiresIn: ["--expires"],
  maxExpiresIn: ["--max-expires"],
  successActionStatus: ["--success-action-status"],
  successActionRedirect: ["--success-action-redirect"],
  perMinute: ["--quota-per-minute"],
  perDay: ["--quota-per-day"],
  contentLengthMax: ["--max-size"],
  contentTypes: ["--content-type"],
  notBefore: ["--not-before"],
  contentType: ["--content-type", "--type"],
  contentLength: ["--content-length"],
  contentLengthRange: ["--content-length-range"],
  checksumSha256: ["--sha256"],
  sha256: ["--sha256"],
  range: ["--range"],
  headers: ["--header"],
  ip: ["--ip"],
  responseContentDisposition: ["--response-content-disposition"],
  responseContentType: ["--response-content-type"],
  delivery: ["--delivery"],
  referrers: ["--referrers"],
  revocable: ["--revocable"],
  short: ["--short"],
  method: ["--method"],
  methods: ["--methods"],
  multipart: ["--part-size"],
  partSize: ["--part-size"],
  principal: ["--principal"],
  buckets: ["--buckets"],
  actions: ["--actions"],
  mode: ["--mode"],
  limit: ["--limit"],
};

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `message` with each API field `command` has a flag for written as that flag: `upsert: true`
 * → `--upsert`, `expiresIn` → `--expires`; and ` (--flag)` after it when `field` names one the
 * message does not mention.
 */
export function inFlags(message: string, field: string | undefined, command: Command): string {
  const has = new Set(command.options.map((o) => o.long));
  const flagOf = (name: string) => FLAGS[name]?.find((f) => has.has(f));
  let text = message;
  for (const name of Object.keys(FLAGS)) {
    const flag = flagOf(name);
    if (flag === undefined) continue;
    // `name: true` always; a bare name only when camelCase (plain words like "range" stay).
    text = text.replace(new RegExp(`\`?\\b${escape(name)}: true\\b\`?`, "g"), flag);
    // A field's whole path goes: `grant.require.contentTypes.0` → `--content-type`.
    if (/[A-Z]/.test(name))
      text = text.replace(new RegExp(`\\b(?:\\w+\\.)*${escape(name)}(?:\\.\\d+)*\\b`, "g"), flag);
  }
  const flag = field === undefined ? undefined : flagOf(field);
  return flag === undefined || text.includes(flag) ? text : `${text} (${flag})`;
}
