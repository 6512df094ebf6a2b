/**
 * The CLI's client commands, loaded by main.ts only when one runs. Each is a thin layer over
 * the SDK: parse the target, call, print (see output.ts).
 */
import { loggablePath } from "../http/log.js";
import { readFile } from "node:fs/promises";
import { text as streamText } from "node:stream/consumers";
import { basename } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type {
  Action,
  AuditQuery,
  AuditRecord,
  BatchResult,
  BucketConfig,
  FileStatus,
  Method,
  Page,
  PresignInput,
  RevokeTarget,
  SignedRequest,
} from "../api/types.js";
import { type DownloadResult, SignetClient } from "../client/index.js";
import { fileNameOfUrl, folderTarget, integer, partList, target } from "./args.js";
import { type OutputOptions, printObject, printRows, say } from "./output.js";
import { progressBar } from "./progress.js";
import { withYoungGc } from "./young-gc.js";

interface Globals extends OutputOptions {
  server?: string;
  key?: string;
}

const globals = (command: Command) => command.optsWithGlobals<Globals>();

function client(command: Command): SignetClient {
  const options = globals(command);
  const server = options.server ?? process.env.SIGNET_URL ?? "http://127.0.0.1:8080";
  const key = options.key ?? process.env.SIGNET_KEY;
  return new SignetClient({ server, key });
}

/** POSIX shell single quotes. */
const quote = (text: string) =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command that sends `signed` as it must be sent: its method, every header in `headers`,
 * form fields for POST, and the body from `file` (`-` is stdin) for PUT and POST.
 */
export function curlOf(signed: SignedRequest, file = "-"): string {
  const args = ["curl", "-fsS"];
  switch (signed.method) {
    case "HEAD":
      args.push("-I");
      break;
    case "PUT":
      args.push("-T", file);
      break;
    case "DELETE":
      args.push("-X", "DELETE");
      break;
    default:
      break;
  }
  for (const [name, value] of Object.entries(signed.headers)) args.push("-H", `${name}: ${value}`);
  if (signed.method === "POST") {
    for (const [name, value] of Object.entries(signed.fields ?? {}))
      args.push("-F", `${name}=${value.replace(/[;,"]/g, "")}`);
    args.push("-F", `file=@${file}`);
  }
  args.push(signed.url);
  return args.map(quote).join(" ");
}

interface PresignOptions {
  method?: Method;
  methods?: Method[];
  prefix?: boolean;
  expires?: number;
  notBefore?: string;
  contentType?: string;
  contentLength?: number;
  contentLengthRange?: [number, number];
  sha256?: string;
  range?: string;
  header?: Record<string, string>;
  ip?: string[];
  responseContentDisposition?: string;
  responseContentType?: string;
  delivery?: "direct" | "link" | "auto";
  referrers?: string[];
  revocable?: boolean;
  upsert?: boolean;
  short?: boolean;
  successActionStatus?: 200 | 201 | 204;
  successActionRedirect?: string;
  url?: boolean;
  curl?: boolean;
  file?: string;
}

export async function presign(text: string, o: PresignOptions, command: Command): Promise<void> {
  const [bucket, rest] = o.prefix ? folderTarget(text) : target(text);
  const input: PresignInput = {
    bucket,
    ...(o.prefix ? { prefix: rest } : { key: rest }),
    ...(o.methods !== undefined ? { methods: o.methods } : { method: o.method ?? "GET" }),
    expiresIn: o.expires,
    notBefore: o.notBefore,
    contentType: o.contentType,
    contentLength: o.contentLength,
    contentLengthRange: o.contentLengthRange,
    checksumSha256: o.sha256,
    range: o.range,
    headers: o.header,
    ip: o.ip === undefined ? undefined : o.ip.length === 1 ? o.ip[0] : o.ip,
    responseContentDisposition: o.responseContentDisposition,
    responseContentType: o.responseContentType,
    delivery: o.delivery,
    referrers: o.referrers,
    revocable: o.revocable,
    upsert: o.upsert,
    short: o.short,
    successActionStatus: o.successActionStatus,
    successActionRedirect: o.successActionRedirect,
  };
  const signed = await client(command).presign(input);
  const g = globals(command);
  if (o.url || o.curl) {
    console.log(o.url ? signed.url : curlOf(signed, o.file));
    // stdout stays the URL alone (to pipe); its id, needed to revoke it, goes to stderr.
    say(`id ${signed.id} (revoke: signet revoke ${signed.id})`, g);
  } else printObject(signed, g);
}

