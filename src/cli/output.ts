/**
 * How the CLI prints results: an aligned table on a terminal, JSON lines (one object per line)
 * when piped or with `--json`, so `signet files list | jq` and `… | wc -l` both work.
 */

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

const asJson = (options: OutputOptions) => options.json === true || !process.stdout.isTTY;

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};

/**
 * Prints rows: a table of `columns` on a TTY (of `tabled(row)` when given), else each whole
 * row as one JSON line.
 */
export function printRows<T extends object>(
  rows: T[],
  columns: string[],
  options: OutputOptions,
  tabled: (row: T) => object = (row) => row,
): void {
  if (asJson(options)) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (rows.length === 0) {
    if (!options.quiet) console.error("(none)");
    return;
  }
  const table = rows.map((row) =>
    columns.map((c) => cell((tabled(row) as Record<string, unknown>)[c])),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((v, i) => (i === cells.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const row of table) console.log(line(row));
}

/** Prints one object: `name  value` lines on a TTY, else one JSON line. */
export function printObject(value: object, options: OutputOptions): void {
  if (asJson(options)) {
    process.stdout.write(`${JSON.stringify(value)}\n`);
    return;
  }
  const entries = Object.entries(value);
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [k, v] of entries) console.log(`${k.padEnd(width)}  ${cell(v)}`);
}

/** A line for people (stderr when stdout is data), silent with `--quiet`. */
export function say(text: string, options: OutputOptions): void {
  if (!options.quiet) console.error(text);
}
