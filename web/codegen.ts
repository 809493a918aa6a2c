import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the web interface's operations (web/src/operations/*.graphql), from the
// committed schema. Run from the repository root: `npm run web:codegen`. The output is committed;
// test/web/generatedTypes.unit.test.ts fails when it is not what this config generates.
const scalars = {
  DateTime: "string",
  JSON: "unknown",
  JSONObject: "Record<string, unknown>",
  SafeInt: "number",
  Upload: "File | Blob",
};

const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: "web/src/operations/*.graphql",
  generates: {
    "web/src/generated/graphql.ts": {
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        strictScalars: true,
        scalars,
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: false,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
      },
    },
  },
};

export default config;
