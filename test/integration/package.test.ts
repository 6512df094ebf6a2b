/**
 * The package as people install it: `npm pack`, then `npm install` of the tarball into a fresh
 * project (dependencies from npm's cache, else the registry), a consumer file type-checked
 * against the package's declarations (including a misuse that must not compile), then run
 * against a live server.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const NPM_TIMEOUT = 240_000;

/**
 * A browser app's types against \`signet/browser\`: its wire types are the API's own (the same
 * declarations as \`signet\`'s, dist/api/types.d.ts), so one assigns to the other both ways.
 */
const BROWSER_CONSUMER = `/// <reference lib="dom" />
import type { Listing, PresignRequest, SignedRequest as BrowserSigned } from "signet/browser";
import { presign } from "signet/browser";
import type { PresignInput, SignedRequest } from "signet";

export const same = (a: BrowserSigned): SignedRequest => a;
export const back = (a: SignedRequest): BrowserSigned => a;
export const input = (a: PresignRequest): PresignInput => a;
export const listed = (l: Listing): string[] => l.items.map((i) => i.key);
export type Presign = typeof presign;
`;

const CONSUMER = `
import { SignetApiError, SignetClient, type FileInfo, type SignedRequest } from "signet";
import { readFile, writeFile } from "node:fs/promises";

const client = new SignetClient({ server: process.env.SIGNET_URL!, key: process.env.SIGNET_KEY });
const signed: SignedRequest = await client.presign({ bucket: "default", key: "pkg/a.txt", method: "PUT" });
if (!signed.url.includes("/o/default/pkg/a.txt")) throw new Error("unexpected url " + signed.url);

await writeFile("hello.txt", "hello from a consumer\\n");
const file: FileInfo = await client.put("hello.txt", "default", "pkg/hello.txt");
const got = await client.get("default", "pkg/hello.txt", "copy.txt", { concurrency: 2 });
if (!got.verified || (await readFile("copy.txt", "utf8")) !== "hello from a consumer\\n")
  throw new Error("round trip failed");

try {
  await client.files.get("f_0000000000000000000000");
} catch (err) {
  if (!(err instanceof SignetApiError) || err.code !== "not_found") throw err;
}

// A grant with a quota and requirements, and a revocation by folder, typed by the package.
await client.grants.create({
  principal: "role:pkg",
  buckets: ["default"],
  actions: ["write"],
  quota: { perMinute: 10 },
  require: { contentLengthMax: 1024, contentTypes: ["text/plain"] },
});
const revoked = await client.revoke({ bucket: "default", prefix: "pkg/" });
if (typeof revoked.revoked !== "number") throw new Error("no count of revoked URLs");

// Never called: it must only fail to compile.
export const misuse = () =>
  // @ts-expect-error: not a method the API knows
  client.presign({ bucket: "default", key: "k", method: "FETCH" });

console.log(JSON.stringify({ ok: true, file: file.id, status: file.status }));
`;

describe("the installable package", () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await startSignet();
    dir = await mkdtemp(join(tmpdir(), "signet-package-"));
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "packs, installs, type-checks a consumer against its declarations and runs it",
    async () => {
      // As people pack it: prepack builds only when sources changed.
      await exec("npm", ["pack", "--pack-destination", dir], { cwd: ROOT });
      const tarball = (await readdir(dir)).find((f) => f.endsWith(".tgz"))!;
      const app = join(dir, "app");
      await mkdir(app);
      await writeFile(
        join(app, "package.json"),
        JSON.stringify({ name: "consumer", private: true, type: "module" }),
      );
      await exec(
        "npm",
        ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"].concat(
          join(dir, tarball),
        ),
        { cwd: app, timeout: NPM_TIMEOUT },
      );
      await writeFile(join(app, "consumer.ts"), CONSUMER);
      await writeFile(join(app, "browser-types.ts"), BROWSER_CONSUMER);
      // The README's SDK example must compile against the package as published.
      const readme = await readFile(join(ROOT, "README.md"), "utf8");
      const example = /^```ts\n([\s\S]*?)^```$/m.exec(readme)![1]!;
      await writeFile(join(app, "readme-example.ts"), example);
      await writeFile(
        join(app, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            outDir: "out",
            typeRoots: [join(ROOT, "node_modules/@types")],
            types: ["node"],
          },
          files: ["consumer.ts", "readme-example.ts", "browser-types.ts"],
        }),
      );
      const tsc = await exec(process.execPath, [TSC, "-p", "."], { cwd: app }).catch(
        (err: { stdout: string }) => ({ stdout: err.stdout, failed: true }),
      );
      expect(tsc.stdout).toBe("");
      const { stdout } = await exec(process.execPath, ["out/consumer.js"], {
        cwd: app,
        env: { ...process.env, SIGNET_URL: h.url, SIGNET_KEY: ADMIN_KEY },
      });
      expect(JSON.parse(stdout)).toMatchObject({ ok: true, status: "committed" });
    },
    NPM_TIMEOUT + 120_000,
  );
});
