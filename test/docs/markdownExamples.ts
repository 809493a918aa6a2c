// Reads the fenced examples out of the README and docs, so a test can run them as a reader would.
// A directive in an HTML comment on the nearest non-blank line above a fence changes how it is
// checked:
//   <!-- example: expect NotFoundError -->   the answer must contain that typed error
//   <!-- example: skip (why) -->             not run (the reason is required)
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Example {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly directive: { readonly kind: "expect"; readonly value: string } | { readonly kind: "skip" } | null;
}

const DIRECTIVE = /^<!-- example: (expect|skip) ?(.*?) ?-->$/;

export function examplesOf(markdown: string, file: string): Example[] {
  const lines = markdown.split("\n");
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!);
    // The nearest non-blank line above the fence (prettier puts a blank line after a comment).
    let previous = start - 1;
    while (previous >= 0 && lines[previous]!.trim() === "") previous--;
    const above = DIRECTIVE.exec(lines[previous]?.trim() ?? "");
    if (above && above[1] === "skip" && above[2]!.length < 4)
      throw new Error(`${file}:${start}: a skipped example needs its reason`);
    examples.push({
      file,
      line: start + 1,
      lang: open[1]!,
      code: body.join("\n"),
      directive: above
        ? above[1] === "skip"
          ? { kind: "skip" }
          : { kind: "expect", value: above[2]! }
        : null,
    });
  }
  return examples;
}

/** README.md and every Markdown file under docs/, relative to the repository root. */
export function documentationFiles(): string[] {
  const docs = path.join(ROOT, "docs");
  const inDocs = (() => {
    try {
      return readdirSync(docs, { recursive: true, encoding: "utf8" })
        .filter((name) => name.endsWith(".md"))
        .map((name) => path.join("docs", name));
    } catch {
      return [];
    }
  })();
  return ["README.md", ...inDocs.sort()];
}

export const readDoc = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
