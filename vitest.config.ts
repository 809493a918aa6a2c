import { createRequire } from "node:module";
import os from "node:os";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// Three tiers by suffix: *.unit.test.ts (no I/O), *.int.test.ts (real SQLite / PostgreSQL),
// *.e2e.test.ts (the HTTP server). Each test file makes its own database, so files run in parallel.
export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so every dependency vitest leaves
    // external (Pothos, Yoga), loads the CJS one; Vite would hand our own files the ESM one, and
    // graphql refuses to mix objects from two copies. Pin everything to the copy Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    projects: [
      // Unit tests touch no process-wide state (no module mocks; fake timers are put back after
      // each test), so one worker's files share their imports: the tier took 35 s alone, 19 s so.
      { extends: true, test: { name: "unit", include: ["test/**/*.unit.test.ts"], isolate: false } },
      { extends: true, test: { name: "int", include: ["test/**/*.int.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/**/*.e2e.test.ts"] } },
    ],
    // A test that starts servers or processes takes several times its usual time on a loaded
    // two-core machine (CI ran a 30 s bound over on one that was half as fast as usual).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one worker fewer than the cores: on a two-core machine one file at a time,
    // and the suite took 22 minutes there, most of it waiting on servers, databases and fsync rather
    // than computing. Three at least keep both cores busy while a file waits.
    maxWorkers: Math.max(3, os.availableParallelism()),
  },
});
