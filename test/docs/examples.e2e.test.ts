// Every example in the README and docs runs, in order, against a fresh registry, the way a reader
// pasting them would run them: GraphQL blocks are sent to /graphql (subscriptions are validated
// against the schema, since they never end), shell blocks with curl or `npx registro` (the command
// line, docs/cli.md) run in bash in a folder that holds the files they upload, and `npm run`
// commands must name real scripts. An answer carrying a
// GraphQL error, or a typed error the text does not announce, fails the example.
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Kind, OperationTypeNode, parse, validate } from "graphql";
import type { OperationDefinitionNode } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../src/graphql/schema.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { documentationFiles, examplesOf, readDoc, ROOT } from "./markdownExamples.ts";
import type { Example } from "./markdownExamples.ts";

const run = promisify(execFile);
const FIXTURES = path.join(ROOT, "test/fixtures/inspection/files");
const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
);

/** Typed errors named in an answer (`"__typename":"NotFoundError"`). */
const typedErrors = (text: string) =>
  [...text.matchAll(/"__typename":\s*"(\w+Error)"/g)]
    .map((m) => m[1]!)
    .filter((n, i, all) => all.indexOf(n) === i);

function checkAnswer(example: Example, text: string) {
  const expected = example.directive?.kind === "expect" ? example.directive.value : null;
  const errors = typedErrors(text);
  if (expected === null) {
    expect(text, `${example.file}:${example.line}`).not.toMatch(/"errors"\s*:/);
    expect(errors, `${example.file}:${example.line} answered ${text.slice(0, 500)}`).toEqual([]);
  } else {
    expect(
      [...errors, ...(/"errors"\s*:/.test(text) ? ["errors"] : [])],
      `${example.file}:${example.line}`,
    ).toContain(expected);
  }
}

const withoutToken = ({ REGISTRO_TOKEN: _token, REGISTRO_CONFIG: _config, ...env }: NodeJS.ProcessEnv) => env;

const runnable = documentationFiles()
  .map((file) => ({ file, examples: examplesOf(readDoc(file), file) }))
  .filter(({ examples }) => examples.some((e) => ["graphql", "sh", "bash", "shell"].includes(e.lang)));

describe.each(runnable)("examples in $file", ({ examples }) => {
  let server: TestServer;
  let work: string;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
    // The files the examples upload, under the names the examples use.
    work = mkdtempSync(path.join(tmpdir(), "registro-docs-"));
    copyFileSync(path.join(FIXTURES, "model.onnx"), path.join(work, "model.onnx"));
    copyFileSync(path.join(FIXTURES, "vocab.txt"), path.join(work, "vocab.txt"));
    copyFileSync(path.join(FIXTURES, "tokenizer.json"), path.join(work, "tokenizer.json"));
    writeFileSync(path.join(work, "config.json"), JSON.stringify({ max_depth: 6 }));
  });
  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const host = () => new URL(server.url).host;

  for (const example of examples) {
    const title = `${example.lang} at line ${example.line}`;
    if (example.directive?.kind === "skip") {
      it.skip(title, () => undefined);
      continue;
    }
    if (example.lang === "graphql") {
      it(title, async () => {
        const document = parse(example.code);
        expect(validate(schema, document), `${example.file}:${example.line}`).toEqual([]);
        const operation = document.definitions.find(
          (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
        );
        if (operation?.operation === OperationTypeNode.SUBSCRIPTION) return;
        const response = await fetch(server.graphqlUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: example.code }),
        });
        checkAnswer(example, await response.text());
      });
    } else if (["sh", "bash", "shell"].includes(example.lang)) {
      it(title, async () => {
        for (const [, script] of example.code.matchAll(/\bnpm run ([\w:-]+)/g))
          expect(scripts, `${example.file}:${example.line}`).toContain(script);
        if (!/\bcurl\b|\bnpx registro\b/.test(example.code)) return;
        const code = example.code.replaceAll(/(localhost|127\.0\.0\.1):4000/g, host());
        // Streams (curl -N) are cut after two seconds; everything else must finish on its own.
        const prelude =
          'curl() { case " $* " in *" -N "*) command curl --max-time 2 "$@" || [ $? -eq 28 ];; ' +
          '*) command curl --max-time 20 "$@";; esac; }\n' +
          // `npx registro` is the checkout's own bin, run directly (npx would only find the same file).
          `npx() { if [ "$1" = registro ]; then shift; node '${path.join(ROOT, "bin/registro.js")}' "$@"; ` +
          'else command npx "$@"; fi; }\n';
        const { stdout } = await run("bash", ["-eo", "pipefail", "-c", prelude + code], {
          cwd: work,
          timeout: 60_000,
          // The command line finds the server through REGISTRO_URL, and keeps its files in `work`.
          env: {
            ...withoutToken(process.env),
            REGISTRO_URL: server.url,
            XDG_CONFIG_HOME: path.join(work, ".config"),
            XDG_STATE_HOME: path.join(work, ".state"),
          },
        });
        checkAnswer(example, stdout);
      });
    }
  }
});
