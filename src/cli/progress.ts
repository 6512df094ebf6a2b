/**
 * A progress bar with rate and ETA (cli-progress) on a TTY, nothing elsewhere (pipes, CI logs)
 * or with `--quiet`. `done()` draws the final 100% frame before stopping, so a finished
 * transfer never ends on a stale percentage.
 */
import type { Progress } from "../client/download.js";

export interface Bar {
  onProgress: Progress | undefined;
  /** success: show the last frame complete */
  done(): void;
  /** failure: leave the bar where it is */
  stop(): void;
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A bar on `stream` (default stderr) when it is a terminal and not `quiet`, else a no-op. */
export async function progressBar(
  label: string,
  quiet = false,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<Bar> {
  if (quiet || !stream.isTTY) return { onProgress: undefined, done: () => {}, stop: () => {} };
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {doneBytes}/{totalBytes} {rate}/s ETA {eta_formatted}`,
      stream,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let total = 0;
  const startedAt = Date.now();
  const payload = (value: number) => ({
    doneBytes: bytes(value),
    totalBytes: bytes(total),
    rate: bytes(value / Math.max(0.001, (Date.now() - startedAt) / 1000)),
  });
  return {
    onProgress: (value, size) => {
      if (!started) {
        total = size ?? 0;
        bar.start(total, value, payload(value));
        started = true;
      }
      bar.update(value, payload(value));
    },
    done: () => {
      if (!started) return;
      bar.update(total, payload(total));
      bar.stop();
    },
    stop: () => started && bar.stop(),
  };
}
