/**
 * A young-generation collection every few MiB a transfer moves, for the CLI. Node reads a socket
 * into a new 64 KiB buffer each time; those die young but are freed only when V8 collects, and
 * V8 counts them as external memory that forces a collection only after about 64 MB: a 256 MiB
 * `signet get` peaked near 100 MB RSS; with this and download.ts's reused slabs, about 75 MB
 * (BENCHMARKS.md). A scavenge of a heap this small is cheap. `gc` is reached the way Node documents for
 * `v8.setFlagsFromString` (exposed to a new context), and only when a transfer runs.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Progress } from "../client/download.js";

const EVERY = 4 * 1024 * 1024;

/** `onProgress`, plus a minor GC each time another EVERY bytes have moved. */
export function withYoungGc(onProgress: Progress | undefined): Progress {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (options: { type: "minor" }) => void;
  let next = EVERY;
  return (done, total) => {
    if (done >= next) {
      next = done + EVERY;
      gc({ type: "minor" });
    }
    onProgress?.(done, total);
  };
}
