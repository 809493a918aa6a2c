import type { ByteSource } from "./io.ts";
import { truncate } from "./io.ts";
import { first, ProtoReader, signedInt64, type WireField } from "./protobuf.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import type { Scan } from "./verdict.ts";
import { dataRecord } from "./dataRecord.ts";

export const COREML_MODEL_TYPES: Record<number, string> = {
  200: "pipelineClassifier",
  201: "pipelineRegressor",
  202: "pipeline",
  300: "glmRegressor",
  301: "supportVectorRegressor",
  302: "treeEnsembleRegressor",
  303: "neuralNetworkRegressor",
  304: "bayesianProbitRegressor",
  400: "glmClassifier",
  401: "supportVectorClassifier",
  402: "treeEnsembleClassifier",
  403: "neuralNetworkClassifier",
  404: "kNearestNeighborsClassifier",
  500: "neuralNetwork",
  501: "itemSimilarityRecommender",
  502: "mlProgram",
  555: "customModel",
  556: "linkedModel",
  560: "classConfidenceThresholding",
  600: "oneHotEncoder",
  601: "imputer",
  602: "featureVectorizer",
  603: "dictVectorizer",
  604: "scaler",
  606: "categoricalMapping",
  607: "normalizer",
  609: "arrayFeatureExtractor",
  610: "nonMaximumSuppression",
  900: "identity",
  2000: "textClassifier",
  2001: "wordTagger",
  2002: "visionFeaturePrint",
  2003: "soundAnalysisPreprocessing",
  2004: "gazetteer",
  2005: "wordEmbedding",
  2006: "audioFeaturePrint",
  3000: "serializedModel",
};

const ARRAY_TYPES: Record<number, string> = {
  65568: "float32",
  65600: "float64",
  131104: "int32",
  65552: "float16",
  131080: "int8",
};

async function featureType(
  r: ProtoReader,
  f: WireField | undefined,
): Promise<{ dtype: string | null; shape: (number | string)[] | null }> {
  if (!f) return { dtype: null, shape: null };
  const m = await r.message(f.offset, f.offset + f.length);
  if (m.has(1)) return { dtype: "int64", shape: [] };
  if (m.has(2)) return { dtype: "double", shape: [] };
  if (m.has(3)) return { dtype: "string", shape: [] };
  const img = first(m, 4);
  if (img) {
    const im = await r.message(img.offset, img.offset + img.length);
    const w = Number(first(im, 1)?.num ?? 0n);
    const h = Number(first(im, 2)?.num ?? 0n);
    const cs = Number(first(im, 3)?.num ?? 0n);
    return {
      dtype: `image(${cs === 10 ? "grayscale" : cs === 20 ? "RGB" : cs === 30 ? "BGR" : "unknown"})`,
      shape: [h, w],
    };
  }
  const arr = first(m, 5);
  if (arr) {
    const am = await r.message(arr.offset, arr.offset + arr.length);
    const shape = (await r.int64s(am.get(1))).map((v) => Number(signedInt64(v)));
    const dt = Number(first(am, 2)?.num ?? 0n);
    return {
      dtype: ARRAY_TYPES[dt] ?? (dt ? `multiArray(${dt})` : "multiArray"),
      shape: shape.length ? shape : null,
    };
  }
  if (m.has(6)) return { dtype: "dictionary", shape: null };
  if (m.has(7)) return { dtype: "sequence", shape: null };
  if (m.has(8)) return { dtype: "state", shape: null };
  return { dtype: null, shape: null };
}

async function features(r: ProtoReader, list: readonly WireField[] | undefined): Promise<TensorSpec[]> {
  const out: TensorSpec[] = [];
  for (const f of list ?? []) {
    const m = await r.message(f.offset, f.offset + f.length);
    const n = first(m, 1);
    out.push({ name: n ? await r.string(n, 4096) : "", ...(await featureType(r, first(m, 3))) });
  }
  return out;
}

/**
 * Finds the model-type field of a Model message and recurses into pipelines, so a customModel or
 * linkedModel hidden as a pipeline stage is still flagged.
 */
