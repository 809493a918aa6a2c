// Inspects stored artifact bytes (format, summary, signature, safety verdict) on the inspection
// pool, for the upload paths and re-inspection. It never throws: anything that goes wrong, from a
// missing blob to a crashed worker, is an UNSCANNABLE outcome, which blocks promotion (fail closed)
// instead of failing the upload.
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { InspectionOutcome } from "../domain/inspection.ts";
import { InspectionPool, unscannableResult } from "../inspection/pool.ts";
import type { InspectionPoolOptions } from "../inspection/pool.ts";
import type { InspectionResult } from "../inspection/types.ts";
import {
  ALLOW_IMPORTS_SETTING,
  inspectorVersion,
  NO_ALLOW_IMPORTS,
  parseAllowImports,
} from "../inspection/operatorAllowList.ts";
import type { BlobStore } from "./blobStore.ts";
import { BlobNotFoundError } from "./errors.ts";

export interface ArtifactInspector {
  /** False when inspection is switched off (INSPECTION=off): uploads then record no inspection. */
  readonly enabled: boolean;
  /** Inspects the blob `sha256`, named `path` in its version (the name breaks format ties). Null when disabled. */
  inspect(sha256: string, path: string): Promise<InspectionOutcome | null>;
  /** Inspections waiting for a worker or running (for /metrics). */
  readonly pending: number;
  close(): Promise<void>;
}

export interface InspectionConfig {
  /** Inspect uploads (default true). Off is for benchmarks and emergencies: uninspected versions cannot reach Production without an override. */
  readonly enabled: boolean;
  /** Inspection workers (parallel inspections). */
  readonly workers: number;
  /** Per-file time budget in milliseconds. */
  readonly timeBudgetMs: number;
  /**
   * Extra pickle imports this deployment accepts (INSPECTION_ALLOW_IMPORTS entries: `module.Name`,
   * `module:Outer.Inner`, `module.*`); never the deny-list. Default none.
   */
  readonly allowImports: readonly string[];
}

export const disabledInspector: ArtifactInspector = {
  enabled: false,
  pending: 0,
  inspect: () => Promise.resolve(null),
  close: () => Promise.resolve(),
};

/** `version` identifies the rules and the operator allow-list the result was produced under. */
export function toOutcome(
  result: InspectionResult,
  version: string = inspectorVersion(NO_ALLOW_IMPORTS),
): InspectionOutcome {
  return {
    format: result.format,
    formatVersion: result.formatVersion,
    producer: result.producer,
    metadata: result.metadata,
    verdict: result.verdict,
    findings: result.findings,
    signature: result.signature,
    inspector: { version },
  };
}

export function createArtifactInspector(
  blobs: BlobStore,
  logger: Logger,
  config: Partial<InspectionConfig> & {
    readonly pool?: InspectionPoolOptions;
    /** Told each inspection's duration (queueing included) and verdict, for /metrics. */
    readonly onInspected?: (seconds: number, verdict: string) => void;
  } = {},
): ArtifactInspector {
  if (config.enabled === false) return disabledInspector;
  let allowImports = NO_ALLOW_IMPORTS;
  try {
    allowImports = parseAllowImports(config.allowImports ?? []);
  } catch (error) {
    throw new Error(`invalid configuration: ${ALLOW_IMPORTS_SETTING}: ${(error as Error).message}`);
  }
  const version = inspectorVersion(allowImports);
  const pool = new InspectionPool({
    ...config.pool,
    size: config.workers ?? config.pool?.size ?? 1,
    limits: {
      ...config.pool?.limits,
      ...(config.timeBudgetMs === undefined ? {} : { timeBudgetMs: config.timeBudgetMs }),
      // The normalised entries: every worker parses the same list the fingerprint was taken over.
      allowImports: allowImports.entries.map((e) => e.text),
    },
  });
  let pending = 0;
  return {
    enabled: true,
    get pending() {
      return pending;
    },
    async inspect(sha256, path) {
      let result: InspectionResult;
      const started = performance.now();
      pending++;
      try {
        // The workers read files: a folder store hands over the blob's own file, a bucket a
        // temporary download.
        result = await blobs.withLocalFile(sha256, (file) => pool.inspect(file, path));
      } catch (error) {
        if (error instanceof BlobNotFoundError)
          result = unscannableResult(
            "Incomplete scan: the artifact's bytes are missing from storage (run npm run verify)",
          );
        else {
          logger.error({ err: error, sha256, path }, "artifact inspection failed");
          result = unscannableResult(
            `Incomplete scan: inspection failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      } finally {
        pending--;
      }
      config.onInspected?.((performance.now() - started) / 1000, result.verdict);
      const level = result.verdict === "SAFE" ? "debug" : "warn";
      logger[level](
        { sha256, path, format: result.format, verdict: result.verdict, findings: result.findings.length },
        "artifact inspected",
      );
      return toOutcome(result, version);
    },
    close: () => pool.close(),
  };
}