/** Requests per `POST /v1/presign/batch` (the server's maximum). */
const BATCH_SIZE = 1000;

/** The presign inputs of a JSON array, or of JSON lines (one object a line; blank lines skipped). */
export function batchInputs(text: string): PresignInput[] {
  const lineOf = (n: number, line: string): PresignInput => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`line ${n}: not JSON`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new InvalidArgumentError(`line ${n}: expected one request object`);
    return value as PresignInput;
  };
  if (text.trimStart().startsWith("[")) {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      throw new InvalidArgumentError("not a JSON array");
    }
    return (list as unknown[]).map((item, i) => lineOf(i + 1, JSON.stringify(item)));
  }
  return text
    .split("\n")
    .map((line, i) => [i + 1, line.trim()] as const)
    .filter(([, line]) => line !== "")
    .map(([n, line]) => lineOf(n, line));
}

/**
 * Requests of one batch call, from `inputs[at]` on: at most the server's 1,000, and at most
 * BATCH_BYTES of JSON (the server's default body limit is 1 MiB; long keys would pass it).
 */
export function batchOf(inputs: PresignInput[], at: number): PresignInput[] {
  let bytes = 0;
  let end = at;
  while (end < inputs.length && end - at < BATCH_SIZE) {
    bytes += Buffer.byteLength(JSON.stringify(inputs[end])) + 1;
    if (bytes > BATCH_BYTES && end > at) break;
    end++;
  }
  return inputs.slice(at, end);
}

/** Bytes of JSON per batch call: a quarter of the server's default body limit. */
const BATCH_BYTES = 256 * 1024;

/**
 * `batch [file]`: signs the requests in FILE (or stdin), 1,000 at most per
 * `POST /v1/presign/batch`; prints one result a line in input order (on a terminal, a
 * refusal's error code and message in place of its URL). Exits 1 when any was refused; a call
 * that fails prints the results signed before it, then its error.
 */
export async function batch(
  file: string | undefined,
  _o: unknown,
  command: Command,
): Promise<void> {
  const text = await input(file === undefined || file === "-" ? "-" : `@${file}`);
  const inputs = batchInputs(text);
  if (inputs.length === 0) throw new InvalidArgumentError("no requests to sign");
  const c = client(command);
  const g = globals(command);
  const results: BatchResult[] = [];
  const print = () =>
    printRows(
      results,
      ["ok", "id", "method", "url", "headers"],
      g,
      // The table names a refusal's reason where the URL would be.
      (r) => (r.ok ? r : { ok: false, url: `${r.error.code}: ${r.error.message}` }),
    );
  try {
    for (let at = 0; at < inputs.length;) {
      const chunk = batchOf(inputs, at);
      results.push(...(await c.presignBatch(chunk)));
      at += chunk.length;
    }
  } catch (err) {
    print();
    say(`signed ${results.length} of ${inputs.length} before this error:`, g);
    throw err;
  }
  print();
  const refused = results.filter((r) => !r.ok).length;
  if (refused > 0) {
    say(`${refused} of ${results.length} refused`, g);
    process.exitCode = 1;
  }
}

/** `parts BUCKET/KEY`: a download plan, one range-bound GET per part (`POST /v1/presign/parts`). */
export async function parts(
  text: string,
  o: { partSize?: number; parts?: number; expires?: number; ip?: string[] },
  command: Command,
): Promise<void> {
  const [bucket, key] = target(text);
  if ((o.partSize === undefined) === (o.parts === undefined))
    throw new InvalidArgumentError("name one of --part-size and --parts");
  const plan = await client(command).parts({
    bucket,
    key,
    partSize: o.partSize,
    parts: o.parts,
    expiresIn: o.expires,
    ip: o.ip,
  });
  const g = globals(command);
  const count = plan.parts.length;
  say(`${plan.size} bytes, etag ${plan.etag}, ${count} part${count === 1 ? "" : "s"}`, g);
  printRows(plan.parts, ["partNumber", "start", "end", "url"], g);
}

