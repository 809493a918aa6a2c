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

const DOCTYPE = "<!DOCTYPE";
const isSpace = (char: string | undefined) => char !== undefined && /\s/.test(char);

/**
 * Where a DOCTYPE declaration starting at `start` ends: after its `>`, or past its internal subset
 * `[…]` when it has one (after the first `]` that `>` follows, whitespace between); the text's end
 * when it is left open, so nothing after it reaches the parser. Scanned by hand in one pass: the
 * regular expression for it (`<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>`) backtracked in the square of an
 * open declaration's length, 4.5 s for a 60 KB file.
 */
function doctypeEnd(text: string, start: number): number {
  let at = start + DOCTYPE.length;
  while (at < text.length && text[at] !== "[" && text[at] !== ">") at++;
  if (text[at] === ">") return at + 1;
  for (let close = text.indexOf("]", at); close >= 0; close = text.indexOf("]", close + 1)) {
    let after = close + 1;
    while (isSpace(text[after])) after++;
    if (text[after] === ">") return after + 1;
  }
  return text.length;
}

/**
 * The text of each `<!ENTITY` declaration in a DOCTYPE: up to its `>`, the next declaration or the
 * end, whichever comes first. Each stretch is read once (`<!ENTITY[^>]*\bSYSTEM\b` on a DOCTYPE of
 * declarations left open took seconds).
 */
function entityDeclarations(doctype: string): string[] {
  const starts = [...doctype.matchAll(/<!ENTITY/gi)].map((m) => m.index);
  let close = doctype.indexOf(">");
  return starts.map((start, i) => {
    if (close >= 0 && close < start) close = doctype.indexOf(">", start);
    const next = starts[i + 1] ?? doctype.length;
    return doctype.slice(start, close < 0 ? next : Math.min(close, next));
  });
}

/** Cheap root check for sniffing: skips the XML declaration, comments and a DOCTYPE. */
export function looksLikePmml(head: string): boolean {
  let at = head.startsWith("\uFEFF") ? 1 : 0;
  for (;;) {
    while (isSpace(head[at])) at++;
    const [opening, closing] = head.startsWith("<?", at)
      ? ["<?", "?>"]
      : head.startsWith("<!--", at)
        ? ["<!--", "-->"]
        : [null, null];
    if (opening !== null) {
      const end = head.indexOf(closing, at + opening.length);
      if (end < 0) return false;
      at = end + closing.length;
    } else if (head.slice(at, at + DOCTYPE.length).toUpperCase() === DOCTYPE) at = doctypeEnd(head, at);
    else break;
  }
  const root = /<(\w+:)?PMML[\s>]/y;
  root.lastIndex = at;
  return root.test(head);
}

export async function inspectPmml(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  if (src.size > scan.limits.maxMemberBytes)
    throw new MalformedError(
      `PMML document of ${src.size} bytes exceeds the cap of ${scan.limits.maxMemberBytes}`,
      label,
    );
  const raw = (await src.read(0, src.size)).toString("utf8");
  const start = raw.search(/<!DOCTYPE/i);
  const doctype = start < 0 ? null : raw.slice(start, doctypeEnd(raw, start));
  if (doctype !== null) {
    const declarations = entityDeclarations(doctype);
    const external = declarations.some((declaration) => /\b(SYSTEM|PUBLIC)\b/i.test(declaration));
    const entities = declarations.length > 0;
    scan.add(
      external ? "MEDIUM" : "LOW",
      `PMML document declares a DOCTYPE${entities ? ` with ${external ? "external " : ""}entity declarations (XXE attempt?)` : ""}; it is removed and no entity is ever expanded`,
      label,
    );
  }
  // The DOCTYPE is cut out before parsing: no entity, internal or external, can reach the parser.
  const text = doctype === null ? raw : raw.slice(0, start) + raw.slice(start + doctype.length);
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
