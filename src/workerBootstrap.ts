// Worker threads of the registry (artifact inspection, the rebuild's chain check) run TypeScript
// files. Node 20 does not apply `--import tsx` hooks to a worker's entry module, and vitest never had
// them, so a tiny bootstrap registers tsx's loader inside the worker and then imports the entry.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** The `eval` source of a worker that runs the TypeScript module at `entry`. */
export function workerBootstrap(entry: URL): string {
  const req = createRequire(import.meta.url);
  // Resolve the ESM build of tsx's API from its export map; require.resolve would pick the CJS one.
  const pkgPath = req.resolve("tsx/package.json");
  const pkg = req(pkgPath) as { exports: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports["./esm/api"]?.import?.default ?? "./dist/esm/api/index.mjs";
  const tsxApi = new URL(rel, pathToFileURL(pkgPath)).href;
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); }).catch((e) => { throw e; });`;
}