interface GetOptions {
  output?: string;
  connections: number;
  partSize?: number;
  sha256?: string;
  expires?: number;
  stallTimeout?: number;
}

export async function get(source: string, o: GetOptions, command: Command): Promise<void> {
  const g = globals(command);
  const bar = await progressBar("get", g.quiet);
  const options = {
    concurrency: o.connections,
    partSize: o.partSize,
    sha256: o.sha256,
    expiresIn: o.expires,
    stallTimeout: o.stallTimeout,
    onProgress: withYoungGc(bar.onProgress),
  };
  // Parts are written where they fall in the file, so the output must be a file.
  if (o.output === "-")
    throw new InvalidArgumentError("-o - : get writes a file (its parts in parallel), not stdout");
  const outputFor = (name: string) => o.output ?? (basename(name) || "download");
  let output: string;
  let result: DownloadResult;
  try {
    if (/^https?:\/\//i.test(source)) {
      output = o.output ?? fileNameOfUrl(source);
      result = await SignetClient.getUrl(source, output, options);
    } else if (/^f_[A-Za-z0-9_-]{22}$/.test(source)) {
      const c = client(command);
      const file = await c.files.get(source);
      output = outputFor(file.key);
      result = await c.get(file.bucket, file.key, output, {
        ...options,
        sha256: o.sha256 ?? file.sha256 ?? undefined,
      });
    } else {
      const [bucket, key] = target(source);
      output = outputFor(key);
      result = await client(command).get(bucket, key, output, options);
    }
    bar.done();
  } catch (err) {
    bar.stop();
    throw err;
  }
  // A signed URL's query (and a link's token) is a secret: never printed back.
  const shown = /^https?:\/\//i.test(source)
    ? `${new URL(source).origin}${loggablePath(new URL(source).pathname)}`
    : source;
  if (g.json) printObject({ source: shown, output, ...result }, g);
  else if (!g.quiet)
    console.log(
      `downloaded ${shown} to ${output} (${result.bytes} bytes, sha256 ${result.sha256} ${
        result.verified ? "verified" : "computed"
      }${result.resumedParts > 0 ? `, resumed after ${result.resumedParts} parts` : ""})`,
    );
}

interface PutOptions {
  contentType?: string;
  /** the older spelling of --content-type */
  type?: string;
  upsert?: boolean;
  partSize?: number;
  connections: number;
  resume: boolean;
  expires?: number;
  stallTimeout?: number;
}

export async function put(
  file: string,
  text: string,
  o: PutOptions,
  command: Command,
): Promise<void> {
  const g = globals(command);
  const [bucket, key] = target(text);
  const bar = await progressBar("put", g.quiet);
  let id: string;
  try {
    ({ id } = await client(command).put(file, bucket, key, {
      contentType: o.contentType ?? o.type,
      upsert: o.upsert,
      partSize: o.partSize,
      concurrency: o.connections,
      resume: o.resume,
      expiresIn: o.expires,
      stallTimeout: o.stallTimeout,
      onProgress: bar.onProgress,
      onResume: (parts) => {
        if (!g.quiet) console.error(`resuming: ${parts} parts already stored`);
      },
    }));
    bar.done();
  } catch (err) {
    bar.stop();
    throw err;
  }
  if (g.json) printObject({ file: id, bucket, key }, g);
  else if (!g.quiet) console.log(`uploaded ${file} to ${bucket}/${key} as file ${id}`);
}

const FILE_COLUMNS = ["id", "bucket", "key", "size", "contentType", "status", "committedAt"];

/** Pages through a list (pages of up to 1,000) until `limit` items, or the end. */
async function pages<T>(
  page: (query: { cursor?: string; limit: number }) => Promise<Page<T>>,
  limit: number | undefined,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page({ cursor, limit: Math.min(1000, limit ?? 1000) });
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor !== undefined && (limit === undefined || items.length < limit));
  return items.slice(0, limit);
}

