// GraphQL Code Generator over the example operations in test/clients/operations, with the config a
// frontend would use (test/clients/codegen.ts: `typescript` + `typescript-operations`, scalars
// mapped as docs/graphql.md documents them): the run succeeds, its output and a file using it
// typecheck under `tsc --strict`, and the same operations run against a live server.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../docs/markdownExamples.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import config from "./codegen.ts";

const OPERATIONS = path.join(ROOT, "test/clients/operations");

/** Type errors of `files` compiled as a frontend would: strict, DOM, bundler resolution. */
function typeErrors(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    // The standard library is not what is under test, and checking lib.dom takes seconds.
    skipLibCheck: true,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (!diagnostic.file) return text;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    return `${path.basename(diagnostic.file.fileName)}:${line + 1}: TS${diagnostic.code} ${text}`;
  });
}

describe("GraphQL Code Generator over the example operations", () => {
  let out: string;
  beforeAll(async () => {
    // Generated into a temporary folder, never into the repository.
    out = mkdtempSync(path.join(tmpdir(), "registro-codegen-"));
    const files = await generate({ ...config, cwd: ROOT, silent: true }, false);
    for (const file of files) writeFileSync(path.join(out, path.basename(file.filename)), file.content);
    copyFileSync(path.join(OPERATIONS, "usage.ts"), path.join(out, "usage.ts"));
  });
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("generates schema and operation types whose scalars are the documented TypeScript types", () => {
    expect(readdirSync(out).sort()).toEqual(["operations.ts", "schema.ts", "usage.ts"]);
    const schema = readFileSync(path.join(out, "schema.ts"), "utf8");
    for (const [scalar, type] of [
      ["DateTime", "string"],
      ["JSON", "unknown"],
      ["JSONObject", "Record<string, unknown>"],
      ["SafeInt", "number"],
      ["Upload", "File | Blob"],
    ])
      expect(schema).toContain(`${scalar}: { input: ${type}; output: ${type}; }`);
    const operations = readFileSync(path.join(out, "operations.ts"), "utf8");
    for (const name of [
      "ListModelsQuery",
      "ModelWithVersionsQuery",
      "VersionSummaryFragment",
      "CreateModelMutation",
      "UploadArtifactMutationVariables",
      "StageChangesSubscription",
      "RegistryEventsSubscription",
    ])
      expect(operations).toContain(`export type ${name} =`);
  });

  it("typechecks, with a file using it, under tsc --strict; a misuse is reported", () => {
    const broken = path.join(out, "broken.ts");
    writeFileSync(
      broken,
      'import type { ListModelsQuery } from "./operations";\n' +
        "export const size = (data: ListModelsQuery): number => data.registeredModels.nodes[0]?.name ?? 0;\n",
    );
    const files = ["schema.ts", "operations.ts", "usage.ts"].map((file) => path.join(out, file));
    expect(typeErrors([...files, broken])).toEqual([
      "broken.ts:2: TS2322 Type 'string | 0' is not assignable to type 'number'.\n  Type 'string' is not assignable to type 'number'.",
    ]);
  });
});

describe("the example operations against a running server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  const operation = (file: string) => readFileSync(path.join(OPERATIONS, file), "utf8");

  async function run(file: string, operationName: string, variables: Record<string, unknown>) {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: operation(file), operationName, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    expect(body.errors, `${operationName} answered errors`).toBeUndefined();
    return body.data;
  }

  it("answers them: a model created (then refused as a duplicate), a file uploaded, the model listed and read", async () => {
    const created = await run("createModel.graphql", "CreateModel", { input: { name: "churn" } });
    expect(created.createRegisteredModel).toMatchObject({
      __typename: "RegisteredModelPayload",
      registeredModel: { name: "churn" },
    });
    const duplicate = await run("createModel.graphql", "CreateModel", { input: { name: "churn" } });
    expect(duplicate.createRegisteredModel).toMatchObject({
      __typename: "AlreadyExistsError",
      code: "ALREADY_EXISTS",
      resource: expect.any(String),
      key: "churn",
    });
    await server.gql(
      `mutation { createModelVersion(input: { name: "churn", source: "s3://m/churn", pendingArtifacts: true }) { __typename } }`,
    );

    // The Upload variable as a GraphQL multipart request, with the header multipart POSTs need.
    const form = new FormData();
    const input = { name: "churn", version: 1, path: "weights.bin", file: null };
    form.append(
      "operations",
      JSON.stringify({ query: operation("uploadArtifact.graphql"), variables: { input } }),
    );
    form.append("map", JSON.stringify({ 0: ["variables.input.file"] }));
    form.append("0", new Blob([new Uint8Array(1234)]), "weights.bin");
    const upload = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "x-registro-csrf": "1" },
      body: form,
    });
    expect(await upload.json()).toEqual({
      data: {
        uploadModelVersionArtifact: {
          __typename: "UploadModelVersionArtifactPayload",
          artifact: { path: "weights.bin", size: 1234, integrity: expect.any(String) },
        },
      },
    });

    const listed = await run("listModels.graphql", "ListModels", { first: 10 });
    expect(listed.registeredModels.nodes.map((model: { name: string }) => model.name)).toEqual(["churn"]);
    const model = await run("modelWithVersions.graphql", "ModelWithVersions", { name: "churn" });
    expect(model.registeredModel.versions.nodes).toMatchObject([
      { version: 1, stage: "NONE", params: {}, artifacts: [{ path: "weights.bin", size: 1234 }] },
    ]);
  });
});
