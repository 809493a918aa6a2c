// Consistency across a version's artifacts: checks no single file can make on its own, computed
// from what inspection recorded about each file (format, metadata) and the artifact list (paths,
// sizes). Pure: the version's artifacts in, findings out. Stale inspections that lack a metadata
// field simply skip the checks that need it.
import type { Finding } from "../domain/inspection.ts";

export interface ArtifactFacts {
  readonly path: string;
  readonly size: number;
  /** Recorded format (ONNX, SAFETENSORS, …), null before inspection. */
  readonly format: string | null;
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/** Token-embedding matrices as exporters name them (not position or token-type embeddings). */
export const EMBEDDING_NAME =
  /(^|[./:])(embed_tokens|word_embeddings|tok_embeddings|token_embeddings?|wte|shared|embed_in)(\.weight)?$/i;

const MAX_FINDINGS = 100;

/** POSIX join + normalise of a path relative to a directory of the version; null if it leaves the version. */
export function resolveWithin(dir: string, rel: string): string | null {
  if (rel === "" || rel.startsWith("/") || rel.includes("\\") || rel.includes("\0") || /^[A-Za-z]:/.test(rel))
    return null;
  const parts = dir === "" ? [] : dir.split("/");
  for (const seg of rel.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join("/");
}

const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | null =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;

function onnxExternalData(
  a: ArtifactFacts,
  byPath: ReadonlyMap<string, ArtifactFacts>,
  out: Finding[],
): void {
  const m = a.metadata ?? {};
  const dir = dirOf(a.path);
  // externalData (offset/length per tensor) when recorded; otherwise just the locations
  const entries = Array.isArray(m.externalData)
    ? m.externalData.filter(isRecord)
    : arr(m.externalDataLocations).map((location) => ({
        location,
        tensor: null,
        offset: null,
        length: null,
      }));
  const reportedMissing = new Set<string>();
  for (const e of entries) {
    if (typeof e.location !== "string") continue;
    const where = `${a.path}${typeof e.tensor === "string" ? `:initializer ${e.tensor}` : ""}`;
    const target = resolveWithin(dir, e.location);
    if (target === null) {
      out.push({
        severity: "MEDIUM",
        message: `ONNX external data ${JSON.stringify(e.location)} is not a path inside this version: the model cannot be loaded from it`,
        location: where,
      });
      continue;
    }
    const file = byPath.get(target);
    if (!file) {
      if (reportedMissing.has(target)) continue;
      reportedMissing.add(target);
      out.push({
        severity: "MEDIUM",
        message: `ONNX external data file ${JSON.stringify(target)} is not among this version's artifacts: upload it next to ${baseOf(a.path)}`,
        location: where,
      });
      continue;
    }
    const offset = num(e.offset) ?? 0;
    const length = num(e.length);
    const end = offset + (length ?? 0);
    if (offset > file.size || end > file.size)
      out.push({
        severity: "MEDIUM",
        message: `ONNX external data for this tensor spans bytes ${offset}–${end} of ${JSON.stringify(target)}, which has only ${file.size} bytes (truncated or wrong file)`,
        location: where,
      });
  }
}

const VAR_OPS = ["VarHandleOp", "VariableV2", "Variable", "RestoreV2", "ReadVariableOp"];

function savedModelVariables(
  a: ArtifactFacts,
  byPath: ReadonlyMap<string, ArtifactFacts>,
  out: Finding[],
): void {
  const dir = dirOf(a.path);
  const vdir = dir === "" ? "variables/" : `${dir}/variables/`;
  const index = byPath.has(`${vdir}variables.index`);
  const shards = new Map<number, Set<number>>(); // total → shard numbers present
  for (const p of byPath.keys()) {
    if (!p.startsWith(vdir)) continue;
    const m = /^variables\.data-(\d{5})-of-(\d{5})$/.exec(p.slice(vdir.length));
    if (!m) continue;
    const total = Number(m[2]);
    if (!shards.has(total)) shards.set(total, new Set());
    shards.get(total)!.add(Number(m[1]));
  }
  const ops = isRecord(a.metadata?.opTypes) ? a.metadata.opTypes : {};
  const usesVariables = VAR_OPS.some((op) => op in ops);
  const where = a.path;
  if (!index && shards.size === 0) {
    if (usesVariables)
      out.push({
        severity: "MEDIUM",
        message: `SavedModel graph reads variables but ${vdir}variables.index and its data shards are not among this version's artifacts: upload the whole SavedModel directory`,
        location: where,
      });
    return;
  }
  if (!index)
    out.push({
      severity: "MEDIUM",
      message: `SavedModel variable data shards without ${vdir}variables.index: TensorFlow cannot restore the variables`,
      location: where,
    });
  if (shards.size === 0)
    out.push({
      severity: "MEDIUM",
      message: `SavedModel has ${vdir}variables.index but no variables.data-NNNNN-of-NNNNN shard`,
      location: where,
    });
  if (shards.size > 1)
    out.push({
      severity: "MEDIUM",
      message: `SavedModel variable shards disagree on their count (${[...shards.keys()].map((n) => `of-${String(n).padStart(5, "0")}`).join(", ")}): two checkpoints mixed`,
      location: where,
    });
  for (const [total, present] of shards) {
    const missing: string[] = [];
    for (let i = 0; i < total && missing.length < 10; i++)
      if (!present.has(i))
        missing.push(`variables.data-${String(i).padStart(5, "0")}-of-${String(total).padStart(5, "0")}`);
    if (missing.length)
      out.push({
        severity: "MEDIUM",
        message: `SavedModel variable shards missing from ${vdir}: ${missing.join(", ")}`,
        location: where,
      });
  }
}

interface Vocab {
  size: number;
  where: string;
}

function vocabularies(artifacts: readonly ArtifactFacts[]): Vocab[] {
  const out: Vocab[] = [];
  for (const a of artifacts) {
    const m = a.metadata ?? {};
    // tokenizer.json: the model's own vocabulary (added tokens may or may not extend it, so they
    // are left out: the count is a lower bound and never makes a false alarm)
    if (a.format === "HF_TOKENIZER" && m.kind === "tokenizer.json" && num(m.vocabSize))
      out.push({ size: num(m.vocabSize)!, where: a.path });
    if (
      a.format === "VOCABULARY" &&
      baseOf(a.path) === "vocab.txt" &&
      m.kind === "token-per-line" &&
      num(m.entries)
    )
      out.push({ size: num(m.entries)!, where: a.path });
  }
  return out;
}

interface Embedding {
  rows: number;
  where: string;
}

function embeddings(artifacts: readonly ArtifactFacts[]): Embedding[] {
  const out: Embedding[] = [];
  for (const a of artifacts) {
    const m = a.metadata ?? {};
    const list =
      a.format === "SAFETENSORS"
        ? Array.isArray(m.embeddings)
          ? m.embeddings
          : arr(m.tensors)
        : a.format === "ONNX"
          ? arr(m.embeddings)
          : [];
    for (const t of list) {
      if (!isRecord(t) || typeof t.name !== "string" || !EMBEDDING_NAME.test(t.name)) continue;
      const shape = arr(t.shape);
      const rows = num(shape[0]);
      if (shape.length === 2 && rows) out.push({ rows, where: `${a.path}:${t.name}` });
    }
  }
  return out;
}

function vocabularyFitsEmbeddings(artifacts: readonly ArtifactFacts[], out: Finding[]): void {
  const vocabs = vocabularies(artifacts);
  const embeds = embeddings(artifacts);
  if (!vocabs.length || !embeds.length) return;
  for (const v of vocabs)
    for (const e of embeds)
      if (v.size > e.rows)
        out.push({
          severity: "MEDIUM",
          message: `Tokenizer ${v.where} has ${v.size} tokens but embedding ${e.where} has only ${e.rows} rows: token ids ≥ ${e.rows} would index past the matrix (tokenizer from another model?)`,
          location: v.where,
        });
}

/** Findings about the version as a whole, in a stable order (at most 100). */
export function versionConsistency(artifacts: readonly ArtifactFacts[]): Finding[] {
  const byPath = new Map(artifacts.map((a) => [a.path, a]));
  const out: Finding[] = [];
  const sorted = [...artifacts].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  for (const a of sorted) {
    if (a.format === "ONNX") onnxExternalData(a, byPath, out);
    if (a.format === "TF_SAVEDMODEL" && baseOf(a.path) === "saved_model.pb")
      savedModelVariables(a, byPath, out);
  }
  vocabularyFitsEmbeddings(sorted, out);
  return out.slice(0, MAX_FINDINGS);
}
