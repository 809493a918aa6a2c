import { Worker } from "node:worker_threads";
import { inspectAppendedArchive, inspectZipSource } from "./archive.ts";
import { detect, formatsForName } from "./detect.ts";
import { formatOf, hasFormatInspector, inspectFormat, reportOrFailure } from "./inspectFormat.ts";
import { FileSource, rangeChunks } from "./io.ts";
import { inspectCompressedJoblib, inspectPickleStream } from "./joblib.ts";
import { inspectLegacyTorch } from "./pytorch.ts";
import { emptyReport, type Report } from "./report.ts";
import type { ArtifactFormat, InspectionResult, InspectOptions } from "./types.ts";
import { computeVerdict, DEFAULT_LIMITS, publicFindings, Scan, type Limits } from "./verdict.ts";
import { ALLOW_IMPORTS_SETTING, NO_ALLOW_IMPORTS, parseAllowImports } from "./operatorAllowList.ts";
import { workerBootstrap } from "../workerBootstrap.ts";

export type {
  ArtifactFormat,
  Finding,
  InspectionResult,
  InspectOptions,
  Severity,
  Signature,
  TensorSpec,
  Verdict,
} from "./types.ts";

function limitsOf(options: InspectOptions | undefined): Limits {
  const l: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(options ?? {}))
    if (typeof v === "number" && Number.isFinite(v) && v > 0) (l as Record<string, number>)[k] = v;
  return l;
}

function baseName(fileName: string): string {
  return fileName.replace(/\\/g, "/").split("/").pop() ?? fileName;
}

function finish(report: Report, scan: Scan): InspectionResult {
  // Which operator entries this verdict depends on, also when the INFO findings are cut off.
  const metadata =
    scan.acceptedImports.size === 0
      ? report.metadata
      : {
          ...report.metadata,
          allowImports: {
            fingerprint: scan.allowImports.fingerprint,
            entriesUsed: [...scan.acceptedImports].sort(),
          },
        };
  return {
    ...report,
    metadata,
    verdict: computeVerdict(scan.findings),
    findings: publicFindings(scan.findings),
  };
}

async function inspectSource(
  src: FileSource,
  filePath: string,
  fileName: string,
  scan: Scan,
): Promise<Report> {
  const label = baseName(fileName);
  const d = await detect(src, fileName, scan);
  const expected = formatsForName(fileName);
  const byName = (f: ArtifactFormat) => expected?.includes(f) ?? false;
  let report: Report = emptyReport(formatOf(d));
  const guard = async (fn: () => Promise<Report> | Report) => {
    report = await reportOrFailure(scan, label, report, fn);
  };
  if (hasFormatInspector(d)) report = await inspectFormat(d, src, scan, label);
  else
    switch (d.kind) {
      case "ZIP":
        await guard(async () => (await inspectZipSource(src, scan, label, 0)) ?? emptyReport("UNKNOWN"));
        break;
      case "COMPRESSED":
        await guard(() => inspectCompressedJoblib(filePath, src, d.compression, scan, label));
        break;
      case "LEGACY_TORCH":
        await guard(() => inspectLegacyTorch(src, scan, label));
        break;
      case "PICKLE":
        await guard(() =>
          inspectPickleStream(
            rangeChunks(src),
            scan,
            label,
            byName("JOBLIB") && !byName("PICKLE") ? true : /\.joblib$/i.test(fileName),
            {},
            src,
          ),
        );
        break;
      case "JSON":
      case "TEXT":
        if (/\.py$/i.test(fileName))
          scan.add("MEDIUM", "Python source file: executed by loaders that trust remote code", label);
        else
          scan.add(
            "LOW",
            `Not a recognised model format (${d.kind === "JSON" ? "JSON document" : "plain text"}); nothing executable found`,
            label,
          );
        report = {
          ...emptyReport("UNKNOWN"),
          metadata: { content: d.kind === "JSON" ? "json" : "text", bytes: src.size },
        };
        break;
      case "UNKNOWN":
        scan.incomplete("Incomplete scan: content does not match any supported format", label);
        report = { ...emptyReport("UNKNOWN"), metadata: { bytes: src.size } };
        break;
    }
  if (d.kind !== "ZIP") {
    // The archive Python's zipfile finds after this file's own content is a second view of it.
    try {
      const zip = await inspectAppendedArchive(
        src,
        report.format === "UNKNOWN" ? "file" : `${report.format} file`,
        scan,
        label,
        0,
      );
      if (zip) report.metadata.zipfileArchive = zip;
    } catch (err) {
      scan.fail(err, label);
    }
  }
  if (expected && report.format !== "UNKNOWN" && !expected.includes(report.format))
    scan.add("MEDIUM", `File name suggests ${expected.join("/")} but the content is ${report.format}`, label);
  else if (expected && report.format === "UNKNOWN")
    scan.add(
      "LOW",
      `File name suggests ${expected.join("/")} but the content was not recognised as such`,
      label,
    );
  return report;
}

