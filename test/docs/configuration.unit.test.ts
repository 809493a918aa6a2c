// One configuration table: docs/configuration.md documents every variable the server reads, exactly
// once, and no other page of the README or docs/ keeps a table of its own that could drift from it.
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../src/config.ts";
import { documentationFiles, readDoc } from "./markdownExamples.ts";

/** Variables named in the first column of a Markdown table row, e.g. "| `PORT` | 4000 | …". */
function tableVariables(markdown: string): string[] {
  return markdown
    .split("\n")
    .map((line) => /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && CONFIG_VARIABLES.includes(name));
}

describe("configuration documentation", () => {
  it("documents every variable of the configuration schema in docs/configuration.md, once each", () => {
    const documented = tableVariables(readDoc("docs/configuration.md"));
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it("keeps no second table of settings anywhere else", () => {
    const elsewhere = documentationFiles()
      .filter((file) => file !== "docs/configuration.md")
      .flatMap((file) => tableVariables(readDoc(file)).map((name) => `${file}: ${name}`));
    expect(elsewhere).toEqual([]);
  });
});
