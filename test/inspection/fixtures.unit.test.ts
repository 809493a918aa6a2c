import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  inspectArtifactInProcess,
  type ArtifactFormat,
  type InspectionResult,
  type Verdict,
} from "../../src/inspection/index.ts";

const dir = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const inspect = (name: string, fileName = name) => inspectArtifactInProcess(`${dir}${name}`, fileName);
const messages = (r: InspectionResult) =>
  r.findings.map((f) => `${f.severity} ${f.message} @${f.location ?? ""}`).join("\n");

/** Every fixture: detected format, verdict, and (for non-SAFE) the finding that explains it. */
const TABLE: [file: string, format: ArtifactFormat, verdict: Verdict, finding?: RegExp][] = [
  ["sklearn_linreg_p2.pkl", "PICKLE", "SAFE"],
  ["plain_p0.pkl", "PICKLE", "SAFE"],
  [
    "os_system_p4.pkl",
    "PICKLE",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system \(STACK_GLOBAL\)/,
  ],
  [
    "eval_p1.pkl",
    "PICKLE",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import __builtin__\.eval \(GLOBAL, loaded as builtins\.eval\)/,
  ],
  [
    "unknown_global_p3.pkl",
    "PICKLE",
    "SUSPICIOUS",
    /MEDIUM Pickle imports mylib\.helpers\.Thing, which is not on the allow-list/,
  ],
  [
    "stack_global_memo.pkl",
    "PICKLE",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import os\.system \(STACK_GLOBAL\)/,
  ],
  ["truncated.pkl", "PICKLE", "UNSCANNABLE", /Incomplete scan: unexpected end of data/],
  ["linreg.joblib", "JOBLIB", "SAFE"],
  ["payload_after_array.joblib", "JOBLIB", "DANGEROUS", /CRITICAL Dangerous pickle import posix\.system/],
  [
    "zlib_os_system.joblib",
    "JOBLIB",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@zlib_os_system\.joblib\[zlib\]/,
  ],
  ["zlib_safe.joblib", "JOBLIB", "SAFE"],
  ["gzip_safe.joblib", "JOBLIB", "SAFE"],
  ["bz2_safe.joblib", "JOBLIB", "SAFE"],
  ["xz.joblib", "JOBLIB", "SAFE"],
  ["xz_crc32.joblib", "JOBLIB", "SAFE"],
  [
    "xz_os_system.joblib",
    "JOBLIB",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@xz_os_system\.joblib\[xz\]/,
  ],
  ["xz_truncated.joblib", "JOBLIB", "UNSCANNABLE", /Incomplete scan: corrupt xz stream: truncated/],
  ["xz_corrupt.joblib", "JOBLIB", "UNSCANNABLE", /Incomplete scan: corrupt xz stream: corrupt data/],
  ["lzma.joblib", "JOBLIB", "SAFE"],
  ["lzma_dict1536m.joblib", "JOBLIB", "SAFE"],
  [
    "xz_dict128m.joblib",
    "JOBLIB",
    "UNSCANNABLE",
    /Incomplete scan: xz stream not decoded: dictionary larger than the decoder allows/,
  ],
  [
    "lzma_os_system.joblib",
    "JOBLIB",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@lzma_os_system\.joblib\[lzma\]/,
  ],
  ["lzma_truncated.joblib", "JOBLIB", "UNSCANNABLE", /Incomplete scan: lzma stream truncated/],
  ["lzma_corrupt.joblib", "JOBLIB", "UNSCANNABLE", /Incomplete scan: corrupt lzma stream/],
  ["lz4.joblib", "JOBLIB", "SAFE"],
  ["lz4_linked.joblib", "JOBLIB", "SAFE"],
  [
    "lz4_os_system.joblib",
    "JOBLIB",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@lz4_os_system\.joblib\[lz4\]/,
  ],
  ["lz4_truncated.joblib", "JOBLIB", "UNSCANNABLE", /Incomplete scan: lz4 stream truncated/],
  [
    "lz4_corrupt.joblib",
    "JOBLIB",
    "UNSCANNABLE",
    /Incomplete scan: corrupt lz4 frame: block checksum mismatch/,
  ],
  ["state_dict.pt", "PYTORCH", "SAFE"],
  [
    "malicious_state_dict.pt",
    "PYTORCH",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@malicious_state_dict\.pt:archive\/data\.pkl@offset \d+/,
  ],
  ["truncated_state_dict.pt", "UNKNOWN", "UNSCANNABLE", /not a readable zip archive/],
  ["scripted.pt", "TORCHSCRIPT", "SAFE"],
  ["legacy.pt", "PYTORCH", "SAFE"],
  ["legacy_payload_4th_pickle.pt", "PYTORCH", "DANGEROUS", /CRITICAL Dangerous pickle import posix\.system/],
  [
    "legacy_trailing.pt",
    "PYTORCH",
    "DANGEROUS",
    /HIGH \d+ unexplained bytes after the legacy torch storages/,
  ],
  ["model.onnx", "ONNX", "SAFE"],
  [
    "external_traversal.onnx",
    "ONNX",
    "DANGEROUS",
    /HIGH ONNX external_data location "\.\.\/\.\.\/etc\/passwd" escapes the upload/,
  ],
  [
    "custom_domain.onnx",
    "ONNX",
    "SUSPICIOUS",
    /MEDIUM ONNX graph uses custom operator domain "org\.example\.custom"/,
  ],
  ["classifier.mlmodel", "COREML", "SAFE"],
  [
    "custom.mlmodel",
    "COREML",
    "DANGEROUS",
    /HIGH Core ML customModel requires native class "EvilNativeLayer"/,
  ],
  [
    "pipeline_linked.mlmodel",
    "COREML",
    "DANGEROUS",
    /HIGH Core ML linkedModel .*"\.\.\/outside\.mlmodelc".*pipeline\.models\[1\]:linkedModel/,
  ],
  ["saved_model.pb", "TF_SAVEDMODEL", "SAFE"],
  [
    "saved_model_readfile.pb",
    "TF_SAVEDMODEL",
    "DANGEROUS",
    /HIGH TensorFlow graph uses file-system op ReadFile/,
  ],
  ["saved_model.zip", "TF_SAVEDMODEL", "SAFE"],
  ["frozen_graph.pb", "TF_GRAPHDEF", "SAFE"],
  [
    "graph_custom_op.pb",
    "TF_GRAPHDEF",
    "SUSPICIOUS",
    /MEDIUM TensorFlow graph uses non-standard op "MyCustomKernelOp"/,
  ],
  ["iris.pmml", "PMML", "SAFE"],
  [
    "entities.pmml",
    "PMML",
    "SUSPICIOUS",
    /MEDIUM PMML document declares a DOCTYPE with external entity declarations/,
  ],
  ["pipeline.mleap.zip", "MLEAP", "SAFE"],
  ["keras2_model.h5", "KERAS_H5", "SAFE"],
  [
    "keras2_lambda.h5",
    "KERAS_H5",
    "DANGEROUS",
    /HIGH Keras Lambda layer with serialized Python bytecode: .*@keras2_lambda\.h5:model_config:config\.layers\[1\]/,
  ],
  ["keras2_dense.h5", "KERAS_H5", "SAFE"],
  [
    "keras2_dense_lambda.h5",
    "KERAS_H5",
    "DANGEROUS",
    /HIGH Keras Lambda layer .*@keras2_dense_lambda\.h5:model_config:config\.layers\[1\]/,
  ],
  [
    "keras2_dense_huge_lambda.h5",
    "KERAS_H5",
    "DANGEROUS",
    /HIGH Keras Lambda layer .*@keras2_dense_huge_lambda\.h5:model_config:config\.layers\[1\]/,
  ],
  [
    "keras2_dense_truncated.h5",
    "KERAS_H5",
    "UNSCANNABLE",
    /Incomplete scan: HDF5 dense attribute not read: HDF5 huge heap object runs past the end of the file/,
  ],
  ["dense_many_attrs.h5", "KERAS_H5", "SAFE"],
  ["keras3.weights.h5", "KERAS_H5", "SAFE"],
  ["model.keras", "KERAS", "SAFE"],
  ["lambda.keras", "KERAS", "DANGEROUS", /HIGH Keras Lambda layer/],
  [
    "foreign_module.keras",
    "KERAS",
    "SUSPICIOUS",
    /MEDIUM Keras object my_company\.layers\.FancyAttention comes from a module outside keras/,
  ],
  [
    "os_system_function.keras",
    "KERAS",
    "DANGEROUS",
    /CRITICAL Keras config calls os\.system @config\.json:compile_config\.loss/,
  ],
  ["model.safetensors", "SAFETENSORS", "SAFE"],
  [
    "trailing_payload.safetensors",
    "SAFETENSORS",
    "DANGEROUS",
    /HIGH safetensors reference check failed: \d+ bytes after the last tensor are not covered/,
  ],
  ["truncated.safetensors", "SAFETENSORS", "UNSCANNABLE", /truncated/],
  [
    "overlap.safetensors",
    "SAFETENSORS",
    "DANGEROUS",
    /HIGH safetensors reference check failed: tensor overlaps/,
  ],
  [
    "duplicate_key.safetensors",
    "SAFETENSORS",
    "DANGEROUS",
    /HIGH safetensors header rejected: duplicate key "a"/,
  ],
  ["tiny.gguf", "GGUF", "SAFE"],
  ["ssti_template.gguf", "GGUF", "DANGEROUS", /HIGH Chat template contains "__class__"/],
  ["tokenizer.json", "HF_TOKENIZER", "SAFE"],
  ["tokenizer_config.json", "HF_TOKENIZER", "SAFE"],
  ["vocab.txt", "VOCABULARY", "SAFE"],
  ["merges.txt", "VOCABULARY", "SAFE"],
  ["array.npy", "NUMPY", "SAFE"],
  [
    "object_array.npy",
    "NUMPY",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*@object_array\.npy:data/,
  ],
  [
    "traversal.zip",
    "UNKNOWN",
    "DANGEROUS",
    /HIGH Archive entry name "\.\.\/\.\.\/evil\.sh" contains a '\.\.' segment/,
  ],
  [
    "bomb.zip",
    "UNKNOWN",
    "DANGEROUS",
    /HIGH Archive entry expands \d+ → 8388608 bytes, beyond the ratio cap/,
  ],
  [
    "hidden_pickle.zip",
    "UNKNOWN",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import posix\.system .*weights\/part-0\.bin/,
  ],
  [
    "nested.zip",
    "UNKNOWN",
    "DANGEROUS",
    /CRITICAL Dangerous pickle import builtins\.eval .*inner\.zip:evil\.pkl/,
  ],
  ["unknown.bin", "UNKNOWN", "UNSCANNABLE", /content does not match any supported format/],
];