async function walkModel(
  r: ProtoReader,
  scan: Scan,
  start: number,
  end: number,
  depth: number,
  path: string,
  types: string[],
): Promise<Map<number, WireField[]>> {
  const m = await r.message(start, end);
  for (const [no, fl] of m) {
    const name = COREML_MODEL_TYPES[no];
    if (!name || !fl[0]) continue;
    const f = fl[0];
    types.push(name);
    const where = `${path}:${name}`;
    if (no === 555) {
      const cm = await r.message(f.offset, f.offset + f.length);
      const cls = first(cm, 10);
      scan.add(
        "HIGH",
        `Core ML customModel requires native class ${JSON.stringify(cls ? truncate(await r.string(cls, 1024), 200) : "?")} to run`,
        where,
      );
    } else if (no === 556) {
      const lm = await r.message(f.offset, f.offset + f.length);
      let file = "?";
      const lf = first(lm, 1);
      if (lf) {
        const lfm = await r.message(lf.offset, lf.offset + lf.length);
        const fn = first(lfm, 1);
        if (fn) {
          const sv = await r.message(fn.offset, fn.offset + fn.length);
          const d = first(sv, 1);
          if (d) file = await r.string(d, 4096);
        }
      }
      scan.add(
        "HIGH",
        `Core ML linkedModel loads another model file from disk (${JSON.stringify(truncate(file, 200))})`,
        where,
      );
    } else if (no >= 200 && no <= 202) {
      if (depth >= scan.limits.maxNestingDepth * 2) {
        scan.incomplete("Incomplete scan: Core ML pipelines nested too deeply", where);
        continue;
      }
      // PipelineClassifier/Regressor{1 pipeline}; Pipeline{1 models}
      let pipe = f;
      if (no !== 202) {
        const pm = await r.message(f.offset, f.offset + f.length);
        const inner = first(pm, 1);
        if (!inner) continue;
        pipe = inner;
      }
      const pm = await r.message(pipe.offset, pipe.offset + pipe.length);
      let i = 0;
      for (const sub of pm.get(1) ?? [])
        await walkModel(
          r,
          scan,
          sub.offset,
          sub.offset + sub.length,
          depth + 1,
          `${where}.models[${i++}]`,
          types,
        );
    }
  }
  return m;
}

export async function inspectCoreMl(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const r = new ProtoReader(src, label, scan);
  const types: string[] = [];
  const m = await walkModel(r, scan, 0, src.size, 0, label, types);
  const spec = first(m, 1);
  const meta: Record<string, unknown> = {
    specificationVersion: spec ? Number(spec.num) : null,
    modelType: types[0] ?? null,
    modelTypes: types,
    isUpdatable: first(m, 10)?.num === 1n,
  };
  let signature = null;
  let producer: Report["producer"] = null;
  const desc = first(m, 2);
  if (desc) {
    const d = await r.message(desc.offset, desc.offset + desc.length);
    signature = { inputs: await features(r, d.get(1)), outputs: await features(r, d.get(10)) };
    const pf = first(d, 11);
    if (pf) meta.predictedFeatureName = await r.string(pf, 4096);
    const md = first(d, 100);
    if (md) {
      const mm = await r.message(md.offset, md.offset + md.length);
      const str = async (no: number) => {
        const f = first(mm, no);
        return f ? truncate(await r.string(f, 65536), 1000) : null;
      };
      const user = dataRecord<string>();
      for (const e of mm.get(100) ?? []) {
        const kv = await r.message(e.offset, e.offset + e.length);
        const k = first(kv, 1);
        const v = first(kv, 2);
        if (k && Object.keys(user).length < 200)
          user[await r.string(k, 1024)] = v ? truncate(await r.string(v, 65536), 1000) : "";
      }
      meta.description = await str(1);
      meta.versionString = await str(2);
      meta.author = await str(3);
      meta.license = await str(4);
      meta.userDefined = user;
      const ctv = user["com.github.apple.coremltools.version"];
      if (ctv) producer = { framework: "coremltools", version: ctv };
      const source = user["com.github.apple.coremltools.source"];
      if (source) meta.convertedFrom = source;
    }
  }
  if (!types.length) scan.add("LOW", "Core ML model names no model type", label);
  return {
    format: "COREML",
    formatVersion: spec ? String(spec.num) : null,
    producer,
    metadata: meta,
    signature,
  };
}
