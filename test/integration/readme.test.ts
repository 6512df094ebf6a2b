/**
 * The README runs as written: its shell blocks marked `runnable` run in order, in one bash, in
 * a fresh directory against a fresh server, with `signet` on PATH (what `npm link` does); its
 * JSON config blocks pass the config schema.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/service/config.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

/** The bodies of the README's fenced blocks whose info string is `info`. */
function blocks(markdown: string, info: RegExp): string[] {
  const found: string[] = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m !== null; m = fence.exec(markdown))
    if (info.test(m[1]!.trim())) found.push(m[2]!);
  return found;
}

describe("the README", () => {
  let readme: string;
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    readme = await readFile(join(ROOT, "README.md"), "utf8");
    h = await startSignet();
    dir = await mkdtemp(join(tmpdir(), "signet-readme-"));
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("has no placeholders in its shell examples", () => {
    // Comments may describe replies ("{ id, … }"); commands may not hold placeholders.
    const shell = blocks(readme, /^sh\b/)
      .join("\n")
      .replace(/(^|\s)#.*$/gm, "");
    expect(shell).not.toMatch(/<[a-z0-9-]+>|…|npx signet|\| rotate \|/);
  });

  it("runs every runnable shell block as written", async () => {
    const runnable = blocks(readme, /^sh runnable$/);
    expect(runnable.length).toBeGreaterThanOrEqual(5);
    await exec(process.execPath, ["scripts/build-if-changed.mjs"], { cwd: ROOT });
    const bin = join(dir, "bin");
    await exec("mkdir", ["-p", bin, join(dir, "work")]);
    await writeFile(
      join(bin, "signet"),
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "dist/cli/main.js")}" "$@"\n`,
    );
    await chmod(join(bin, "signet"), 0o755);
    const script = ["set -euo pipefail", ...runnable].join("\n");
    const tmp = join(dir, "tmp");
    await mkdir(tmp);
    const result = await exec("bash", ["-c", script], {
      cwd: join(dir, "work"),
      env: {
        ...process.env,
        TMPDIR: tmp,
        PATH: `${bin}:${process.env.PATH}`,
        SIGNET_URL: h.url,
        SIGNET_KEY: ADMIN_KEY,
      },
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect("code" in result ? result.stderr : "", result.stdout).toBe("");
    // Run in a checkout, the examples leave nothing behind: not in it, not in the temp dir.
    expect(await readdir(join(dir, "work"))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  }, 240_000);

  it("shows only configs that pass the config schema", () => {
    const configs = blocks(readme, /^json$/).map((b) => JSON.parse(b) as Record<string, unknown>);
    expect(configs.length).toBeGreaterThanOrEqual(3);
    for (const config of configs) expect(() => validateConfig(config)).not.toThrow();
  });
});
