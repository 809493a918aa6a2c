// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "src/db/generated/",
      "data/",
      "coverage/",
      "bench/.work/",
      "test/.tmp/",
      // The web interface's build output and its generated typed documents (test/web checks them).
      "web/dist/",
      "web/src/generated/",
      // Imports types that exist only in a codegen run; test/clients/codegen.e2e.test.ts typechecks it there.
      "test/clients/operations/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", "bin/registro.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "import-x": importX },
    rules: {
      // Only our own modules can close a cycle: following imports into node_modules (every package's
      // JavaScript parsed) took most of the rule's 24 s and can find none.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
    settings: {
      // Without .ts here import-x reads no TypeScript module's imports, and no-cycle found no cycle
      // among them (a two-file cycle passed).
      "import-x/extensions": [".ts", ".js"],
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js"] })],
    },
  },
  {
    // The domain is pure: decide/evolve over plain data. No database, no GraphQL, no I/O, no clock.
    files: ["src/domain/**/*.ts", "src/*/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "path", "crypto", "os", "http", "net", "child_process"],
              message: "src/domain must stay free of Node I/O.",
            },
            {
              group: ["@prisma/*", "*/db/*", "**/generated/**", "pg", "better-sqlite3"],
              message: "src/domain must not touch the database.",
            },
            {
              group: ["graphql", "graphql-*", "@pothos/*", "*/graphql/*"],
              message: "src/domain must not depend on GraphQL.",
            },
            {
              group: ["*/store/*", "*/projections/*", "*/application/*", "*/http/*"],
              message: "src/domain is the innermost layer.",
            },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "Date", message: "Time comes in with the command." },
        { name: "process", message: "src/domain must not read the environment." },
        { name: "crypto", message: "Ids come in with the command." },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "No randomness in the domain." },
      ],
    },
  },
  {
    // The command line is a client of the public API (GraphQL, the artifact routes, graphql-ws):
    // it must never reach into the server's code, i.e. outside its own folder.
    files: ["src/registroCli/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../*"],
              message: "src/registroCli speaks only the public API: no server modules.",
            },
            {
              group: ["@prisma/*", "prisma", "pg", "better-sqlite3", "graphql-yoga", "@pothos/*"],
              message: "src/registroCli is a client: no server libraries.",
            },
          ],
        },
      ],
    },
  },
  {
    // The same one folder deeper.
    files: ["src/registroCli/commands/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../../*"],
              message: "src/registroCli speaks only the public API: no server modules.",
            },
            {
              group: ["@prisma/*", "prisma", "pg", "better-sqlite3", "graphql-yoga", "@pothos/*"],
              message: "src/registroCli is a client: no server libraries.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
);
