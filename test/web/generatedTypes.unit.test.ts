// The web interface's typed documents (web/src/generated/graphql.ts) are committed; this keeps them
// what GraphQL Code Generator makes of web/src/operations against schema/schema.graphql, so a schema
// change that breaks an operation of the interface fails here (and `tsc -p web` shows where).
import { readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../../web/codegen.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("the web interface's generated types", () => {
  it("are what codegen generates from the committed schema (run `npm run web:codegen`)", async () => {
    const [file, ...more] = await generate({ ...config, cwd: ROOT, silent: true }, false);
    expect(more).toEqual([]);
    expect(file!.filename).toBe("web/src/generated/graphql.ts");
    const committed = readFileSync(path.join(ROOT, file!.filename), "utf8");
    expect(
      committed === file!.content,
      "web/src/generated/graphql.ts is stale: run `npm run web:codegen`",
    ).toBe(true);
  }, 60_000);
});