describe("inspection fixtures: format and verdict", () => {
  it.each(TABLE)("%s → %s / %s", async (file, format, verdict, finding) => {
    const r = await inspect(file);
    expect(r.format).toBe(format);
    expect(r.verdict, messages(r)).toBe(verdict);
    if (finding) expect(messages(r)).toMatch(finding);
    if (verdict === "SAFE")
      expect(r.findings.every((f) => f.severity === "INFO" || f.severity === "LOW")).toBe(true);
    expect(() => JSON.stringify(r)).not.toThrow();
  });
});

describe("metadata and signatures", () => {
  it("ONNX: producer, opsets, parameters, signature without initializers", async () => {
    const r = await inspect("model.onnx");
    expect(r.formatVersion).toBe("8");
    expect(r.producer).toEqual({ framework: "pytorch", version: "2.1.0" });
    expect(r.metadata).toMatchObject({
      irVersion: 8,
      domain: "ai.registro",
      modelVersion: 1,
      docString: "tiny two-layer net",
      graphName: "main_graph",
      opsetImports: [{ domain: "", version: 17 }],
      metadataProps: { author: "registro-tests" },
      nodeCount: 2,
      opTypes: { MatMul: 1, Relu: 1 },
      initializerCount: 1,
      parameterCount: 12,
      customDomains: [],
      externalDataLocations: [],
    });
    expect(r.signature).toEqual({
      inputs: [{ name: "x", dtype: "float32", shape: ["batch", 3] }],
      outputs: [{ name: "y", dtype: "float32", shape: ["batch", 4] }],
    });
  });

  it("ONNX: external data locations are listed", async () => {
    const r = await inspect("external_traversal.onnx");
    expect(r.metadata.externalDataLocations).toEqual(["../../etc/passwd"]);
    expect(r.metadata.customDomains).toEqual(["com.evil"]);
    const e = await inspect("external_data.onnx");
    expect(e.verdict).toBe("SAFE");
    expect(e.metadata.externalData).toEqual([
      { tensor: "model.embed_tokens.weight", location: "weights.bin", offset: 0, length: 48 },
    ]);
    expect(e.metadata.embeddings).toEqual([{ name: "model.embed_tokens.weight", shape: [6, 2] }]);
    const st = await inspect("embed_3rows.safetensors");
    expect(st.metadata.embeddings).toEqual([{ name: "model.embed_tokens.weight", shape: [3, 2] }]);
  });

  it("Core ML: description, metadata, producer and signature", async () => {
    const r = await inspect("classifier.mlmodel");
    expect(r.formatVersion).toBe("4");
    expect(r.producer).toEqual({ framework: "coremltools", version: "7.1" });
    expect(r.metadata).toMatchObject({
      specificationVersion: 4,
      modelType: "neuralNetwork",
      description: "A tiny image classifier",
      versionString: "1.0",
      author: "Registro tests",
      license: "MIT",
      predictedFeatureName: "probs",
      convertedFrom: "torch==2.1.0",
    });
    expect(r.signature).toEqual({
      inputs: [{ name: "image", dtype: "float32", shape: [1, 3, 8, 8] }],
      outputs: [{ name: "probs", dtype: "float32", shape: [1, 10] }],
    });
    const p = await inspect("pipeline_linked.mlmodel");
    expect(p.metadata.modelTypes).toEqual(["pipeline", "scaler", "linkedModel"]);
  });

  it("TF SavedModel: tags, version, signature_def and ops", async () => {
    for (const file of ["saved_model.pb", "saved_model.zip"]) {
      const r = await inspect(file);
      expect(r.formatVersion).toBe("1");
      expect(r.producer).toEqual({ framework: "TensorFlow", version: "2.15.0" });
      expect(r.metadata).toMatchObject({
        schemaVersion: 1,
        metaGraphs: [
          {
            tags: ["serve"],
            tensorflowVersion: "2.15.0",
            signatureKeys: ["serving_default", "__saved_model_init_op"],
          },
        ],
        signatureDefs: {
          serving_default: { methodName: "tensorflow/serving/predict", inputs: 1, outputs: 1 },
        },
        nodeCount: 4,
        opTypes: { Placeholder: 1, VarHandleOp: 1, MatMul: 1, StatefulPartitionedCall: 1 },
      });
      expect(r.signature).toEqual({
        inputs: [{ name: "x", dtype: "float32", shape: ["?", 3] }],
        outputs: [{ name: "y", dtype: "float32", shape: ["?", 4] }],
      });
    }
    expect((await inspect("saved_model.zip")).metadata.variables).toBe(2);
  });

  it("TF GraphDef: producer version, ops and placeholder inputs", async () => {
    const r = await inspect("frozen_graph.pb");
    expect(r.formatVersion).toBe("27");
    expect(r.metadata).toMatchObject({
      graphDefVersion: 27,
      nodeCount: 4,
      opTypes: { Placeholder: 1, Const: 1, MatMul: 1, Softmax: 1 },
    });
    expect(r.signature?.inputs).toEqual([{ name: "input", dtype: "float32", shape: ["?", 3] }]);
  });

  it("PMML: header, data dictionary, model and signature", async () => {
    const r = await inspect("iris.pmml");
    expect(r.formatVersion).toBe("4.4");
    expect(r.producer).toEqual({ framework: "SkLearn2PMML package", version: "0.100.0" });
    expect(r.metadata).toMatchObject({
      copyright: "Registro tests",
      modelElement: "TreeModel",
      functionName: "classification",
      models: [
        {
          element: "TreeModel",
          functionName: "classification",
          modelName: "iris",
          algorithmName: "sklearn.tree.DecisionTreeClassifier",
        },
      ],
      dataFields: [
        { name: "sepal_length", optype: "continuous", dataType: "double" },
        { name: "sepal_width", optype: "continuous", dataType: "double" },
        { name: "species", optype: "categorical", dataType: "string" },
      ],
    });
    expect(r.signature).toEqual({
      inputs: [
        { name: "sepal_length", dtype: "double", shape: null },
        { name: "sepal_width", dtype: "double", shape: null },
      ],
      outputs: [
        { name: "species", dtype: "string", shape: null },
        { name: "probability(setosa)", dtype: "double", shape: null },
      ],
    });
  });

  it("PMML: a DOCTYPE entity is never expanded", async () => {
    const r = await inspect("entities.pmml");
    expect(r.metadata.description).toBe("&xxe;");
  });

  it("MLeap: bundle metadata and pipeline signature", async () => {
    const r = await inspect("pipeline.mleap.zip");
    expect(r.formatVersion).toBe("0.23.0");
    expect(r.metadata).toMatchObject({
      uid: "6a1b3c2d-0000-4000-8000-000000000001",
      name: "pipeline_iris",
      format: "json",
      timestamp: "2024-01-01T00:00:00.000",
      rootOp: "pipeline",
      stages: [
        { name: "string_indexer_1", op: "string_indexer" },
        { name: "logreg_2", op: "logistic_regression" },
      ],
    });
    expect(r.signature).toEqual({
      inputs: [{ name: "category", dtype: null, shape: null }],
      outputs: [
        { name: "prediction", dtype: null, shape: null },
        { name: "probability", dtype: null, shape: null },
      ],
    });
  });

  it("Keras H5: root attributes parsed from the HDF5 object header", async () => {
    const r = await inspect("keras2_model.h5");
    expect(r.formatVersion).toBe("2.13.1");
    expect(r.producer).toEqual({ framework: "Keras", version: "2.13.1" });
    expect(r.metadata).toMatchObject({
      kerasVersion: "2.13.1",
      backend: "tensorflow",
      modelClass: "Sequential",
      layerCount: 2,
      layerClasses: { InputLayer: 1, Dense: 1 },
    });
    expect(r.metadata.rootAttributes).toEqual(["backend", "keras_version", "model_config"]);
    expect(r.signature?.inputs).toEqual([{ name: "input_1", dtype: "float32", shape: ["?", 4] }]);
    expect((await inspect("keras3.weights.h5")).metadata.weightsOnly).toBe(true);
  });

  it(".keras: metadata.json and config.json", async () => {
    const r = await inspect("model.keras");
    expect(r.formatVersion).toBe("3.3.3");
    expect(r.metadata).toMatchObject({
      kerasVersion: "3.3.3",
      dateSaved: "2024-05-01@12:00:00",
      module: "keras",
      modelClass: "Sequential",
      layerCount: 2,
      weightsFile: "model.weights.h5",
    });
  });

  it("PyTorch zip: tensors from data.pkl without unpickling", async () => {
    const r = await inspect("state_dict.pt");
    expect(r.formatVersion).toBe("3");
    expect(r.metadata).toMatchObject({
      archiveRoot: "archive",
      byteorder: "little",
      tensorCount: 3,
      parameterCount: 9,
      storages: 3,
      dtypes: { float32: 2, int64: 1 },
    });
    expect(r.metadata.tensors).toEqual([
      { name: "fc.weight", dtype: "float32", shape: [2, 3] },
      { name: "fc.bias", dtype: "float32", shape: [2] },
      { name: "steps", dtype: "int64", shape: [] },
    ]);
  });

  it("legacy torch.save: all five pickles walked, tensors read", async () => {
    const r = await inspect("legacy.pt");
    expect(r.metadata).toMatchObject({
      legacy: true,
      pickleCount: 5,
      protocolVersion: 1001,
      byteorder: "little",
      tensorCount: 3,
      parameterCount: 9,
    });
    const evil = await inspect("legacy_payload_4th_pickle.pt");
    expect(evil.metadata.tensors).toEqual([
      { name: "state_dict.fc.weight", dtype: "float32", shape: [2, 3] },
      { name: "state_dict.fc.bias", dtype: "float32", shape: [2] },
      { name: "state_dict.steps", dtype: "int64", shape: [] },
    ]);
  });

  it("TorchScript: code files counted, __torch__ classes allowed", async () => {
    const r = await inspect("scripted.pt");
    expect(r.metadata).toMatchObject({
      archiveRoot: "scripted",
      codeFiles: 2,
      tensorCount: 1,
      tensors: [{ name: "weight", dtype: "float32", shape: [2] }],
    });
  });

  it("pickle / joblib: protocol, imports, producer", async () => {
    const p = await inspect("sklearn_linreg_p2.pkl");
    expect(p.formatVersion).toBe("2");
    expect(p.producer).toEqual({ framework: "scikit-learn", version: "1.3.0" });
    expect(p.metadata).toMatchObject({
      protocol: 2,
      pickleCount: 1,
      rootClass: "sklearn.linear_model._base.LinearRegression",
      imports: ["sklearn.linear_model._base.LinearRegression"],
    });
    const j = await inspect("linreg.joblib");
    expect(j.metadata).toMatchObject({ protocol: 4, numpyArrays: 1, complete: true });
    expect(j.metadata.imports).toEqual([
      "sklearn.linear_model._base.LinearRegression",
      "joblib.numpy_pickle.NumpyArrayWrapper",
      "numpy.ndarray",
      "numpy.dtype",
    ]);
    const z = await inspect("zlib_safe.joblib");
    expect(z.metadata).toMatchObject({ compression: "zlib", protocol: 4, numpyArrays: 1 });
    expect((await inspect("bz2_safe.joblib")).metadata.compression).toBe("bz2");
    const p0 = await inspect("plain_p0.pkl");
    expect(p0.metadata).toMatchObject({ protocol: 0, rootClass: "dict" });
  });

  it("safetensors: tensors, parameter count and user metadata", async () => {
    const r = await inspect("model.safetensors");
    expect(r.producer).toEqual({ framework: "PyTorch", version: null });
    expect(r.metadata).toMatchObject({
      tensorCount: 2,
      parameterCount: 7,
      dataBytes: 40,
      referenceChecksPassed: true,
      userMetadata: { format: "pt", source: "registro-tests" },
      tensors: [
        { name: "embed.weight", dtype: "F32", shape: [2, 2] },
        { name: "position_ids", dtype: "I64", shape: [3] },
      ],
    });
  });

  it("GGUF: header keys, tensors, chat template kept as text", async () => {
    const r = await inspect("tiny.gguf");
    expect(r.formatVersion).toBe("3");
    expect(r.metadata).toMatchObject({
      architecture: "llama",
      name: "tiny-llama",
      fileType: 0,
      contextLength: 2048,
      tokenizerModel: "gpt2",
      tensorCount: 1,
      parameterCount: 32,
    });
    expect(r.metadata.tensors).toEqual([
      { name: "token_embd.weight", type: "F32", shape: [8, 4], offset: 0, bytes: 128 },
    ]);
    expect((r.metadata.keys as Record<string, unknown>)["tokenizer.ggml.tokens"]).toEqual({
      array: "string",
      length: 4,
      head: ["<s>", "</s>", "a", "b"],
    });
    expect(r.metadata.chatTemplate).toMatchObject({ chars: 66 });
  });

  it("tokenizers and vocabularies", async () => {
    const t = await inspect("tokenizer.json");
    expect(t.metadata).toMatchObject({
      modelType: "WordPiece",
      vocabSize: 4,
      addedTokens: 2,
      specialTokens: ["[PAD]", "[UNK]"],
      normalizer: "BertNormalizer",
      preTokenizer: "BertPreTokenizer",
      decoder: "WordPiece",
    });
    const c = await inspect("tokenizer_config.json");
    expect(c.metadata).toMatchObject({
      kind: "tokenizer_config.json",
      tokenizerClass: "LlamaTokenizer",
      modelMaxLength: 2048,
    });
    expect((await inspect("vocab.txt")).metadata).toMatchObject({
      kind: "token-per-line",
      lineCount: 4,
      entries: 4,
    });
    expect((await inspect("merges.txt")).metadata).toMatchObject({
      kind: "bpe-merges",
      lineCount: 3,
      entries: 2,
    });
  });

  it("NumPy: dtype, shape and data size", async () => {
    const r = await inspect("array.npy");
    expect(r.formatVersion).toBe("1.0");
    expect(r.metadata).toMatchObject({
      dtype: "<f4",
      shape: [2, 3],
      fortranOrder: false,
      dataBytes: 24,
      expectedDataBytes: 24,
    });
  });
});

describe("name and content", () => {
  it("a pickle named .safetensors is reported as a mismatch", async () => {
    const r = await inspect("sklearn_linreg_p2.pkl", "model.safetensors");
    expect(r.format).toBe("PICKLE");
    expect(r.verdict).toBe("SUSPICIOUS");
    expect(messages(r)).toMatch(/MEDIUM File name suggests SAFETENSORS but the content is PICKLE/);
  });

  it("the name breaks ties: a plain pickle named .joblib is JOBLIB", async () => {
    const r = await inspect("plain_p0.pkl", "encoder.joblib");
    expect(r.format).toBe("JOBLIB");
    expect(r.verdict).toBe("SAFE");
  });

  it("content wins over a misleading extension", async () => {
    const r = await inspect("model.onnx", "weights.pt");
    expect(r.format).toBe("ONNX");
    expect(messages(r)).toMatch(/File name suggests PYTORCH\/TORCHSCRIPT\/PICKLE but the content is ONNX/);
  });
});