export async function filesList(
  where: string | undefined,
  o: { owner?: string; status?: FileStatus; limit?: number },
  command: Command,
): Promise<void> {
  const [bucket, prefix] = where === undefined ? [undefined, undefined] : folderTarget(where);
  const c = client(command);
  const items = await pages(
    (page) =>
      c.files.list({
        bucket,
        prefix: prefix || undefined,
        owner: o.owner,
        status: o.status,
        ...page,
      }),
    o.limit,
  );
  printRows(items, FILE_COLUMNS, globals(command));
}

export async function filesGet(id: string, _o: unknown, command: Command): Promise<void> {
  printObject(await client(command).files.get(id), globals(command));
}

export async function filesDelete(id: string, _o: unknown, command: Command): Promise<void> {
  await client(command).files.delete(id);
  say(`deleted ${id}`, globals(command));
}

export interface UploadCreateOptions {
  size: number;
  prefix?: boolean;
  name?: string;
  contentType?: string;
  /** the older spelling of --content-type */
  type?: string;
  sha256?: string;
  partSize?: number;
  method?: "PUT" | "POST";
  expires?: number;
  upsert?: boolean;
  short?: boolean;
}

/**
 * `uploads create`: an intent for someone else (a browser, another tool) to upload to. Prints
 * the intent: the pending file and the signed request(s), to hand over as they are.
 */
export async function uploadsCreate(
  text: string,
  o: UploadCreateOptions,
  command: Command,
): Promise<void> {
  const [bucket, rest] = o.prefix ? folderTarget(text) : target(text);
  const intent = await client(command).uploads.create({
    bucket,
    ...(o.prefix ? { prefix: rest, name: o.name } : { key: rest }),
    size: o.size,
    sha256: o.sha256,
    contentType: o.contentType ?? o.type,
    multipart: o.partSize === undefined ? undefined : { partSize: o.partSize },
    method: o.method,
    expiresIn: o.expires,
    upsert: o.upsert,
    short: o.short,
  });
  printObject(intent, globals(command));
}

/** `uploads parts ID N…`: fresh signed requests for a multipart intent's parts. */
export async function uploadsParts(
  id: string,
  partNumbers: string[],
  o: { expires?: number },
  command: Command,
): Promise<void> {
  const numbers = partNumbers.map((n) => {
    try {
      return integer(n, 1);
    } catch (err) {
      throw new InvalidArgumentError(`part number '${n}': ${(err as Error).message}`);
    }
  });
  printRows(
    await client(command).uploads.signParts(id, numbers, o.expires),
    ["partNumber", "start", "end", "method", "url"],
    globals(command),
  );
}

export async function uploadsComplete(
  id: string,
  o: { parts?: string },
  command: Command,
): Promise<void> {
  // A list of 10,000 parts is far above the 128 KiB a command-line argument may hold.
  const parts =
    o.parts === undefined
      ? undefined
      : partList(o.parts.startsWith("@") || o.parts === "-" ? await input(o.parts) : o.parts);
  printObject((await client(command).uploads.complete(id, parts)).file, globals(command));
}

/** The text of `@FILE`, or of stdin for `-` (refused on a terminal, where nothing would come). */
async function input(source: string): Promise<string> {
  if (source !== "-") return readFile(source.slice(1), "utf8");
  if (process.stdin.isTTY)
    throw new InvalidArgumentError("stdin is a terminal: give a file, or pipe the input in");
  return streamText(process.stdin);
}

export async function uploadsAbort(id: string, _o: unknown, command: Command): Promise<void> {
  printObject((await client(command).uploads.abort(id)).file, globals(command));
}

export async function sharesCreate(
  folder: string,
  o: { expires?: number; ip?: string[]; methods: Method[]; mode?: "redirect" | "proxy" },
  command: Command,
): Promise<void> {
  const [bucket, prefix] = folderTarget(folder);
  const share = await client(command).shares.create({
    bucket,
    prefix,
    methods: o.methods,
    expiresIn: o.expires,
    ip: o.ip,
    mode: o.mode,
  });
  printObject(share, globals(command));
}

export async function sharesList(o: { limit?: number }, command: Command): Promise<void> {
  const c = client(command);
  printRows(
    await pages((page) => c.shares.list(page), o.limit),
    ["id", "bucket", "prefix", "methods", "mode", "expiresAt", "revokedAt"],
    globals(command),
  );
}

