// `npm run bench`: every benchmark, each side by side with its baseline in the same run, reported as
// ratios. Select some with `npm run bench -- core artifacts`. Figures go to stdout as JSON; stderr
// gets one line per figure with the 1-minute load average it was measured under, and each ratio
// beside the two figures it is the quotient of.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { benchCorePostgres } from "./corePostgres.ts";
import { benchFanOut } from "./fanOut.ts";
import { benchInspection, benchInspectionUpload } from "./inspection.ts";
import { inspectionPrecision } from "./inspectionPrecision.ts";
import { benchJoblibCodecs } from "./joblibCodecs.ts";
import { benchMlflow } from "./mlflow.ts";
import { benchMonitoring } from "./monitoring.ts";
import { benchObjectStore } from "./objectStore.ts";
import { benchReadPath } from "./readPath.ts";
import { benchRebuild } from "./rebuild.ts";
import { benchSearch } from "./search.ts";
import { benchStorage } from "./storage.ts";
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
  "core-postgres": () => benchCorePostgres(),
  subscriptions: () => benchSubscriptions(),
  fanout: () => benchFanOut(),
  artifacts: () => benchArtifacts(),
  inspection,
  inspectionUpload: () => benchInspectionUpload(),
  inspectionPrecision: () => inspectionPrecision(),
  "joblib-codecs": () => benchJoblibCodecs(),
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
  mlflow: () => benchMlflow(),
  storage: () => benchStorage(),
  cli: () => benchCli(),
  read: () => benchReadPath(),
};

const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? wanted : Object.keys(suites);
const results: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: os.loadavg() },
};

const isFigure = (v: unknown): v is Figure =>
  typeof v === "object" && v !== null && "value" in v && "loadAverage1m" in v;

const isComparison = (v: unknown): v is Comparison =>
  typeof v === "object" && v !== null && "ratio" in v && "baseline" in v;

/** The same path's value in the previous run's figures, if it had one. */
function previousAt(previous: unknown, path: readonly string[]): unknown {
  let at = previous;
  for (const key of path) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * One line per figure, with the load it was measured under; comparisons show both sides and the
 * ratio. Where the previous run of the suite had the same figure, it is printed beside it.
 */
function* report(prefix: string, value: unknown, previous: unknown, path: string[] = []): Generator<string> {
  const before = previousAt(previous, path);
  if (isFigure(value)) {
    const was = isFigure(before)
      ? ` [previous ${before.value} ${before.unit}, load ${before.loadAverage1m}]`
      : "";
    yield `${prefix}: ${value.value} ${value.unit} (load ${value.loadAverage1m})${was}`;
  } else if (isComparison(value)) {
    const c = value;
    const was = isComparison(before) ? ` [previous ratio ${before.ratio}]` : "";
    yield `${prefix}: ${c.measured.value} ${c.measured.unit} (load ${c.measured.loadAverage1m}) vs baseline ${c.baseline.value} ${c.baseline.unit} (load ${c.baseline.loadAverage1m}) = ratio ${c.ratio}${was}`;
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value))
      yield* report(`${prefix}.${key}`, inner, previous, [...path, key]);
  }
}

/**
 * Each suite's latest figures are kept in bench/results/<suite>.json, checked in, with the machine,
 * the load and the commit they were measured on: a regression shows as a diff in review, and the
 * next run prints these beside its own.
 */
const RESULTS_DIR = path.join(import.meta.dirname, "results");

function previousRun(name: string): { figures?: unknown; commit?: string; measuredAt?: string } | null {
  try {
    return JSON.parse(readFileSync(path.join(RESULTS_DIR, `${name}.json`), "utf8")) as {
      figures?: unknown;
      commit?: string;
      measuredAt?: string;
    };
  } catch {
    return null;
  }
}

function currentCommit(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
    });
    return dirty.trim() === "" ? commit : `${commit}+changes`;
  } catch {
    return "unknown";
  }
}

function keepRun(name: string, figures: unknown, loadAtStart: readonly number[]): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const record = {
    suite: name,
    measuredAt: new Date().toISOString(),
    commit: currentCommit(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryBytes: os.totalmem(),
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: os.loadavg(),
    },
    figures,
  };
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
}
for (const name of selected) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  const previous = previousRun(name);
  console.error(
    `== ${name}${previous ? ` (previous run ${previous.measuredAt ?? "?"} on ${previous.commit ?? "?"})` : ""}`,
  );
  const loadAtStart = os.loadavg();
  results[name] = await suite();
  for (const line of report(name, results[name], previous?.figures)) console.error(line);
  if (process.env.BENCH_KEEP !== "off") keepRun(name, results[name], loadAtStart);
}
results.machine = { ...(results.machine as object), loadAverageAtEnd: os.loadavg() };
console.log(JSON.stringify(results, null, 2));
