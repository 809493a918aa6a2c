import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CORPUS_DIR,
  corpusCases,
  inspectCase,
  readCorpus,
  type CorpusCase,
} from "../../bench/inspectionPrecision.ts";
import { ALLOW_LISTS } from "../../src/inspection/allowList.ts";
import { classifyImport } from "../../src/inspection/pickle.ts";

/**
 * The real-library corpus (test/fixtures/inspection/real, written by scikit-learn, pandas, numpy,
 * scipy, xgboost, PyTorch, statsmodels and joblib themselves): every benign file SAFE, every
 * malicious one DANGEROUS with a CRITICAL finding naming its gadget. The summary line is the
 * precision report (`npm run bench -- inspectionPrecision` records the same figures).
 */
const corpus = readCorpus();
const cases = corpusCases(corpus);
const flagged: string[] = [];
const missed: string[] = [];

describe("inspection precision over the real-library corpus", () => {
  it("has at least 40 benign files from at least 6 libraries and 20 malicious ones", () => {
    const benign = cases.filter((c) => c.kind === "benign");
    expect(benign.length).toBeGreaterThanOrEqual(40);
    expect(new Set(benign.map((c) => c.library)).size).toBeGreaterThanOrEqual(6);
    expect(cases.filter((c) => c.kind === "malicious").length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.map((c) => [c.kind, c.file, c] as const))("%s %s", async (_k, _f, c: CorpusCase) => {
    const r = await inspectCase(c);
    const text = r.findings.map((f) => `${f.severity} ${f.message}`).join("\n");
    if (c.kind === "benign" && c.expected === "SAFE" && r.verdict !== "SAFE") flagged.push(c.file);
    if (c.kind === "malicious" && r.verdict !== "DANGEROUS") missed.push(c.file);
    expect({ verdict: r.verdict, findings: text }).toMatchObject({ verdict: c.expected });
    if (c.gadget) {
      const [mod, ...rest] = c.gadget.split(".");
      const name = rest.pop()!;
      const module = [mod, ...rest].join(".");
      expect(text).toContain(`CRITICAL Dangerous pickle import ${module}.${name}`);
    }
  });

  afterAll(() => {
    const benign = cases.filter((c) => c.kind === "benign" && c.expected === "SAFE").length;
    const malicious = cases.filter((c) => c.kind === "malicious").length;
    console.log(
      `inspection precision: ${flagged.length}/${benign} benign files flagged, ${missed.length}/${malicious} malicious files missed` +
        `${flagged.length ? `; flagged: ${flagged.join(", ")}` : ""}${missed.length ? `; missed: ${missed.join(", ")}` : ""}`,
    );
  });
});

describe("the allow-list covers what the libraries write", () => {
  const imports = JSON.parse(readFileSync(path.join(CORPUS_DIR, "imports.json"), "utf8")) as Record<
    string,
    string[]
  >;
  const all = [...new Set(Object.values(imports).flat())].sort();

  /** Denied by rule; accepted only where the scanner can walk what it loads (walkTorchBlobs). */
  const CONDITIONAL = new Set(["torch.storage._load_from_bytes"]);

  it.each(all)("%s", (full) => {
    const file = Object.keys(imports).find((f) => imports[f]!.includes(full))!;
    const torchScript = /^torch_(scripted|traced)/.test(file);
    const cut = full.lastIndexOf(".");
    expect(classifyImport(full.slice(0, cut), full.slice(cut + 1), { torchScript })).toBe(
      CONDITIONAL.has(full) ? "denied" : "allowed",
    );
  });
});

describe("docs/inspection.md documents the allow-list", () => {
  // prettier pads table cells: compare with runs of spaces collapsed
  const doc = readFileSync(new URL("../../docs/inspection.md", import.meta.url), "utf8").replace(/ +/g, " ");
  it.each(ALLOW_LISTS.map((l) => [l.library, l] as const))("%s", (_name, l) => {
    expect(doc).toContain(`| ${l.library} | ${l.versions} |`);
    for (const [module, names] of Object.entries(l.names)) {
      expect(doc).toContain(`\`${module}\`: ${names.map((n) => `\`${n}\``).join(", ")}`);
    }
    for (const r of l.classRoots ?? []) expect(doc).toContain(`\`${r}.*\``);
  });
});
