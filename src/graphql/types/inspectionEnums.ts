// Enums of artifact inspection, shared by the Artifact fields, the signature and UnsafeArtifactError.
import type { Severity, Verdict } from "../../domain/inspection.ts";
import { ARTIFACT_FORMATS } from "../../inspection/types.ts";
import type { ArtifactFormat } from "../../inspection/types.ts";
import { builder } from "../builder.ts";

const FORMAT_DESCRIPTIONS: Record<ArtifactFormat, string> = {
  ONNX: "ONNX `ModelProto` (protobuf).",
  PICKLE: "Python pickle (protocol 0-5), e.g. a scikit-learn model saved with `pickle`.",
  JOBLIB: "joblib dump: a pickle with inline NumPy arrays, possibly zlib/gzip/bz2/xz/lzma/lz4-compressed.",
  PYTORCH: "`torch.save` checkpoint: the zip layout (PyTorch ≥ 1.6) or the legacy concatenated pickles.",
  TORCHSCRIPT: "TorchScript archive (`torch.jit.save`): a PyTorch zip with `code/` and `constants.pkl`.",
  KERAS_H5: "Keras model or weights in HDF5 (`.h5`, Keras 2 and Keras 3 `*.weights.h5`).",
  KERAS: "Keras 3 `.keras` zip (`config.json`, `metadata.json`, `model.weights.h5`).",
  TF_SAVEDMODEL: "TensorFlow SavedModel (`saved_model.pb`, alone or zipped with its variables).",
  TF_GRAPHDEF: "TensorFlow frozen `GraphDef` (protobuf).",
  PMML: "PMML XML document (Data Mining Group).",
  COREML: "Core ML `.mlmodel` (protobuf), or an `.mlpackage` zip.",
  MLEAP: "MLeap bundle (zip with `bundle.json` and `root/`).",
  SAFETENSORS: "safetensors: a JSON header and raw tensor bytes (no code).",
  GGUF: "GGUF (llama.cpp) model file.",
  HF_TOKENIZER: "Hugging Face `tokenizer.json`.",
  VOCABULARY: "Plain-text vocabulary or merges file (`vocab.txt`, `merges.txt`).",
  NUMPY: "NumPy `.npy` array (an object dtype embeds a pickle).",
  UNKNOWN: "Not recognised as a model format.",
};

export const ArtifactFormatEnum = builder.enumType("ArtifactFormat", {
  description: "File format of an artifact, recognised from its content (the file name only breaks ties).",
  values: Object.fromEntries(
    ARTIFACT_FORMATS.map((f) => [f, { value: f, description: FORMAT_DESCRIPTIONS[f] }]),
  ) as Record<ArtifactFormat, { value: ArtifactFormat; description: string }>,
});

const VERDICT_DESCRIPTIONS: Record<Verdict, string> = {
  SAFE: "Every part of the file was examined and nothing risky was found.",
  SUSPICIOUS: "Something unusual (e.g. a pickle import outside the allow-list): shown, does not block.",
  DANGEROUS:
    "Loading the file could run code (e.g. a pickle importing `os.system`). Blocks Production and aliases unless overridden.",
  UNSCANNABLE:
    "The file could not be examined completely (truncated, unknown, too large, too slow): treated as unsafe. Blocks Production and aliases unless overridden.",
};

export const ArtifactVerdictEnum = builder.enumType("ArtifactVerdict", {
  description:
    "Safety verdict of an artifact's latest inspection. An artifact never inspected has a null verdict, which gates like UNSCANNABLE (fail closed).",
  values: Object.fromEntries(
    Object.entries(VERDICT_DESCRIPTIONS).map(([v, description]) => [v, { value: v, description }]),
  ) as Record<Verdict, { value: Verdict; description: string }>,
});

const SEVERITY_DESCRIPTIONS: Record<Severity, string> = {
  INFO: "Informational.",
  LOW: "Minor: worth knowing.",
  MEDIUM: "Unusual or incomplete (an incomplete scan makes the verdict UNSCANNABLE).",
  HIGH: "Risky construct.",
  CRITICAL: "Would run code or touch the system when loaded.",
};

export const FindingSeverityEnum = builder.enumType("FindingSeverity", {
  description: "How serious an inspection finding is.",
  values: Object.fromEntries(
    Object.entries(SEVERITY_DESCRIPTIONS).map(([v, description]) => [v, { value: v, description }]),
  ) as Record<Severity, { value: Severity; description: string }>,
});
