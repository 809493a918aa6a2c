// `npm run bench`: every benchmark, each side by side with its baseline in the same run, reported as
// ratios. Select some with `npm run bench -- core artifacts`. Figures go to stdout as JSON; stderr
// gets one line per figure with the 1-minute load average it was measured under, and each ratio
// beside the two figures it is the quotient of.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import os from "node:os";
import path from "node:path";
import { benchAccess } from "./access.ts";
import { benchAsOf } from "./asOf.ts";
import { benchAudit } from "./audit.ts";
import { benchArtifacts } from "./artifacts.ts";
import { benchBackup } from "./backup.ts";
import { benchChain } from "./chain.ts";
import { benchCli } from "./cli.ts";
import { benchAuditVerify } from "./auditVerify.ts";
import { benchCore } from "./core.ts";
import { benchInspection, benchInspectionUpload } from "./inspection.ts";
import { benchMonitoring } from "./monitoring.ts";
import { benchObjectStore } from "./objectStore.ts";
import { benchRebuild } from "./rebuild.ts";
import { benchSearch } from "./search.ts";
import { benchSubscriptions } from "./subscriptions.ts";
import { benchUsage } from "./usage.ts";
import { benchWebhooks } from "./webhooks.ts";
import type { Comparison, Figure } from "./support.ts";

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
  search: () => benchSearch(),
  access: () => benchAccess(),
  audit: () => benchAudit(),
  chain: () => benchChain(),
  "as-of": () => benchAsOf(),
  "audit-verify": () => benchAuditVerify(),
  backup: () => benchBackup(),
  rebuild: () => benchRebuild(),
  webhooks: () => benchWebhooks(),
  monitoring: () => benchMonitoring(),
  usage: () => benchUsage(),
  "object-store": () => benchObjectStore(),
  cli: () => benchCli(),
};

const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? wanted : Object.keys(suites);
const results: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: os.loadavg() },
};

const isFigure = (v: unknown): v is Figure =>
  typeof v === "object" && v !== null && "value" in v && "loadAverage1m" in v;

/** One line per figure, with the load it was measured under; comparisons show both sides and the ratio. */
function* report(prefix: string, value: unknown): Generator<string> {
  if (isFigure(value)) {
    yield `${prefix}: ${value.value} ${value.unit} (load ${value.loadAverage1m})`;
  } else if (typeof value === "object" && value !== null && "ratio" in value && "baseline" in value) {
    const c = value as Comparison;
    yield `${prefix}: ${c.measured.value} ${c.measured.unit} (load ${c.measured.loadAverage1m}) vs baseline ${c.baseline.value} ${c.baseline.unit} (load ${c.baseline.loadAverage1m}) = ratio ${c.ratio}`;
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) yield* report(`${prefix}.${key}`, inner);
  }
}
for (const name of selected) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  console.error(`== ${name}`);
  results[name] = await suite();
  for (const line of report(name, results[name])) console.error(line);
}
results.machine = { ...(results.machine as object), loadAverageAtEnd: os.loadavg() };
console.log(JSON.stringify(results, null, 2));