export async function sharesDelete(id: string, _o: unknown, command: Command): Promise<void> {
  await client(command).shares.delete(id);
  say(`deleted ${id}`, globals(command));
}

export async function revoke(
  id: string | undefined,
  o: { principal?: string; folder?: string },
  command: Command,
): Promise<void> {
  const given = [id, o.principal, o.folder].filter((t) => t !== undefined);
  if (given.includes("")) throw new InvalidArgumentError("an empty id, principal or folder");
  // A whole bucket is revoked only when asked for as one ("BUCKET/"), not by a missing slash.
  if (o.folder !== undefined && !o.folder.includes("/"))
    throw new InvalidArgumentError("--folder names BUCKET/PREFIX/ (BUCKET/ for the whole bucket)");
  if (given.length !== 1)
    throw new InvalidArgumentError("name one of: an id, --principal or --folder");
  let target: RevokeTarget;
  if (o.principal !== undefined) target = { principal: o.principal };
  else if (o.folder !== undefined) {
    const [bucket, prefix] = folderTarget(o.folder);
    target = { bucket, prefix };
  } else target = { tokenId: id! };
  printObject(await client(command).revoke(target), globals(command));
}

export async function grantsList(_o: unknown, command: Command): Promise<void> {
  printRows(
    await client(command).grants.list(),
    ["id", "principal", "buckets", "prefix", "actions", "maxExpiresIn", "quota", "require"],
    globals(command),
  );
}

export async function grantsCreate(
  o: {
    principal: string;
    buckets: string;
    actions: Action[];
    prefix?: string;
    maxExpires?: number;
    quotaPerMinute?: number;
    quotaPerDay?: number;
    maxSize?: number;
    contentType?: string[];
    ip?: string[];
  },
  command: Command,
): Promise<void> {
  const quota = { perMinute: o.quotaPerMinute, perDay: o.quotaPerDay };
  const require = { contentLengthMax: o.maxSize, contentTypes: o.contentType, ip: o.ip };
  const given = (fields: object) => Object.values(fields).some((v) => v !== undefined);
  printObject(
    await client(command).grants.create({
      principal: o.principal,
      buckets: o.buckets.split(","),
      actions: o.actions,
      prefix: o.prefix,
      maxExpiresIn: o.maxExpires,
      quota: given(quota) ? quota : undefined,
      require: given(require) ? require : undefined,
    }),
    globals(command),
  );
}

export async function grantsDelete(id: string, _o: unknown, command: Command): Promise<void> {
  await client(command).grants.delete(id);
  say(`deleted ${id}`, globals(command));
}

export async function bucketsList(_o: unknown, command: Command): Promise<void> {
  const rows = (await client(command).buckets.list()).map((b) => ({
    ...b,
    backend: b.config.backend,
  }));
  printRows(rows, ["name", "backend", "source"], globals(command));
}

export async function bucketsCreate(
  name: string,
  o: { backend: string; config?: string },
  command: Command,
): Promise<void> {
  let config: BucketConfig = { backend: o.backend as BucketConfig["backend"] };
  if (o.config !== undefined)
    try {
      config = JSON.parse(o.config) as BucketConfig;
    } catch {
      throw new InvalidArgumentError("--config is not JSON");
    }
  printObject(await client(command).buckets.create(name, config), globals(command));
}

export async function bucketsDelete(name: string, _o: unknown, command: Command): Promise<void> {
  await client(command).buckets.delete(name);
  say(`deleted ${name}`, globals(command));
}

export async function bucketsRotateKey(name: string, _o: unknown, command: Command): Promise<void> {
  printObject(await client(command).buckets.rotateKey(name), globals(command));
}

export async function bucketsRetireKey(name: string, _o: unknown, command: Command): Promise<void> {
  printObject(await client(command).buckets.retireKey(name), globals(command));
}

export async function apikeysCreate(
  o: { name: string; role: string; expires?: number },
  command: Command,
): Promise<void> {
  printObject(
    await client(command).apiKeys.create({ name: o.name, role: o.role, expiresIn: o.expires }),
    globals(command),
  );
}

export async function apikeysList(_o: unknown, command: Command): Promise<void> {
  printRows(
    await client(command).apiKeys.list(),
    ["id", "name", "role", "createdAt", "expiresAt", "revokedAt"],
    globals(command),
  );
}

