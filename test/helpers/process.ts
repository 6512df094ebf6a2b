/** Runs the real `signet` command (from source, through tsx) as a child process. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { databaseFor } from "./pg.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
}

export function signetCommand(
  args: string[],
  env: Record<string, string | undefined> = {},
): ChildProcess {
  // An undefined value removes the variable (spawn would pass the string "undefined").
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, SIGNET_LOG_LEVEL: "warn", ...env }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  return spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Starts `signet serve` on a free port and waits (at most 45 s: tsx compiles the sources at
 * start, slow on a loaded machine) for its listening line; killed if it never comes. With
 * SIGNET_DATABASE_URL in the test's environment, the data dir gets a PostgreSQL database of its
 * own (test/helpers/pg.ts) unless `env` names one.
 */
export async function serve(
  dataDir: string,
  env: Record<string, string | undefined> = {},
  extra: string[] = [],
): Promise<Served> {
  const databaseUrl = "SIGNET_DATABASE_URL" in env ? undefined : await databaseFor(dataDir);
  const child = signetCommand(
    ["serve", "--port", "0", "--data", dataDir, ...extra],
    databaseUrl === undefined ? env : { ...env, SIGNET_DATABASE_URL: databaseUrl },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`signet serve did not start:\n${out}`));
    }, 45_000);
    const check = () => {
      const match = /Signet listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => out });
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`signet serve exited with ${code}:\n${out}`));
    });
  });
}

/** Runs a one-shot command and collects its exit code and output (at most 30 s). */
export function run(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = signetCommand(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}
