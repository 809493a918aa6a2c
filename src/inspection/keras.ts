import type { ByteSource } from "./io.ts";
import { truncate } from "./io.ts";
import { readRootAttributes } from "./hdf5.ts";
import { classifyImport } from "./pickle.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import type { Scan } from "./verdict.ts";
import type { SafeZip } from "./zip.ts";
import { dataRecord } from "./dataRecord.ts";

const MAX_NODES = 2_000_000;

function isKerasModule(module: string): boolean {
  return (
    module === "keras" ||
    module.startsWith("keras.") ||
    module === "tf_keras" ||
    module.startsWith("tf_keras.") ||
    module.startsWith("tensorflow.keras") ||
    module.startsWith("tensorflow.python.keras")
  );
}

export interface KerasConfigSummary {
  layerCount: number;
  layerClasses: Record<string, number>;
  modelClass: string | null;
  inputs: TensorSpec[];
}

/**
 * Walks the whole config (not just `config.layers`): nested models, wrappers and compile configs
 * can all carry Lambda layers or references to arbitrary Python callables.
 */
export function walkKerasConfig(root: unknown, scan: Scan, where: string): KerasConfigSummary {
  const summary: KerasConfigSummary = {
    layerCount: 0,
    layerClasses: dataRecord(),
    modelClass: null,
    inputs: [],
  };
  let nodes = 0;
  const visit = (v: unknown, path: string, depth: number): void => {
    if (++nodes > MAX_NODES) return;
    if (depth > 200) {
      scan.incomplete("Incomplete scan: Keras config nested too deeply", `${where}:${path}`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${path}[${i}]`, depth + 1));
      return;
    }
    if (typeof v !== "object" || v === null) return;
    const o = v as Record<string, unknown>;
    const cls = typeof o.class_name === "string" ? o.class_name : null;
    const module = typeof o.module === "string" ? o.module : null;
    const loc = `${where}:${path || "$"}`;
    if (cls && typeof o.config === "object" && o.config !== null) {
      const cfg = o.config as Record<string, unknown>;
      if (path === "" && !summary.modelClass) summary.modelClass = cls;
      if (Array.isArray(cfg.layers)) {
        for (const l of cfg.layers) {
          const lc = (l as { class_name?: unknown } | null)?.class_name;
          if (typeof lc === "string") {
            summary.layerCount++;
            summary.layerClasses[lc] = (summary.layerClasses[lc] ?? 0) + 1;
            const lcfg = (l as { config?: Record<string, unknown> }).config;
            const shape = lcfg?.batch_shape ?? lcfg?.batch_input_shape;
            if (lc === "InputLayer" && Array.isArray(shape) && summary.inputs.length < 100)
              summary.inputs.push({
                name: typeof lcfg?.name === "string" ? lcfg.name : "",
                dtype: typeof lcfg?.dtype === "string" ? lcfg.dtype : null,
                shape: shape.map((d) => (typeof d === "number" ? d : "?")),
              });
          }
        }
      }
    }
    if (cls === "Lambda" || cls === "TFOpLambda") {
      const cfg = (o.config ?? {}) as Record<string, unknown>;
      const fn = cfg.function;
      const marshalled =
        Array.isArray(fn) ||
        (typeof fn === "object" && fn !== null && "__lambda__" in fn) ||
        cfg.function_type === "lambda";
      if (cls === "Lambda")
        scan.add(
          "HIGH",
          `Keras Lambda layer${marshalled ? " with serialized Python bytecode" : ""}: runs arbitrary code when loaded without safe_mode`,
          loc,
        );
    }
    if (o.class_name === "__lambda__" || "__lambda__" in o)
      scan.add("HIGH", "Keras __lambda__ object: serialized Python bytecode", loc);
    if (cls === "function") {
      const fname =
        typeof o.config === "string"
          ? o.config
          : typeof o.registered_name === "string"
            ? o.registered_name
            : "?";
      if (module && isKerasModule(module))
        scan.add("LOW", `Keras config references function ${module}.${truncate(fname, 80)}`, loc);
      else if (module && classifyImport(module, fname) === "denied")
        scan.add("CRITICAL", `Keras config calls ${module}.${truncate(fname, 80)}`, loc);
      else
        scan.add(
          "HIGH",
          `Keras config references Python function ${module ?? "?"}.${truncate(fname, 80)} outside keras`,
          loc,
        );
    } else if (module && !isKerasModule(module)) {
      const sev = classifyImport(module, cls ?? "") === "denied" ? "CRITICAL" : "MEDIUM";
      scan.add(
        sev,
        `Keras object ${truncate(module, 100)}.${truncate(cls ?? "?", 80)} comes from a module outside keras (custom code needed to load)`,
        loc,
      );
    }
    for (const [k, x] of Object.entries(o))
      if (typeof x === "object" && x !== null) visit(x, path ? `${path}.${k}` : k, depth + 1);
  };
  visit(root, "", 0);
  if (nodes > MAX_NODES)
    scan.incomplete(`Incomplete scan: Keras config has more than ${MAX_NODES} nodes`, where);
  return summary;
}

function parseJson(text: string, scan: Scan, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    scan.incomplete(
      `Incomplete scan: ${where} is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
      where,
    );
    return null;
  }
}

export async function inspectKerasH5(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const attrs = await readRootAttributes(src, scan, label, scan.limits.maxMemberBytes);
  for (const u of new Set(attrs.unread)) scan.add("LOW", `HDF5: ${u}`, label);
  for (const f of new Set(attrs.failed)) scan.incomplete(`Incomplete scan: HDF5 ${f}`, label);
  const a = attrs.attributes;
  const str = (k: string) => (typeof a[k] === "string" ? a[k] : null);
  const meta: Record<string, unknown> = {
    hdf5SuperblockVersion: attrs.superblockVersion,
    userBlockBytes: attrs.userBlockBytes,
    rootAttributes: Object.keys(a),
    kerasVersion: str("keras_version"),
    backend: str("backend"),
  };
  let signature = null;
  const mc = str("model_config");
  if (mc !== null) {
    const cfg = parseJson(mc, scan, `${label}:model_config`);
    if (cfg !== null) {
      const s = walkKerasConfig(cfg, scan, `${label}:model_config`);
      Object.assign(meta, {
        modelClass: s.modelClass,
        layerCount: s.layerCount,
        layerClasses: s.layerClasses,
      });
      if (s.inputs.length) signature = { inputs: s.inputs, outputs: [] };
    }
  } else meta.weightsOnly = true;
  const tc = str("training_config");
  if (tc !== null) {
    const cfg = parseJson(tc, scan, `${label}:training_config`);
    if (cfg !== null) walkKerasConfig(cfg, scan, `${label}:training_config`);
  }
  // A repeated attribute name: h5py returns one copy (the one above), and every other copy is
  // walked as well, as for a repeated archive member.
  for (const key of ["model_config", "training_config"]) {
    const copies = attrs.copies[key] ?? [];
    if (copies.length < 2) continue;
    scan.add(
      "MEDIUM",
      `HDF5 root attribute ${key} is stored ${copies.length} times; readers may disagree on which one counts`,
      label,
    );
    for (const [i, v] of copies.entries()) {
      if (i === 0 || typeof v !== "string" || v === copies[0]) continue;
      const where = `${label}:${key}#${i + 1}`;
      const cfg = parseJson(v, scan, where);
      if (cfg !== null) walkKerasConfig(cfg, scan, where);
    }
  }
  return {
    format: "KERAS_H5",
    formatVersion: str("keras_version"),
    producer: { framework: "Keras", version: str("keras_version") },
    metadata: meta,
    signature,
  };
}

export async function inspectKerasZip(zip: SafeZip, scan: Scan, label: string): Promise<Report> {
  const meta: Record<string, unknown> = { entries: zip.members.map((m) => m.name).slice(0, 200) };
  let version: string | null = null;
  let signature = null;
  const mj = zip.find("metadata.json");
  if (mj) {
    const m = parseJson(
      (await zip.read(mj, 1 << 20)).toString("utf8"),
      scan,
      `${label}:metadata.json`,
    ) as Record<string, unknown> | null;
    if (m) {
      version = typeof m.keras_version === "string" ? m.keras_version : null;
      meta.kerasVersion = version;
      meta.dateSaved = typeof m.date_saved === "string" ? m.date_saved : null;
    }
  }
  // Keras opens the archive with Python's zipfile, where a repeated name means its last entry. Every
  // copy is walked (a Lambda layer in any of them counts), and the metadata is the last one's.
  const configs = zip.findAll("config.json");
  for (const cj of configs) {
    const cfg = parseJson((await zip.read(cj)).toString("utf8"), scan, `${label}:config.json`);
    if (cfg !== null) {
      // Placed at config.json in a top-level archive (as always), under the archive's own label in a
      // nested one, so a finding says which archive it is in.
      const s = walkKerasConfig(cfg, scan, zip.depth > 0 ? `${label}:config.json` : `config.json`);
      const c = cfg as { module?: unknown; class_name?: unknown };
      Object.assign(meta, {
        module: typeof c.module === "string" ? c.module : null,
        modelClass: typeof c.class_name === "string" ? c.class_name : s.modelClass,
        layerCount: s.layerCount,
        layerClasses: s.layerClasses,
      });
      if (s.inputs.length) signature = { inputs: s.inputs, outputs: [] };
    }
  }
  if (configs.length === 0) scan.add("MEDIUM", ".keras archive has no config.json", label);
  meta.weightsFile = zip.members.find((m) => /^model\.weights\.(h5|npz)$/.test(m.name))?.name ?? null;
  return {
    format: "KERAS",
    formatVersion: version,
    producer: { framework: "Keras", version },
    metadata: meta,
    signature,
  };
}
