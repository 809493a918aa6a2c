import { XMLParser } from "fast-xml-parser";
import type { ByteSource } from "./io.ts";
import { truncate } from "./io.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import { MalformedError, type Scan } from "./verdict.ts";

const MODEL_ELEMENTS = [
  "AnomalyDetectionModel",
  "AssociationModel",
  "BayesianNetworkModel",
  "BaselineModel",
  "ClusteringModel",
  "GaussianProcessModel",
  "GeneralRegressionModel",
  "MiningModel",
  "NaiveBayesModel",
  "NearestNeighborModel",
  "NeuralNetwork",
  "RegressionModel",
  "RuleSetModel",
  "SequenceModel",
  "Scorecard",
  "SupportVectorMachineModel",
  "TextModel",
  "TimeSeriesModel",
  "TreeModel",
];

type El = Record<string, unknown>;

const arr = (v: unknown): El[] =>
  Array.isArray(v) ? (v as El[]) : v && typeof v === "object" ? [v as El] : [];
const attr = (e: El | undefined, name: string): string | null => {
  const v = e?.[`@_${name}`];
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
};

/** Cheap root check for sniffing: skips the XML declaration, comments and a DOCTYPE. */
export function looksLikePmml(head: string): boolean {
  const s = head
    .replace(/^\uFEFF/, "")
    .replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/g, "")
    .trimStart();
  return /^<(\w+:)?PMML[\s>]/.test(s);
}

export async function inspectPmml(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  if (src.size > scan.limits.maxMemberBytes)
    throw new MalformedError(
      `PMML document of ${src.size} bytes exceeds the cap of ${scan.limits.maxMemberBytes}`,
      label,
    );
  const raw = (await src.read(0, src.size)).toString("utf8");
  const doctype = /<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/i.exec(raw);
  if (doctype) {
    const external = /<!ENTITY[^>]*\b(SYSTEM|PUBLIC)\b/i.test(doctype[0]);
    const entities = /<!ENTITY/i.test(doctype[0]);
    scan.add(
      external ? "MEDIUM" : "LOW",
      `PMML document declares a DOCTYPE${entities ? ` with ${external ? "external " : ""}entity declarations (XXE attempt?)` : ""}; it is removed and no entity is ever expanded`,
      label,
    );
  }
  // The DOCTYPE is cut out before parsing: no entity, internal or external, can reach the parser.
  const text = doctype ? raw.slice(0, doctype.index) + raw.slice(doctype.index + doctype[0].length) : raw;
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    processEntities: false,
    htmlEntities: false,
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    allowBooleanAttributes: true,
  });
  let doc: El;
  try {
    doc = parser.parse(text) as El;
  } catch (err) {
    throw new MalformedError(
      `PMML is not well-formed XML: ${err instanceof Error ? err.message : String(err)}`,
      label,
    );
  }
  const pmml = arr(doc.PMML)[0];
  if (!pmml) throw new MalformedError("no PMML root element", label);
  const header = arr(pmml.Header)[0];
  const app = arr(header?.Application)[0];
  const dd = arr(pmml.DataDictionary)[0];
  const fields = new Map<string, { optype: string | null; dataType: string | null }>();
  for (const f of arr(dd?.DataField)) {
    const n = attr(f, "name");
    if (n !== null) fields.set(n, { optype: attr(f, "optype"), dataType: attr(f, "dataType") });
  }
  const models: {
    element: string;
    functionName: string | null;
    modelName: string | null;
    algorithmName: string | null;
  }[] = [];
  let main: El | undefined;
  for (const name of MODEL_ELEMENTS) {
    for (const m of arr(pmml[name])) {
      models.push({
        element: name,
        functionName: attr(m, "functionName"),
        modelName: attr(m, "modelName"),
        algorithmName: attr(m, "algorithmName"),
      });
      main ??= m;
    }
  }
  if (!main) scan.add("LOW", "PMML document contains no model element", label);
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const spec = (name: string): TensorSpec => ({
    name,
    dtype: fields.get(name)?.dataType ?? null,
    shape: null,
  });
  for (const mf of arr(arr(main?.MiningSchema)[0]?.MiningField)) {
    const n = attr(mf, "name");
    if (n === null) continue;
    const usage = attr(mf, "usageType") ?? "active";
    if (usage === "active") inputs.push(spec(n));
    else if (usage === "target" || usage === "predicted") outputs.push(spec(n));
  }
  for (const of of arr(arr(main?.Output)[0]?.OutputField)) {
    const n = attr(of, "name");
    if (n !== null) outputs.push({ name: n, dtype: attr(of, "dataType"), shape: null });
  }
  const extensions = text.match(/<(\w+:)?Extension[\s>]/g)?.length ?? 0;
  const version = attr(pmml, "version");
  return {
    format: "PMML",
    formatVersion: version,
    producer: app ? { framework: attr(app, "name"), version: attr(app, "version") } : null,
    metadata: {
      version,
      copyright: attr(header, "copyright"),
      description: attr(header, "description") ? truncate(attr(header, "description")!, 500) : null,
      dataFields: [...fields].slice(0, 1000).map(([name, f]) => ({ name, ...f })),
      models,
      modelElement: models[0]?.element ?? null,
      functionName: models[0]?.functionName ?? null,
      extensionCount: extensions,
    },
    signature: main ? { inputs, outputs } : null,
  };
}
