#!/usr/bin/env node
/**
 * The `signet` command. This entry declares the commands only: each action imports what it
 * needs when it runs (the SDK for client commands, the server for `serve`), so `--help` and a
 * client call never load Fastify, the database or the cloud SDKs.
 */
import { createRequire } from "node:module";
import { Command, Option } from "commander";
import {
  byteSize,
  collect,
  header,
  integer,
  isoTime,
  lengthRange,
  listOf,
  lowerListOf,
  lowerOneOf,
  oneOf,
  port,
  positiveSeconds,
  seconds,
  secondsOrNever,
} from "./args.js";

const METHODS = ["GET", "HEAD", "PUT", "DELETE", "POST", "LIST"] as const;
const ACTIONS = ["read", "write", "delete", "list", "share"] as const;
const STALL_HELP = "retry a part silent this long: 60, 2m; 0 never (default 60)";
const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command("signet")
  .description("Short-lived, tightly scoped signed URLs for blob storage")
  .version(version, "-V, --version")
  .option("--server <url>", "Signet's URL (or SIGNET_URL)")
  .option("--key <apiKey>", "API key (or SIGNET_KEY)")
  .option("--json", "print JSON lines even on a terminal")
  .option("-q, --quiet", "no progress bars or messages")
  // One line, not the whole help: the error stays on screen.
  .showHelpAfterError("(add --help for usage)")
  // Usage errors in the CLI's one format, `signet: CODE: message`, as every other refusal.
  .configureOutput({
    outputError: (text, write) => write(text.replace(/^error: /, "signet: invalid_argument: ")),
  });

/** Runs `name` from ./commands.js, loaded only now. */
const lazy =
  (name: string) =>
  async (...args: unknown[]) => {
    const commands = (await import("./commands.js")) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<void>
    >;
    await commands[name]!(...args);
  };

const defaultPort = () => {
  const text = process.env.SIGNET_PORT ?? process.env.PORT;
  return text === undefined || text === "" ? 8080 : port(text);
};

program
  .command("serve")
  .description("start the Signet server (port: --port, else SIGNET_PORT or PORT, else 8080)")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on", port)
  .option("--data <dir>", "data directory", "./data")
  .option("--config <file>", "JSON config file")
  .action(async (options: { host: string; port?: number; data: string; config?: string }) => {
    const { serve } = await import("./serve.js");
    await serve({ ...options, port: options.port ?? defaultPort() });
  });

program
  .command("migrate")
  .description("bring the metadata database to the latest schema, then exit")
  .option("--data <dir>", "data directory (its SQLite file, without SIGNET_DATABASE_URL)", "./data")
  .option("--config <file>", "JSON config file")
  .action(async (options: { data: string; config?: string }) => {
    const { migrate } = await import("./serve.js");
    await migrate(options);
  });

program
  .command("presign <target>")
  .description("sign a request for BUCKET/KEY (or a folder: BUCKET/PREFIX/ with --prefix)")
  .addOption(new Option("--method <method>", "one method").argParser((t) => oneOf(METHODS, t)))
  .option("--methods <list>", "several methods, comma-separated: GET,HEAD,LIST", listOf(METHODS))
  .option("--prefix", "TARGET is a folder (BUCKET/PREFIX/)")
  .option("--expires <duration>", "lifetime: 900, 15m, 12h, 7d", seconds)
  .option("--not-before <iso>", "valid from this time (ISO 8601)")
  .option("--content-type <type>", "the exact Content-Type the request must send")
  .option("--content-length <bytes>", "the exact body length", (t) => integer(t))
  .option("--content-length-range <min..max>", "body length bounds (form POST)", lengthRange)
  .option("--sha256 <base64>", "the body's sha256 (base64)")
  .option("--range <bytes=a-b>", "the only byte range it serves")
  .option("--header <name:value>", "a header the request must send (repeatable)", header)
  .option("--ip <cidr>", "client address range (repeatable)", collect)
  .option("--response-content-disposition <value>", "Content-Disposition of the reply")
  .option("--response-content-type <type>", "Content-Type of the reply")
  .option("--delivery <mode>", "direct, link or auto", (t) =>
    lowerOneOf(["direct", "link", "auto"] as const, t),
  )
  .option("--referrers <origin>", "an allowed Referer origin (repeatable)", collect)
  .option("--revocable", "must be revocable (else refused)")
  .option("--upsert", "may replace a committed file (PUT)")
  .option("--short", "answer a short /u/{id} URL standing for the signed one")
  .option(
    "--success-action-status <status>",
    "form POST: the status storage answers with (200, 201 or 204)",
    (t) => Number(oneOf(["200", "201", "204"] as const, t)),
  )
  .option("--success-action-redirect <url>", "form POST: where storage redirects after upload")
  .option("--url", "print only the URL")
  .addOption(
    new Option(
      "--curl",
      "print a ready-to-run curl command (the body from --file or stdin)",
    ).conflicts("url"),
  )
  .option("--file <path>", "the body --curl sends for PUT or POST")
  .action(lazy("presign"));

