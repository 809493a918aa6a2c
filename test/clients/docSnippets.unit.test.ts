// The client setups docs/graphql.md shows are the modules the client tests run, character for
// character: a snippet a reader copies is one that was just proven against a live server.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { examplesOf, readDoc, ROOT } from "../docs/markdownExamples.ts";

const DOC = "docs/graphql.md";
const SHOWN = ["test/clients/apolloSetup.ts", "test/clients/urqlSetup.ts", "test/clients/codegen.ts"];

describe(`client snippets in ${DOC}`, () => {
  const markdown = readDoc(DOC);
  const blocks = examplesOf(markdown, DOC)
    .filter((example) => example.lang === "ts")
    .map((example) => example.code);

  it.each(SHOWN)("shows %s verbatim, and names it", (file) => {
    const source = readFileSync(path.join(ROOT, file), "utf8").trimEnd();
    expect(blocks.includes(source), `${DOC} must show ${file} as a ts block, unchanged`).toBe(true);
    expect(markdown).toContain(`(../${file})`);
  });

  it("shows no other TypeScript, which nothing would run", () => {
    expect(blocks).toHaveLength(SHOWN.length);
  });
});
