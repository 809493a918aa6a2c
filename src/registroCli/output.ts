// What a command prints: with `--json`, exactly one JSON document on stdout; otherwise text for
// people (tables, lines) on stdout, and notes and progress on stderr unless `--quiet`.
export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
}

/**
 * Text for a terminal: control characters (other than newline and tab) become `?`, so a description,
 * tag or message written by someone else cannot move the cursor, recolour or retitle the reader's
 * terminal. JSON output needs no such care (JSON escapes them).
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}

/** Whether a command printed its result already: with `--json`, an error after it adds no second document. */
let resultPrinted = false;

export class Output {
  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The command's result: `value` as JSON with `--json`, else the text `human` renders. */
  result(value: unknown, human: () => string): void {
    resultPrinted = true;
    if (this.options.json) this.stdout.write(JSON.stringify(value, null, 2) + "\n");
    else {
      const text = printable(human());
      if (text !== "") this.stdout.write(text.endsWith("\n") ? text : text + "\n");
    }
  }

  /** A line streamed as it happens (e.g. `watch`): one JSON object per line with `--json`. */
  line(value: unknown, human: string): void {
    this.stdout.write((this.options.json ? JSON.stringify(value) : printable(human)) + "\n");
  }

  /** A note for people on stderr, silenced by `--quiet`. */
  note(text: string): void {
    if (!this.options.quiet) this.stderr.write(printable(text) + "\n");
  }

  /** An error: always on stderr, and as the JSON document with `--json`. */
  error(message: string, json: Record<string, unknown>): void {
    this.stderr.write(`registro: ${printable(message)}\n`);
    if (this.options.json && !resultPrinted)
      this.stdout.write(JSON.stringify({ error: json }, null, 2) + "\n");
  }
}

/** Columns padded to their widest cell; the header underlined by nothing but its capitals. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells
    .map((row) =>
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  // A name from the server must not move the cursor or recolour the terminal.
  // eslint-disable-next-line no-control-regex
  if (typeof value === "string") return value.replace(/[\u0000-\u001f\u007f]/g, "?");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `key=value` lines of a JSON object, for params and metrics. */
export function keyValueLines(values: Record<string, unknown>, indent = "  "): string {
  return Object.entries(values)
    .map(([k, v]) => `${indent}${k} = ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("\n");
}