program
  .command("batch [file]")
  .description(
    "sign many requests: JSON lines (or a JSON array) of presign bodies, from FILE or stdin",
  )
  .action(lazy("batch"));

program
  .command("parts <target>")
  .description("sign a download plan for BUCKET/KEY: one range-bound GET URL per part")
  .option("--part-size <size>", "bytes a part: 8MiB, 16MiB …", byteSize)
  .option("--parts <n>", "this many parts", (t) => integer(t, 1))
  .option("--expires <duration>", "lifetime: 900, 15m, 12h, 7d", seconds)
  .option("--ip <cidr>", "client address range (repeatable)", collect)
  .action(lazy("parts"));

program
  .command("get <source>")
  .description("download BUCKET/KEY, a file id (f_…) or any http(s) URL that serves Range")
  .option("-o, --output <file>", "where to write it (default: the key's last segment)")
  .option("-c, --connections <n>", "parallel connections", (t) => integer(t, 1), 8)
  .option("--part-size <size>", "part size: 8MiB, 16MiB …", byteSize)
  .option("--sha256 <base64>", "the sha256 the file must have (else the file record's)")
  .option("--expires <duration>", "lifetime of the part URLs", seconds)
  .option("--stall-timeout <duration>", STALL_HELP, secondsOrNever)
  .action(lazy("get"));

program
  .command("put <file> <target>")
  .description("upload FILE to BUCKET/KEY through an upload intent (parallel parts above 16 MiB)")
  .option("--content-type <type>", "media type (default: from the name, else octet-stream)")
  .addOption(new Option("--type <contentType>", "the same as --content-type").hideHelp())
  .option("--upsert", "replace a committed file at the key (needs write and delete)")
  .option("--part-size <size>", "multipart part size: 8MiB …", byteSize)
  .option("-c, --connections <n>", "parallel parts", (t) => integer(t, 1), 4)
  .option("--no-resume", "do not resume from (or keep) FILE.signet-put.json")
  .option("--expires <duration>", "lifetime of the upload URLs", seconds)
  .option("--stall-timeout <duration>", STALL_HELP, secondsOrNever)
  .action(lazy("put"));

const files = program.command("files").description("registered files");
files
  .command("list [bucketPrefix]")
  .description("files in BUCKET[/PREFIX] the caller may read")
  .option("--owner <principal>", "only this owner's")
  .option("--status <status>", "pending, committed, superseded or deleted", (t) =>
    lowerOneOf(["pending", "committed", "superseded", "deleted"] as const, t),
  )
  .option("--limit <n>", "at most", (t) => integer(t, 1))
  .action(lazy("filesList"));
files.command("get <id>").description("one file by id").action(lazy("filesGet"));
files.command("delete <id>").description("delete a file and its bytes").action(lazy("filesDelete"));

const uploads = program.command("uploads").description("upload intents");
uploads
  .command("create <target>")
  .description("an upload intent for BUCKET/KEY (or BUCKET/PREFIX/ with --prefix), to hand over")
  .requiredOption("--size <bytes>", "the body's exact size (required)", byteSize)
  .option("--prefix", "TARGET is a folder: Signet picks the key (--name keeps a file name)")
  .option("--name <name>", "with --prefix: the file name the key ends with")
  .option("--content-type <type>", "media type (default: from the name, else octet-stream)")
  .addOption(new Option("--type <contentType>", "the same as --content-type").hideHelp())
  .option("--sha256 <base64>", "the body's sha256 (base64): checked at complete")
  .option("--part-size <size>", "multipart: part size (8MiB …)", byteSize)
  .option("--method <method>", "PUT (default) or POST (a browser form)", (t) =>
    oneOf(["PUT", "POST"] as const, t),
  )
  .option("--expires <duration>", "lifetime of the upload URLs", seconds)
  .option("--upsert", "replace a committed file at the key (needs write and delete)")
  .option("--short", "short /u/{id} URLs")
  .action(lazy("uploadsCreate"));
