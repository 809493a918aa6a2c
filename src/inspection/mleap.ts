import { truncate } from "./io.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import type { Scan } from "./verdict.ts";
import type { SafeZip } from "./zip.ts";

interface NodeInfo {
  name: string;
  op: string | null;
  inputs: string[];
  outputs: string[];
}

function ports(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((p) =>
      p && typeof p === "object" && typeof (p as { name?: unknown }).name === "string"
        ? (p as { name: string }).name
        : null,
    )
    .filter((x): x is string => x !== null);
}

/** `nodes` is `{s: [...]}` in current bundles and `{type, value: [...]}` in MLeap < 0.9. */
function childNames(model: Record<string, unknown>): string[] {
  const nodes = (model.attributes as Record<string, unknown> | undefined)?.nodes as
    Record<string, unknown> | undefined;
  const list = nodes?.s ?? nodes?.value;
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
}

export async function inspectMleap(zip: SafeZip, prefix: string, scan: Scan, label: string): Promise<Report> {
  const json = async (name: string): Promise<Record<string, unknown> | null> => {
    const m = zip.find(`${prefix}${name}`);
    if (!m) return null;
    try {
      const v = JSON.parse((await zip.read(m, 16 << 20)).toString("utf8")) as unknown;
      return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      scan.incomplete(`Incomplete scan: ${name} is not valid JSON`, `${label}:${prefix}${name}`);
      return null;
    }
  };
  const bundle = (await json("bundle.json")) ?? {};
  const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);
  const meta: Record<string, unknown> = {
    uid: str(bundle.uid),
    name: str(bundle.name),
    format: str(bundle.format),
    version: str(bundle.version),
    timestamp: str(bundle.timestamp),
  };
  if (str(bundle.format)?.includes("protobuf")) {
    scan.add(
      "LOW",
      "MLeap bundle uses the protobuf serialization; the pipeline graph is not read, so no signature",
      label,
    );
    return {
      format: "MLEAP",
      formatVersion: str(bundle.version),
      producer: { framework: "MLeap", version: str(bundle.version) },
      metadata: meta,
      signature: null,
    };
  }
  const stages: NodeInfo[] = [];
  const visit = async (dir: string, name: string, depth: number): Promise<void> => {
    if (stages.length > 5000) return;
    if (depth > scan.limits.maxNestingDepth * 4) {
      scan.incomplete("Incomplete scan: MLeap pipeline nested too deeply", `${label}:${dir}`);
      return;
    }
    const model = await json(`${dir}model.json`);
    const node = await json(`${dir}node.json`);
    const op = model ? str(model.op) : null;
    const children = model ? childNames(model) : [];
    if (op === "pipeline" || children.length) {
      for (const c of children) {
        if (c.includes("/") || c.includes("..") || c.includes("\\")) {
          scan.add(
            "HIGH",
            `MLeap child node name ${JSON.stringify(truncate(c, 100))} escapes the bundle`,
            `${label}:${dir}model.json`,
          );
          continue;
        }
        await visit(`${dir}${c}.node/`, c, depth + 1);
      }
    } else {
      const shape = (node?.shape ?? {}) as Record<string, unknown>;
      stages.push({
        name: str(node?.name) ?? name,
        op,
        inputs: ports(shape.inputs),
        outputs: ports(shape.outputs),
      });
    }
  };
  await visit("root/", "root", 0);
  const rootModel = await json("root/model.json");
  const produced = new Set(stages.flatMap((s) => s.outputs));
  const consumed = new Set(stages.flatMap((s) => s.inputs));
  const inputs: TensorSpec[] = [...new Set(stages.flatMap((s) => s.inputs))]
    .filter((n) => !produced.has(n))
    .map((name) => ({ name, dtype: null, shape: null }));
  const outputs: TensorSpec[] = [...new Set(stages.flatMap((s) => s.outputs))]
    .filter((n) => !consumed.has(n))
    .map((name) => ({ name, dtype: null, shape: null }));
  meta.rootOp = rootModel ? str(rootModel.op) : null;
  meta.stages = stages.slice(0, 500).map((s) => ({ name: s.name, op: s.op }));
  return {
    format: "MLEAP",
    formatVersion: str(bundle.version),
    producer: { framework: "MLeap", version: str(bundle.version) },
    metadata: meta,
    signature: stages.length ? { inputs, outputs } : null,
  };
}
