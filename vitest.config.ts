import { createRequire } from "node:module";
import os from "node:os";
import { configDefaults, defineConfig } from "vitest/config";
import type { TestProjectConfiguration } from "vitest/config";

const require = createRequire(import.meta.url);

/**
 * Test files that replace a module (vi.mock): each needs the module graph to itself, so they run
 * isolated, in a project of their own beside their tier's. Every other file of a tier shares its
 * worker's imports (test/suite/isolation.unit.test.ts checks that this list holds every such file).
 */
export const MODULE_MOCKING_FILES = ["test/http/handlerFailures.e2e.test.ts"];

// Three tiers by suffix: *.unit.test.ts (no I/O), *.int.test.ts (real SQLite / PostgreSQL),
// *.e2e.test.ts (the HTTP server). Each test file makes its own database, so files run in parallel.
const TIERS = ["unit", "int", "e2e"] as const;
export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so every dependency vitest leaves
    // external (Pothos, Yoga), loads the CJS one; Vite would hand our own files the ESM one, and
    // graphql refuses to mix objects from two copies. Pin everything to the copy Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    // Test files leave no process-wide state behind (no module mocks outside MODULE_MOCKING_FILES;
    // spies and fake timers are put back, servers and databases closed, when a test ends), so one
    // worker's files share their imports instead of loading the whole server again per file: the
    // unit tier took 35 s alone, 19 s so; the integration tier 163 s, 128 s; end to end 519 s, 372 s.
    // Each tier's module-mocking files run in a companion project, `<tier> (isolated)`: run a whole
    // tier with `--project '<tier>*'`.
    projects: TIERS.flatMap((tier): TestProjectConfiguration[] => {
      const include = [`test/**/*.${tier}.test.ts`];
      const mocking = MODULE_MOCKING_FILES.filter((file) => file.endsWith(`.${tier}.test.ts`));
      const exclude = [...configDefaults.exclude, ...mocking];
      const shared: TestProjectConfiguration = {
        extends: true,
        test: { name: tier, include, exclude, isolate: false },
      };
      if (mocking.length === 0) return [shared];
      return [shared, { extends: true, test: { name: `${tier} (isolated)`, include: mocking } }];
    }),
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
