/**
 * The reliability suite writes what it measured to docs/reliability.md: one section per
 * campaign, replaced in place on each run (files run in parallel, so writes take a lock file).
 */
import { open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

const DOC = fileURLToPath(new URL("../../docs/reliability.md", import.meta.url));
const LOCK = `${DOC}.lock`;
const HEADER = `# Reliability figures

Written by the reliability suite (\`test/reliability/\`) each time it runs; each section is
replaced by its campaign. Campaign sizes are constants at the top of each test file.
`;

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const handle = await open(LOCK, "wx");
      await handle.close();
      try {
        return await fn();
      } finally {
        await unlink(LOCK).catch(() => undefined);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // A lock left by a killed run: take over.
  await unlink(LOCK).catch(() => undefined);
  return fn();
}

/** Replaces (or appends) the section `name` with `lines`, stamped with the date and machine. */
export async function recordFigures(name: string, title: string, lines: string[]): Promise<void> {
  const begin = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const stamp = `_${new Date().toISOString()}, Node ${process.version}, ${cpus().length} CPU(s)_`;
  // Blank lines around the markers and the list, as prettier writes Markdown.
  const section = [begin, "", `## ${title}`, "", stamp, "", ...lines, "", end].join("\n");
  await withLock(async () => {
    let doc = await readFile(DOC, "utf8").catch(() => HEADER);
    const from = doc.indexOf(begin);
    const to = doc.indexOf(end);
    doc =
      from !== -1 && to > from
        ? `${doc.slice(0, from)}${section}${doc.slice(to + end.length)}`
        : `${doc.trimEnd()}\n\n${section}\n`;
    await writeFile(`${DOC}.tmp`, doc);
    await rename(`${DOC}.tmp`, DOC);
  });
}
