export const ARTIFACT_FORMATS = [
  "ONNX",
  "PICKLE",
  "JOBLIB",
  "PYTORCH",
  "TORCHSCRIPT",
  "KERAS_H5",
  "KERAS",
  "TF_SAVEDMODEL",
  "TF_GRAPHDEF",
  "PMML",
  "COREML",
  "MLEAP",
  "SAFETENSORS",
  "GGUF",
  "HF_TOKENIZER",
  "VOCABULARY",
  "NUMPY",
  "UNKNOWN",
] as const;
export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

/** A stored format name as clients see it: one this registry no longer knows reads as UNKNOWN. */
export const knownFormat = (format: string | null): ArtifactFormat | null =>
  format === null
    ? null
    : (ARTIFACT_FORMATS as readonly string[]).includes(format)
      ? (format as ArtifactFormat)
      : "UNKNOWN";

export type Verdict = "SAFE" | "SUSPICIOUS" | "DANGEROUS" | "UNSCANNABLE";

export type Severity = "INFO" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

/** `location` points into the artifact, e.g. "data.pkl@offset 1234" or "config.json:layers[3]". */
export interface Finding {
  severity: Severity;
  message: string;
  location: string | null;
}

/** Symbolic dimensions (ONNX dim_param, unknown TF dims) are strings. */
export interface TensorSpec {
  name: string;
  dtype: string | null;
  shape: (number | string)[] | null;
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface InspectionResult {
  format: ArtifactFormat;
  formatVersion: string | null;
  producer: { framework: string | null; version: string | null } | null;
  /** JSON-serialisable, format-specific summary. */
  metadata: Record<string, unknown>;
  signature: Signature | null;
  verdict: Verdict;
  findings: Finding[];
}

export interface InspectOptions {
  /** Files larger than this are not parsed at all (verdict UNSCANNABLE). */
  maxBytes?: number;
  /** Wall-clock budget for one inspection; exceeding it yields UNSCANNABLE. */
  timeBudgetMs?: number;
  /** Largest archive member or embedded document read into memory. */
  maxMemberBytes?: number;
  /** Largest output of one decompression (joblib compress=, zip members). */
  maxDecompressedBytes?: number;
  maxArchiveEntries?: number;
  /** Sum of declared uncompressed sizes of all archive entries. */
  maxArchiveTotalBytes?: number;
  /** Uncompressed/compressed ratio above which an archive entry is treated as a bomb. */
  maxCompressionRatio?: number;
  /** Nested archives / pipelines / sub-graphs deeper than this are not followed. */
  maxNestingDepth?: number;
  /** Opcodes walked per pickle stream before giving up. */
  maxPickleOps?: number;
  /** Heap ceiling for the worker thread (inspectArtifact only). */
  maxWorkerHeapMb?: number;
  /**
   * Bytes of archive members held in memory at once, across all nesting levels (a member read
   * whole stays held while the archive inside it is inspected). Past it the scan is incomplete.
   */
  maxHeldBytes?: number;
  /**
   * The operator's extra allowed pickle imports (INSPECTION_ALLOW_IMPORTS entries, see
   * operatorAllowList.ts). Plain strings so they cross to worker threads as they are; each worker
   * parses them again.
   */
  allowImports?: readonly string[];
}
