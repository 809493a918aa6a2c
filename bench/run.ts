// `npm run bench`: every benchmark, each side by side with its baseline in the same run, reported as
// ratios. Select some with `npm run bench -- core artifacts`. Figures go to stdout as JSON.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { benchArtifacts } from "./artifacts.ts";
import { benchCore } from "./core.ts";
import { benchInspection, benchInspectionUpload } from "./inspection.ts";
import { benchSubscriptions } from "./subscriptions.ts";

async function inspection() {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-inspection-"));
  try {
    return { ...(await benchInspection(dir)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const suites: Record<string, () => Promise<Record<string, unknown>>> = {
  core: () => benchCore(),
  subscriptions: () => benchSubscriptions(),
  artifacts: () => benchArtifacts(),
  inspection,
  inspectionUpload: () => benchInspectionUpload(),
};

const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? wanted : Object.keys(suites);
const results: Record<string, unknown> = {
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
};
for (const name of selected) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  console.error(`== ${name}`);
  results[name] = await suite();
  console.error(JSON.stringify(results[name], null, 2));
}
console.log(JSON.stringify(results, null, 2));