export async function apikeysRevoke(id: string, _o: unknown, command: Command): Promise<void> {
  await client(command).apiKeys.revoke(id);
  say(`revoked ${id}`, globals(command));
}

const KEY_COLUMNS = ["kid", "status", "createdAt", "retiredAt"];

export async function keysList(_o: unknown, command: Command): Promise<void> {
  printRows(await client(command).keys.list(), KEY_COLUMNS, globals(command));
}

export async function keysRotate(_o: unknown, command: Command): Promise<void> {
  printObject(await client(command).keys.rotate(), globals(command));
}

export async function keysRetire(kid: string, _o: unknown, command: Command): Promise<void> {
  printObject(await client(command).keys.retire(kid), globals(command));
}

const AUDIT_COLUMNS = ["at", "action", "outcome", "principal", "bucket", "key", "method", "status"];

interface AuditOptions {
  since?: string;
  until?: string;
  principal?: string;
  action?: string;
  bucket?: string;
  prefix?: string;
  token?: string;
  outcome?: "allowed" | "refused";
  limit?: number;
  follow?: boolean;
  interval: number;
}

/**
 * Prints audit records page by page. With `--follow` it works like `tail -n N -f`: it starts
 * from now (the newest record the server holds; `--limit N` first prints the N newest), or from
 * `--since`; then it polls for newer records, printing each once, oldest first, until
 * interrupted.
 */
export async function audit(o: AuditOptions, command: Command): Promise<void> {
  const c = client(command);
  const g = globals(command);
  const query: AuditQuery = {
    since: o.since,
    until: o.until,
    principal: o.principal,
    action: o.action,
    bucket: o.bucket,
    prefix: o.prefix,
    tokenId: o.token,
    outcome: o.outcome,
  };
  const print = (records: AuditRecord[]) =>
    printRows(
      // Servers before the audit contract name the action `event`.
      records.map((r) => ({ ...r, action: r.action ?? r.event })),
      AUDIT_COLUMNS,
      // Follow prints rows as they come: JSON lines keep each one whole.
      o.follow ? { ...g, json: true } : g,
    );
  const fetchAll = async (limit: number | undefined) => {
    const rows: AuditRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.audit({
        ...query,
        cursor,
        limit: Math.min(1000, (limit ?? Infinity) - rows.length),
      });
      rows.push(...page.items);
      cursor = page.nextCursor === null ? undefined : String(page.nextCursor);
    } while (cursor !== undefined && (limit === undefined || rows.length < limit));
    return rows;
  };
  if (!o.follow) return print((await fetchAll(o.limit)).slice(0, o.limit));

  // Oldest first, as `tail -f` prints (the server answers newest first).
  const ascending = (rows: AuditRecord[]) =>
    [...rows].sort((a, b) => (a.at === b.at ? Number(a.id) - Number(b.id) : a.at < b.at ? -1 : 1));
  // Ids printed at the newest time seen: `since` is inclusive, so they come again.
  let seen = new Set<string>();
  const advance = (rows: AuditRecord[]) => {
    for (const r of rows) if (query.since === undefined || r.at > query.since) query.since = r.at;
    seen = new Set(rows.filter((r) => r.at === query.since).map((r) => String(r.id)));
  };
  const backlog = o.limit ?? 0;
  if (query.since === undefined) {
    // From now: the newest records mark where to start; only the `--limit` newest are shown.
    const newest = await fetchAll(Math.max(1, backlog));
    print(ascending(newest.slice(0, backlog)));
    advance(newest);
  } else {
    const rows = ascending(await fetchAll(undefined));
    print(o.limit === undefined ? rows : rows.slice(-o.limit));
    advance(rows);
  }
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.max(0.1, o.interval) * 1000));
    const since = query.since;
    const rows = ascending(await fetchAll(undefined)).filter(
      (r) => since === undefined || r.at > since || (r.at === since && !seen.has(String(r.id))),
    );
    print(rows);
    const before = seen;
    advance(rows);
    // Records at the same instant as the last ones printed stay marked.
    if (rows.every((r) => r.at === query.since)) for (const id of before) seen.add(id);
  }
}