/** Same logic as inspectArtifact, on the calling thread. Never throws for anything in the file. */
export async function inspectArtifactInProcess(
  filePath: string,
  fileName: string,
  options?: InspectOptions,
): Promise<InspectionResult> {
  let allowImports = NO_ALLOW_IMPORTS;
  try {
    allowImports = parseAllowImports(options?.allowImports ?? []);
  } catch (err) {
    // Validated at start-up (config.ts, the inspector); a caller passing a bad list gets it said here.
    const scan = new Scan(limitsOf(options));
    scan.incomplete(`Incomplete scan: invalid ${ALLOW_IMPORTS_SETTING}: ${(err as Error).message}`, null);
    return finish(emptyReport("UNKNOWN"), scan);
  }
  const scan = new Scan(limitsOf(options), Date.now(), allowImports);
  let report: Report = emptyReport("UNKNOWN");
  let src: FileSource | null = null;
  try {
    src = await FileSource.open(filePath);
    if (src.size > scan.limits.maxBytes)
      scan.incomplete(
        `Incomplete scan: file of ${src.size} bytes exceeds the cap of ${scan.limits.maxBytes}`,
        baseName(fileName),
      );
    else report = await inspectSource(src, filePath, fileName, scan);
  } catch (err) {
    scan.fail(err, baseName(fileName));
  } finally {
    await src?.close().catch(() => undefined);
  }
  return finish(report, scan);
}

function unscannable(message: string): InspectionResult {
  return {
    ...emptyReport("UNKNOWN"),
    verdict: "UNSCANNABLE",
    findings: [{ severity: "MEDIUM", message, location: null }],
  };
}

/**
 * Runs the inspection in a worker thread with a heap ceiling, and terminates it when the time
 * budget runs out, so a hostile file costs at most one budget of one thread.
 */
export function inspectArtifact(
  filePath: string,
  fileName: string,
  options?: InspectOptions,
): Promise<InspectionResult> {
  const limits = limitsOf(options);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: InspectionResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let worker: Worker;
    try {
      worker = new Worker(workerBootstrap(new URL("./worker.ts", import.meta.url)), {
        eval: true,
        workerData: {
          filePath,
          fileName,
          options: {
            ...limits,
            timeBudgetMs: Math.max(1, limits.timeBudgetMs - 50),
            ...(options?.allowImports === undefined ? {} : { allowImports: [...options.allowImports] }),
          },
          startedAt: Date.now(),
        },
        resourceLimits: { maxOldGenerationSizeMb: limits.maxWorkerHeapMb },
        stdout: false,
        stderr: false,
      });
    } catch (err) {
      resolve(
        unscannable(
          `Incomplete scan: could not start the inspection worker: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
      return;
    }
    const timer = setTimeout(() => {
      done(
        unscannable(
          `Incomplete scan: inspection exceeded its time budget of ${limits.timeBudgetMs} ms and was stopped`,
        ),
      );
      void worker.terminate();
    }, limits.timeBudgetMs);
    worker.on("message", (r: InspectionResult) => {
      done(r);
      void worker.terminate();
    });
    worker.on("error", (err) => {
      const oom = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
      done(
        unscannable(
          `Incomplete scan: inspection worker ${oom ? "ran out of memory" : `failed: ${err.message}`}`,
        ),
      );
    });
    worker.on("exit", (code) =>
      done(unscannable(`Incomplete scan: inspection worker exited (code ${code}) without a result`)),
    );
  });
}
