#!/usr/bin/env node
/** The `signet` command: a thin layer over the SDK (and `serve` over the service). */
import { Command, InvalidArgumentError } from "commander";
import { SignetApiError, SignetClient } from "../client/index.js";
import { parseDuration } from "../core/duration.js";
import { METHODS, OBJECT_METHODS, type ObjectMethod } from "../core/methods.js";
import { progressBar } from "./progress.js";
import { migrate, serve } from "./serve.js";

const program = new Command("signet").description(
  "Short-lived, tightly scoped signed URLs for blob storage",
);

function client(command: Command): SignetClient {
  const options = command.optsWithGlobals<{ server?: string; key?: string }>();
  const server = options.server ?? process.env.SIGNET_URL ?? "http://127.0.0.1:8080";
  const key = options.key ?? process.env.SIGNET_KEY;
  return new SignetClient({ server, key });
}

/** "bucket/path/to/key" → ["bucket", "path/to/key"] */
function target(text: string): [string, string] {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1)
    throw new InvalidArgumentError("expected BUCKET/KEY");
  return [text.slice(0, slash), text.slice(slash + 1)];
}

function seconds(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function oneOf<T extends string>(allowed: readonly T[], text: string): T {
  const upper = text.trim().toUpperCase();
  if (!(allowed as readonly string[]).includes(upper))
    throw new InvalidArgumentError(`expected one of ${allowed.join(", ")}`);
  return upper as T;
}

const method = (text: string): ObjectMethod => oneOf(OBJECT_METHODS, text);

function port(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new InvalidArgumentError("expected a port number");
  return value;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

program
  .option("--server <url>", "Signet's URL (or SIGNET_URL)")
  .option("--key <apiKey>", "API key (or SIGNET_KEY)");

program
  .command("serve")
  .description("start the Signet server")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on", port, 8080)
  .option("--data <dir>", "data directory", "./data")
  .option("--config <file>", "JSON config file")
  .action((options) => serve(options));

program
  .command("migrate")
  .description("bring the metadata database to the latest schema, then exit")
  .option("--data <dir>", "data directory (its SQLite file, without SIGNET_DATABASE_URL)", "./data")
  .option("--config <file>", "JSON config file")
  .action((options) => migrate(options));

program
  .command("presign <target>")
  .description("print a signed request for BUCKET/KEY")
  .option("--method <method>", "GET, HEAD, PUT or DELETE", method, "GET")
  .option("--expires <duration>", "lifetime: 900, 15m, 12h, 7d", seconds)
  .action(
    async (text: string, options: { method: ObjectMethod; expires?: number }, command: Command) => {
      const [bucket, key] = target(text);
      print(
        await client(command).presign({
          bucket,
          key,
          method: options.method,
          expiresIn: options.expires,
        }),
      );
    },
  );

program
  .command("put <file> <target>")
  .description("upload FILE to BUCKET/KEY through an upload intent (multipart above 16 MiB)")
  .option("--type <contentType>", "the file's media type", "application/octet-stream")
  .option("--part-size <bytes>", "multipart part size", (v) => Number(v))
  .action(
    async (
      file: string,
      text: string,
      options: { type: string; partSize?: number },
      command: Command,
    ) => {
      const [bucket, key] = target(text);
      const bar = progressBar("put");
      let id: string;
      try {
        ({ id } = await client(command).put(file, bucket, key, {
          contentType: options.type,
          partSize: options.partSize,
          onProgress: bar.onProgress,
        }));
      } finally {
        bar.stop();
      }
      console.log(`uploaded ${file} to ${bucket}/${key} as file ${id}`);
    },
  );

program
  .command("get <target>")
  .description("download BUCKET/KEY")
  .requiredOption("-o, --output <file>", "where to write it")
  .action(async (text: string, options: { output: string }, command: Command) => {
    const [bucket, key] = target(text);
    const bar = progressBar("get");
    let bytes: number;
    try {
      bytes = await client(command).get(bucket, key, options.output, {
        onProgress: bar.onProgress,
      });
    } finally {
      bar.stop();
    }
    console.log(`downloaded ${bucket}/${key} to ${options.output} (${bytes} bytes)`);
  });

program
  .command("share <target>")
  .description("share the folder BUCKET/PREFIX/ through one link")
  .option("--expires <duration>", "lifetime: 900, 15m, 12h, 7d", seconds)
  .option("--ip <cidr...>", "client address ranges")
  .option("--methods <methods>", "comma-separated: GET,HEAD,LIST,PUT,DELETE", "GET,HEAD,LIST")
  .option("--mode <mode>", "redirect or proxy")
  .action(
    async (
      text: string,
      options: { expires?: number; ip?: string[]; methods: string; mode?: "redirect" | "proxy" },
      command: Command,
    ) => {
      const slash = text.indexOf("/");
      if (slash <= 0) throw new InvalidArgumentError("expected BUCKET/PREFIX/");
      const share = await client(command).shares.create({
        bucket: text.slice(0, slash),
        prefix: text.slice(slash + 1),
        methods: options.methods.split(",").map((m) => oneOf(METHODS, m)),
        expiresIn: options.expires,
        ip: options.ip,
        mode: options.mode,
      });
      print(share);
    },
  );

program
  .command("revoke <id>")
  .description("revoke a signed request or share by its id")
  .action(async (id: string, _o, command: Command) => print(await client(command).revoke(id)));

const apikeys = program.command("apikeys").description("API keys (admin)");
apikeys
  .command("create")
  .description("create an API key; its secret is printed once")
  .requiredOption("--name <name>", "what the key is for")
  .requiredOption("--role <role>", "the role its grants name")
  .option("--expires <duration>", "lifetime: 90d, 12h …", seconds)
  .action(async (options: { name: string; role: string; expires?: number }, command: Command) =>
    print(
      await client(command).apiKeys.create({
        name: options.name,
        role: options.role,
        expiresIn: options.expires,
      }),
    ),
  );
apikeys
  .command("list")
  .action(async (_o, command: Command) => print(await client(command).apiKeys.list()));
apikeys
  .command("revoke <id>")
  .description("revoke a key and every URL it issued")
  .action(async (id: string, _o, command: Command) => {
    await client(command).apiKeys.revoke(id);
    console.log(`revoked ${id}`);
  });

const keys = program.command("keys").description("the signing keyring");
keys
  .command("list")
  .action(async (_o, command: Command) => print(await client(command).keys.list()));
keys
  .command("rotate")
  .description("make a new key active")
  .action(async (_o, command: Command) => print(await client(command).keys.rotate()));
keys
  .command("retire <kid>")
  .description("stop verifying URLs signed with KID")
  .action(async (kid: string, _o, command: Command) =>
    print(await client(command).keys.retire(kid)),
  );

const buckets = program.command("buckets").description("buckets (admin)");
buckets
  .command("rotate-key <bucket>")
  .description("set a new generated key on BUCKET's backend and sign with it")
  .action(async (name: string, _o, command: Command) =>
    print(await client(command).buckets.rotateKey(name)),
  );
buckets
  .command("retire-key <bucket>")
  .description("remove BUCKET's previous key: URLs signed with it stop working")
  .action(async (name: string, _o, command: Command) =>
    print(await client(command).buckets.retireKey(name)),
  );

program
  .command("audit")
  .description("recent audit records")
  .option("--limit <n>", "how many", (v) => Number(v), 50)
  .option("--token <id>", "only this signed request's id")
  .action(async (options: { limit: number; token?: string }, command: Command) =>
    print(await client(command).audit({ limit: options.limit, tokenId: options.token })),
  );

program.parseAsync().catch((err: unknown) => {
  if (err instanceof SignetApiError) console.error(`signet: ${err.code}: ${err.message}`);
  else console.error(`signet: ${(err as Error).message}`);
  process.exitCode = 1;
});
