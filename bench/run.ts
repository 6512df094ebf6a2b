/** Runs every bench/*.bench.ts in its own process, one after another. */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
for (const file of readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  execFileSync(process.execPath, ["--import", "tsx", join(here, file)], { stdio: "inherit" });
}
