import type { CodegenConfig } from "@graphql-codegen/cli";

// The scalars as docs/graphql.md maps them. With strictScalars, a scalar missing here fails the
// run instead of becoming `any`.
const scalars = {
  DateTime: "string",
  JSON: "unknown",
  JSONObject: "Record<string, unknown>",
  SafeInt: "number",
  Upload: "File | Blob",
};

const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: "test/clients/operations/*.graphql",
  generates: {
    // Every schema type, enums as string unions (as they arrive in JSON).
    "test/.tmp/codegen/schema.ts": {
      plugins: ["typescript"],
      config: { strictScalars: true, scalars, enumsAsTypes: true, useTypeImports: true },
    },
    // One result and one variables type per operation, using the schema types above.
    "test/.tmp/codegen/operations.ts": {
      plugins: ["typescript-operations"],
      config: {
        strictScalars: true,
        scalars,
        importSchemaTypesFrom: "test/.tmp/codegen/schema.ts",
        useTypeImports: true,
      },
    },
  },
};

export default config;
