// Hostile operation shapes are refused during validation, with a clear error, before execution.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATION_LIMITS } from "../../src/http/operationLimits.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("sqlite");
});
afterAll(async () => server?.close());

const nested = (levels: number) => {
  let selection = "name";
  for (let i = 0; i < levels; i++) selection = `versions(first: 1) { nodes { model { ${selection} } } }`;
  return `{ registeredModels(first: 1) { nodes { ${selection} } } }`;
};

describe("operation limits", () => {
  it("accepts deep-enough queries and refuses deeper ones", async () => {
    const ok = await server.gql(nested(2));
    expect(ok.errors).toBeUndefined();
    const tooDeep = await server.gql(nested(8));
    expect(tooDeep.data).toBeUndefined();
    expect(tooDeep.errors?.[0]?.message).toMatch(/depth/i);
  });

  it("refuses too many aliases", async () => {
    const aliases = Array.from(
      { length: OPERATION_LIMITS.maxAliases + 1 },
      (_, i) => `a${i}: registeredModels { nodes { name } }`,
    );
    const result = await server.gql(`{ ${aliases.join(" ")} }`);
    expect(result.errors?.[0]?.message).toMatch(/alias/i);
  });

  it("refuses operations with too many tokens", async () => {
    const fields = Array.from({ length: OPERATION_LIMITS.maxTokens }, () => "name").join(" ");
    const result = await server.gql(`{ registeredModels { nodes { ${fields} } } }`);
    expect(result.errors?.[0]?.message).toMatch(/token/i);
  });

  it("refuses documents nested too deep for the parser before parsing them, over HTTP and WebSocket alike", async () => {
    // Unclosed selections, nested list types and nested input objects each overflowed the recursive parser.
    for (const query of [
      "{ " + "a { ".repeat(3000),
      "query($x: " + "[".repeat(5000) + "Int" + "]".repeat(5000) + ") { __typename }",
      "{ registeredModel(name: " + "{a: ".repeat(4000) + "1" + "}".repeat(4000) + ") { name } }",
    ]) {
      const result = await server.gql(query);
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/nests brackets \d+ deep; at most 128/),
          extensions: { code: "MAX_DEPTH_EXCEEDED", limit: OPERATION_LIMITS.maxNesting },
        }),
      ]);
    }
    // Within the limit, the document reaches the parser and its ordinary errors.
    const shallow = await server.gql("{ " + "a { ".repeat(20));
    expect(shallow.errors?.[0]?.message).toMatch(/Syntax Error: Expected Name/);
  });
});
