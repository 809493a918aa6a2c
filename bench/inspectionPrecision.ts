// `npm run bench -- inspectionPrecision`: the scanner over the real-library corpus
// (test/fixtures/inspection/real, built by its generate.py with scikit-learn, pandas, numpy, scipy,
// xgboost, PyTorch, statsmodels and joblib): benign files flagged, malicious files missed.
// test/inspection/precision.unit.test.ts asserts the same table file by file.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inspectArtifactInProcess, type Verdict } from "../src/inspection/index.ts";

export const CORPUS_DIR = fileURLToPath(new URL("../test/fixtures/inspection/real/", import.meta.url));

interface CorpusEntry {
  library: string;
}

export interface Corpus {
  versions: Record<string, string>;
  benign: Record<string, CorpusEntry>;
  malicious: Record<string, CorpusEntry>;
}

export function readCorpus(): Corpus {
  return JSON.parse(readFileSync(path.join(CORPUS_DIR, "corpus.json"), "utf8")) as Corpus;
}

export interface CorpusCase {
  kind: "benign" | "malicious";
  file: string;
  library: string;
  expected: Verdict;
  /** malicious: the dangerous module.name the gadget calls */
  gadget?: string;
}

export function corpusCases(corpus: Corpus = readCorpus()): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const [file, e] of Object.entries(corpus.benign).sort()) {
    cases.push({ kind: "benign", file, library: e.library, expected: "SAFE" });
  }
  for (const [file, e] of Object.entries(corpus.malicious).sort())
    cases.push({ kind: "malicious", file, library: "malicious", expected: "DANGEROUS", gadget: e.library });
  return cases;
}

export async function inspectCase(c: CorpusCase) {
  return inspectArtifactInProcess(path.join(CORPUS_DIR, c.kind, c.file), c.file);
}

export async function inspectionPrecision(): Promise<Record<string, unknown>> {
  const load = () => Number(os.loadavg()[0]!.toFixed(2));
  const corpus = readCorpus();
  const cases = corpusCases(corpus);
  const perLibrary: Record<string, number> = {};
  const benignFlagged: string[] = [];
  const maliciousMissed: string[] = [];
  let benign = 0;
  let malicious = 0;
  const started = performance.now();
  for (const c of cases) {
    const r = await inspectCase(c);
    if (c.kind === "benign") {
      benign++;
      perLibrary[c.library] = (perLibrary[c.library] ?? 0) + 1;
      if (r.verdict !== "SAFE") benignFlagged.push(`${c.file}: ${r.verdict}`);
    } else {
      malicious++;
      if (r.verdict !== "DANGEROUS") maliciousMissed.push(`${c.file}: ${r.verdict}`);
    }
  }
  const elapsed = performance.now() - started;
  const fig = (value: number, unit: string) => ({ value, unit, loadAverage1m: load() });
  return {
    libraries: corpus.versions,
    benignFiles: fig(benign, "files"),
    benignPerLibrary: perLibrary,
    maliciousFiles: fig(malicious, "files"),
    benignFlagged: fig(benignFlagged.length, "files"),
    maliciousMissed: fig(maliciousMissed.length, "files"),
    flagged: benignFlagged,
    missed: maliciousMissed,
    scanTimePerFile: fig(Number((elapsed / cases.length).toFixed(2)), "ms"),
  };
}
