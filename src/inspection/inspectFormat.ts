import { inspectCoreMl } from "./coreml.ts";
import { pickleInUserBlock, type Detection } from "./detect.ts";
import { inspectGguf } from "./gguf.ts";
import { rangeChunks, type ByteSource } from "./io.ts";
import { inspectPickleStream } from "./joblib.ts";
import { inspectKerasH5 } from "./keras.ts";
import { inspectNumpy } from "./numpy.ts";
import { inspectOnnx } from "./onnx.ts";
import { inspectPmml } from "./pmml.ts";
import { emptyReport, type Report } from "./report.ts";
import { inspectSafetensors } from "./safetensors.ts";
import { inspectGraphDef, inspectSavedModel } from "./tensorflow.ts";
import { inspectTokenizerJson, inspectVocabulary } from "./tokenizer.ts";
import type { ArtifactFormat } from "./types.ts";
import type { Scan } from "./verdict.ts";

/**
 * Detections whose inspector needs nothing but the bytes. A top-level file and an archive member of
 * one of these formats go through the same inspector; ZIPs, compressed joblib files and pickles are
 * not here because a member of those kinds is read differently (nesting depth, streaming, TorchScript).
 */
export type FormatDetection = Extract<
  Detection,
  { kind: "GGUF" | "HDF5" | "NUMPY" | "SAFETENSORS" | "PMML" | "TOKENIZER" | "PROTO" | "VOCABULARY" }
>;

const FORMAT_KINDS = new Set<Detection["kind"]>([
  "GGUF",
  "HDF5",
  "NUMPY",
  "SAFETENSORS",
  "PMML",
  "TOKENIZER",
  "PROTO",
  "VOCABULARY",
]);

/** What `fn` reports, or `fallback` when it fails: the failure becomes a finding of the scan. */
export async function reportOrFailure(
  scan: Scan,
  label: string,
  fallback: Report,
  fn: () => Promise<Report> | Report,
): Promise<Report> {
  try {
    return await fn();
  } catch (err) {
    scan.fail(err, label);
    return fallback;
  }
}

export function hasFormatInspector(d: Detection): d is FormatDetection {
  return FORMAT_KINDS.has(d.kind);
}

export function formatOf(d: Detection): ArtifactFormat {
  switch (d.kind) {
    case "GGUF":
      return "GGUF";
    case "HDF5":
      return "KERAS_H5";
    case "COMPRESSED":
      return "JOBLIB";
    case "NUMPY":
      return "NUMPY";
    case "SAFETENSORS":
      return "SAFETENSORS";
    case "LEGACY_TORCH":
      return "PYTORCH";
    case "PICKLE":
      return "PICKLE";
    case "PMML":
      return "PMML";
    case "TOKENIZER":
      return "HF_TOKENIZER";
    case "PROTO":
      return d.format;
    case "VOCABULARY":
      return "VOCABULARY";
    default:
      return "UNKNOWN";
  }
}

function inspectProto(
  format: "ONNX" | "COREML" | "TF_SAVEDMODEL" | "TF_GRAPHDEF",
  src: ByteSource,
  scan: Scan,
  label: string,
): Promise<Report> {
  switch (format) {
    case "ONNX":
      return inspectOnnx(src, scan, label);
    case "COREML":
      return inspectCoreMl(src, scan, label);
    case "TF_SAVEDMODEL":
      return inspectSavedModel(src, scan, label);
    case "TF_GRAPHDEF":
      return inspectGraphDef(src, scan, label);
  }
}

/**
 * Runs the inspector of a detected format; findings are placed at `label` (a file name, or
 * `archive:member`). Never throws: a parser failure becomes an incomplete finding at `label`.
 */
export async function inspectFormat(
  d: FormatDetection,
  src: ByteSource,
  scan: Scan,
  label: string,
): Promise<Report> {
  let report: Report = emptyReport(formatOf(d));
  const guard = async (fn: () => Promise<Report> | Report) => {
    report = await reportOrFailure(scan, label, report, fn);
  };
  switch (d.kind) {
    case "GGUF":
      await guard(() => inspectGguf(src, scan, label));
      break;
    case "HDF5":
      await guard(() => inspectKerasH5(src, scan, label));
      await guard(async () => {
        const userBlock = await pickleInUserBlock(src);
        if (userBlock === 0) return report;
        scan.add(
          "HIGH",
          `Polyglot file: the HDF5 user block (${userBlock} bytes before the superblock) is a pickle, which pickle.load, joblib.load and torch.load run; h5py skips it`,
          label,
        );
        await inspectPickleStream(rangeChunks(src, 0, userBlock), scan, `${label}@user block`, false);
        return report;
      });
      break;
    case "NUMPY":
      await guard(() => inspectNumpy(src, scan, label));
      break;
    case "SAFETENSORS":
      await guard(() => inspectSafetensors(src, scan, label));
      break;
    case "PMML":
      await guard(() => inspectPmml(src, scan, label));
      break;
    case "TOKENIZER":
      await guard(() => inspectTokenizerJson(d.doc, scan, label, src.size));
      break;
    case "PROTO":
      await guard(() => inspectProto(d.format, src, scan, label));
      break;
    case "VOCABULARY":
      await guard(() => inspectVocabulary(src, scan, label));
      break;
  }
  return report;
}
