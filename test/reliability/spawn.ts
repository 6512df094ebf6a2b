/**
 * Starts the built server (`dist/`, the build `npm start` runs, though with V8's default heap
 * sizes: faster to start than through tsx, which matters when a campaign restarts it twenty
 * times) on a free port of 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DIST_MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const SRC_MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** `signet serve` on `dataDir`; resolves once it listens (at most `timeoutMs`). */
export function startServer(
  dataDir: string,
  env: Record<string, string>,
  extra: string[] = [],
  timeoutMs = 60_000,
): Promise<Running> {
  const args = existsSync(DIST_MAIN) ? [DIST_MAIN] : ["--import", "tsx", SRC_MAIN];
  const child = spawn(
    process.execPath,
    [...args, "serve", "--host", "127.0.0.1", "--port", "0", "--data", dataDir, ...extra],
    {
      env: { ...process.env, SIGNET_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`signet serve did not start:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const match = /Signet listening on (\S+)/.exec(out);
      if (match === null) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve({ child, url: match[1]!, output: () => out });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`signet serve exited with ${code}:\n${out}`));
    };
    child.stdout!.on("data", check);
    child.once("exit", onExit);
  });
}

/** Waits for the child to be gone (it was sent a signal). */
export function gone(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
