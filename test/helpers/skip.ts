/**
 * Why a suite is skipped, said out loud: `describe.skipIf(missing(...))(…)` prints one line
 * naming what the suite needs, so a fresh clone's skipped tests explain themselves.
 */
import process from "node:process";

/**
 * True (skip) when any value in `needs` is missing; then writes `skipped: TITLE (needs …)` to
 * stderr, naming each missing requirement and what provides it.
 */
export function missing(title: string, needs: Record<string, unknown>): boolean {
  const absent = Object.entries(needs)
    .filter(([, value]) => value === undefined || value === false || value === "")
    .map(([name]) => name);
  if (absent.length > 0) process.stderr.write(`skipped: ${title} (needs ${absent.join(", ")})\n`);
  return absent.length > 0;
}
