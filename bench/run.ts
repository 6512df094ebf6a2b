/**
 * `npm run bench [-- NAME]`: builds dist/ (the HTTP benches start `signet serve` from it), runs
 * every bench/*.bench.ts (or those whose name contains NAME) in its own process, one after
 * another, then rewrites BENCHMARKS.md: each family's table (figure, reference, ratio, how it
 * was measured, machine, date, command) between `<!-- bench:ID -->` and `<!-- /bench:ID -->`,
 * appended at the end the first time. The prose around the tables is left as it is.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Family } from "./lib.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const only = process.argv[2];
const results = join(tmpdir(), `signet-bench-results-${process.pid}.jsonl`);

execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"],
  {
    cwd: root,
    stdio: "inherit",
  },
);
for (const file of readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  execFileSync(process.execPath, ["--import", "tsx", join(here, file)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_RESULTS: results },
  });
}

/** Escapes a table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

/** A family as Markdown: its table, then how, where and when it was measured. */
function render(family: Family): string {
  const lines = [
    `### ${family.title}`,
    "",
    "| case | figure | reference (same run) | ratio | how |",
    "| --- | --- | --- | --- | --- |",
    ...family.rows.map(
      (r) =>
        `| ${cell(r.case)} | ${cell(r.figure)} | ${cell(r.reference)} | ${r.ratio.toFixed(2)} | ${cell(r.how)} |`,
    ),
    "",
  ];
  if (family.target !== undefined) lines.push(`Target: ${family.target}.`);
  if (family.failures) lines.push(`**Invalid run: ${family.failures} requests failed.**`);
  for (const note of family.notes ?? []) lines.push(note);
  lines.push(`Command: \`${family.command}\`. Machine: ${family.machine}. Date: ${family.date}.`);
  return lines.join("\n");
}

if (existsSync(results)) {
  const families = readFileSync(results, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Family);
  rmSync(results);
  const path = join(root, "BENCHMARKS.md");
  let text = readFileSync(path, "utf8");
  for (const family of families) {
    const begin = `<!-- bench:${family.id} -->`;
    const end = `<!-- /bench:${family.id} -->`;
    const block = `${begin}\n${render(family)}\n${end}`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    text =
      from !== -1 && to > from
        ? text.slice(0, from) + block + text.slice(to + end.length)
        : `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(path, text);
  // The tables as prettier lays them out, so that `npm run format:check` stays clean.
  execFileSync(
    process.execPath,
    [join(root, "node_modules/prettier/bin/prettier.cjs"), "--write", path],
    {
      cwd: root,
      stdio: "ignore",
    },
  );
  console.log(`\nBENCHMARKS.md: ${families.map((f) => f.id).join(", ")} rewritten`);
}