uploads
  .command("parts <id> <partNumbers...>")
  .description("fresh signed requests for a multipart intent's parts")
  .option("--expires <duration>", "lifetime of the part URLs", seconds)
  .action(lazy("uploadsParts"));
uploads
  .command("complete <id>")
  .description("complete an upload intent: Signet checks the stored bytes, then commits")
  .option(
    "--parts <json|@file|->",
    'multipart: [{"partNumber":1,"etag":"…"},…] inline, in a file or on stdin (default: the parts storage holds)',
  )
  .action(lazy("uploadsComplete"));
uploads.command("abort <id>").description("abort an upload intent").action(lazy("uploadsAbort"));

const share = (command: Command) =>
  command
    .option("--expires <duration>", "lifetime: 900, 15m, 12h, 7d", seconds)
    .option("--ip <cidr>", "client address range (repeatable)", collect)
    .addOption(
      new Option("--methods <list>", "comma-separated: GET,HEAD,LIST,PUT,DELETE")
        .argParser(listOf(METHODS))
        .default(["GET", "HEAD", "LIST"], "GET,HEAD,LIST"),
    )
    .option("--mode <mode>", "redirect or proxy", (t) =>
      lowerOneOf(["redirect", "proxy"] as const, t),
    )
    .action(lazy("sharesCreate"));
share(program.command("share <folder>").description("share BUCKET/PREFIX/ through one link"));
const shares = program.command("shares").description("folder share links");
share(shares.command("create <folder>").description("share BUCKET/PREFIX/ through one link"));
shares
  .command("list")
  .description("shares you created")
  .option("--limit <n>", "at most", (t) => integer(t, 1))
  .action(lazy("sharesList"));
shares
  .command("delete <id>")
  .description("revoke a share at once (it stays listed, with revokedAt)")
  .action(lazy("sharesDelete"));

program
  .command("revoke [id]")
  .description("revoke a signed request or share by its id, a principal's URLs or a folder's")
  .addOption(
    new Option(
      "--principal <id>",
      "everything issued to key:ID, sub:SUBJECT or env:admin",
    ).conflicts("folder"),
  )
  .option(
    "--folder <bucket/prefix/>",
    "everything issued inside this folder (BUCKET/: the whole bucket)",
  )
  .action(lazy("revoke"));

const grants = program.command("grants").description("grants (admin)");
grants.command("list").description("every grant").action(lazy("grantsList"));
grants
  .command("create")
  .description("allow PRINCIPAL ACTIONS on BUCKETS[/PREFIX]")
  .requiredOption(
    "--principal <id>",
    "role:NAME, key:ID (an API key) or sub:SUBJECT (a JWT) (required)",
  )
  .requiredOption("--buckets <list>", "comma-separated bucket names (required)")
  .requiredOption(
    "--actions <list>",
    "comma-separated: read,write,delete,list,share (required)",
    lowerListOf(ACTIONS),
  )
  .option("--prefix <prefix>", "only this folder (${sub}: the caller's key:ID or sub:SUBJECT)")
  .option("--max-expires <duration>", "longest URL lifetime", seconds)
  .option("--quota-per-minute <n>", "URLs per principal per minute", (t) => integer(t, 1))
  .option("--quota-per-day <n>", "URLs per principal per day", (t) => integer(t, 1))
  .option("--max-size <bytes>", "uploads of at most this size (8MiB, 1048576…)", byteSize)
  .option(
    "--content-type <types>",
    "uploads of these media types only: image/*,application/pdf (repeatable)",
    (text: string, previous: string[] = []) => [
      ...previous,
      ...text.split(",").map((t) => t.trim()),
    ],
  )
  .option("--ip <cidr>", "client addresses its URLs are bound to (repeatable)", collect)
  .action(lazy("grantsCreate"));
grants.command("delete <id>").description("remove a grant").action(lazy("grantsDelete"));

