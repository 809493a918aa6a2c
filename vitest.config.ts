import { defineConfig } from "vitest/config";

// Three tiers by suffix: *.unit.test.ts (no I/O), *.int.test.ts (real SQLite / PostgreSQL),
// *.e2e.test.ts (the HTTP server). Each test file makes its own database, so files run in parallel.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.unit.test.ts"] } },
      { extends: true, test: { name: "int", include: ["test/**/*.int.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/**/*.e2e.test.ts"] } },
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
