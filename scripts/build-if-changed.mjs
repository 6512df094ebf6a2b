// `npm start`'s prestart and `npm pack`'s prepack: runs `npm run build` (the server, the browser
// SDK and the console) only when a source (or the build config) is newer than the last build, so
// a start or a pack without changes begins at once.
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const newest = (path) => {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};

let built = 0;
try {
  built = statSync("dist/cli/main.js").mtimeMs;
} catch {
  // never built
}
const sources = Math.max(
  newest("src"),
  newest("web"),
  newest("tsconfig.json"),
  newest("tsconfig.browser.json"),
  newest("package.json"),
);
if (sources > built) {
  process.stderr.write("building (sources changed)…\n");
  execFileSync("npm", ["run", "build"], { stdio: "inherit" });
} else process.stderr.write("build is up to date\n");