const buckets = program.command("buckets").description("buckets (admin)");
buckets.command("list").description("every bucket").action(lazy("bucketsList"));
buckets
  .command("create <name>")
  .description(
    "add a local bucket (cloud buckets hold credentials: they are set in the config file)",
  )
  .option("--backend <kind>", "local: the only kind the API creates", "local")
  .option("--config <json>", 'the bucket config as JSON: {"backend":"local","cors":{…},…}')
  .action(lazy("bucketsCreate"));
buckets.command("delete <name>").description("remove a bucket").action(lazy("bucketsDelete"));
buckets
  .command("rotate-key <bucket>")
  .description("set a new generated key on BUCKET's backend and sign with it")
  .action(lazy("bucketsRotateKey"));
buckets
  .command("retire-key <bucket>")
  .description("remove BUCKET's previous key: URLs signed with it stop working")
  .action(lazy("bucketsRetireKey"));

const apikeys = program.command("apikeys").description("API keys (admin)");
apikeys
  .command("create")
  .description("create an API key; its secret is printed once")
  .requiredOption("--name <name>", "what the key is for (required)")
  .requiredOption("--role <role>", "the role its grants name (required)")
  .option("--expires <duration>", "lifetime: 90d, 12h …", seconds)
  .action(lazy("apikeysCreate"));
apikeys.command("list").description("every API key (never its secret)").action(lazy("apikeysList"));
apikeys
  .command("revoke <id>")
  .description("revoke a key and every URL it issued")
  .action(lazy("apikeysRevoke"));

const keys = program.command("keys").description("the signing keyring (admin)");
keys.command("list").description("signing keys and their status").action(lazy("keysList"));
keys.command("rotate").description("make a new key active").action(lazy("keysRotate"));
keys
  .command("retire <kid>")
  .description("stop verifying URLs signed with KID")
  .action(lazy("keysRetire"));

program
  .command("audit")
  .description("audit records, newest first (admin)")
  .option("--since <time>", "from this time (ISO 8601, or a duration ago: 15m, 2h, 7d)", isoTime)
  .option("--until <time>", "until this time (ISO 8601, or a duration ago)", isoTime)
  .option("--principal <id>", "by this principal")
  .option("--action <action>", "this action (e.g. presign, object.use)")
  .option("--bucket <name>", "in this bucket")
  .option("--prefix <prefix>", "keys under this prefix")
  .option("--token <id>", "this signed request's id")
  .option("--outcome <outcome>", "allowed or refused", (t) =>
    lowerOneOf(["allowed", "refused"] as const, t),
  )
  .option("--limit <n>", "at most this many; with --follow, the N newest first", (t) =>
    integer(t, 1),
  )
  .option("-f, --follow", "print new records as they come, from now (or --since), like tail -f")
  .option("--interval <seconds>", "poll interval with --follow", positiveSeconds, 2)
  .action(lazy("audit"));

program
  .command("completion [shell]")
  .description("print a completion script: bash (default) or zsh; e.g. source <(signet completion)")
  .action(async (shell: string | undefined, _options: unknown, command: Command) => {
    if (shell !== undefined && shell !== "bash" && shell !== "zsh")
      command.error(`error: no completion for '${shell}': bash or zsh`);
    const { completionScript } = await import("./completion.js");
    process.stdout.write(completionScript(program, shell));
  });

/** The command that runs, so that a refusal names its flags rather than the API's fields. */
let running: Command = program;
program.hook("preAction", (_program, action) => {
  running = action;
});

// `signet … | head`: the reader is gone, so is the rest of the output; not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});

program.parseAsync().catch(async (err: unknown) => {
  const error = err as {
    code?: unknown;
    message?: string;
    name?: string;
    field?: string;
    retryAfter?: number;
  };
  if (error.name === "SignetApiError") {
    const { inFlags } = await import("./errors.js");
    const noKey =
      error.code === "unauthorized" &&
      running.optsWithGlobals<{ key?: string }>().key === undefined &&
      process.env.SIGNET_KEY === undefined;
    console.error(
      `signet: ${String(error.code)}: ${inFlags(error.message ?? "", error.field, running)}` +
        (noKey ? " (no key given: set SIGNET_KEY or pass --key)" : "") +
        (error.retryAfter === undefined ? "" : ` (retry in ${error.retryAfter} s)`),
    );
  } else console.error(`signet: ${error.message ?? String(err)}`);
  process.exitCode = 1;
});
