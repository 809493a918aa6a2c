// What the registry records about an artifact's content after inspecting it: its format, a summary,
// the model signature it declares, and a safety verdict with findings. Plain data: inspection itself
// (parsing untrusted bytes) happens outside the domain, in src/inspection.
import { isForbiddenKey } from "./validation.ts";

export const VERDICTS = ["SAFE", "SUSPICIOUS", "DANGEROUS", "UNSCANNABLE"] as const;
export type Verdict = (typeof VERDICTS)[number];

export const SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  readonly severity: Severity;
  readonly message: string;
  /** Where in the file, e.g. `data.pkl@offset 1234` or `config.json:layers[3]`. */
  readonly location: string | null;
}

export interface TensorSpec {
  readonly name: string;
  readonly dtype: string | null;
  /** Dimensions; symbolic ones (batch, seq_len) are strings. */
  readonly shape: readonly (number | string)[] | null;
}

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface Producer {
  readonly framework: string | null;
  readonly version: string | null;
}

/** The recorded outcome of inspecting one artifact. */
export interface ArtifactInspection {
  /** One of the formats src/inspection recognises (ONNX, PICKLE, …, UNKNOWN). */
  readonly format: string;
  readonly formatVersion: string | null;
  readonly producer: Producer | null;
  readonly metadata: Record<string, unknown>;
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
}

/** Verdicts that block promotion to Production and aliasing unless overridden with a reason. */
export const BLOCKING_VERDICTS: readonly Verdict[] = ["DANGEROUS", "UNSCANNABLE"];

/** Where a version's signature came from. A user-set signature wins over an inspected one. */
export const SIGNATURE_SOURCES = ["INSPECTION", "USER"] as const;
export type SignatureSource = (typeof SIGNATURE_SOURCES)[number];

/** A version's signature as recorded: the tensors, who provided them, and (for inspection) which file. */
export interface VersionSignature extends Signature {
  readonly source: SignatureSource;
  /** The artifact the signature was extracted from (INSPECTION), or null (USER). */
  readonly path: string | null;
}

/** What an inspection adds to the artifact's record: the outcome, the signature found, and who inspected. */
export interface InspectionOutcome extends ArtifactInspection {
  readonly signature: Signature | null;
  readonly inspector: { readonly version: string };
}

/** Bounds on what one inspection may store in the log, so a hostile file cannot bloat it. */
export const INSPECTION_LIMITS = {
  maxFindings: 100,
  findingMessageMaxLength: 2000,
  findingLocationMaxLength: 1000,
  /** Serialised JSON characters of `metadata`. */
  metadataMaxChars: 64 * 1024,
  formatMaxLength: 64,
  shortTextMaxLength: 256,
} as const;

/** Bounds on a signature (user-set ones are refused beyond them; inspected ones are then not recorded). */
export const SIGNATURE_LIMITS = {
  maxTensors: 1000,
  nameMaxLength: 256,
  dtypeMaxLength: 64,
  maxDims: 64,
  symbolMaxLength: 128,
} as const;

export const isBlockingVerdict = (verdict: Verdict | null): boolean =>
  verdict === null || BLOCKING_VERDICTS.includes(verdict);

const SEVERITY_ORDER: Record<Severity, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, INFO: 4 };

/** Cuts a text to `max` characters with an ellipsis, never between the two halves of a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
const clipOrNull = (text: string | null, max: number) => (text === null ? null : clip(text, max));

// NUL and unpaired surrogates (see unstorableText in validation.ts).
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|\p{Cs}/gu;

/**
 * Text read from a file is what the file says, not a client's input to refuse: what a database
 * cannot store (NUL, unpaired surrogates) becomes U+FFFD, so the finding is kept, visibly marked.
 */
const storable = (text: string) => text.replace(UNSTORABLE, "\ufffd");
const storableOrNull = (text: string | null) => (text === null ? null : storable(text));

/** Depth at which a file's summary is cut (the parsers nest far less; this bounds hostile input). */
const METADATA_MAX_DEPTH = 32;

/**
 * A file's summary as plain, storable JSON: strings and keys made storable, keys that would reach
 * JavaScript's object machinery (`__proto__`, `constructor`, `prototype`) renamed to `[key]` so
 * they survive a round trip through the log as data, non-finite numbers as null, bigints as text,
 * and nesting cut at METADATA_MAX_DEPTH. Objects are built with defining operations only.
 */
export function storableMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const convert = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return storable(value);
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "boolean" || value === null) return value;
    if (typeof value !== "object") return null;
    if (depth >= METADATA_MAX_DEPTH) return "[nested too deep]";
    if (Array.isArray(value)) return value.map((item) => convert(item, depth + 1));
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined && typeof item !== "function" && typeof item !== "symbol")
        .map(([key, item]) => {
          const name = storable(key);
          return [isForbiddenKey(name) ? `[${name}]` : name, convert(item, depth + 1)];
        }),
    );
  };
  return convert(metadata, 0) as Record<string, unknown>;
}

/**
 * Shrinks a JSON value: long strings are clipped, long arrays cut, deep nesting replaced, so the
 * summary keeps its shape while its size stays proportional to the limits, not to the file.
 */
function shrink(value: unknown, depth: number, budget: { strings: number; items: number }): unknown {
  if (typeof value === "string") return clip(value, budget.strings);
  if (value === null || typeof value !== "object")
    return typeof value === "number" && !Number.isFinite(value) ? null : value;
  if (depth >= 8) return "[nested too deep]";
  if (Array.isArray(value)) {
    const kept = value.slice(0, budget.items).map((v) => shrink(v, depth + 1, budget));
    return value.length > budget.items ? [...kept, `[${value.length - budget.items} more]`] : kept;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const kept = entries
    .slice(0, budget.items)
    .map(([k, v]) => [clip(k, budget.strings), shrink(v, depth + 1, budget)]);
  if (entries.length > budget.items) kept.push(["[truncated]", `${entries.length - budget.items} more keys`]);
  return Object.fromEntries(kept);
}

/**
 * Fits a format summary into `metadataMaxChars` of JSON. Tries progressively tighter shrinking; as a
 * last resort keeps only the small top-level keys. A `truncated` note says that it happened.
 */
export function boundMetadata(
  metadata: Record<string, unknown>,
  maxChars: number = INSPECTION_LIMITS.metadataMaxChars,
): Record<string, unknown> {
  const size = (v: unknown) => JSON.stringify(v).length;
  const original = size(metadata);
  if (original <= maxChars) return metadata;
  const note = { truncated: { originalChars: original, limitChars: maxChars } };
  for (const budget of [
    { strings: 4096, items: 1000 },
    { strings: 1024, items: 200 },
    { strings: 256, items: 50 },
    { strings: 64, items: 10 },
  ]) {
    const candidate = { ...(shrink(metadata, 0, budget) as Record<string, unknown>), ...note };
    if (size(candidate) <= maxChars) return candidate;
  }
  const kept = Object.entries(metadata)
    .slice(0, 50)
    .map(([key, value]) => [clip(key, 64), shrink(value, 6, { strings: 64, items: 5 })] as const)
    .filter(([, shrunk]) => size(shrunk) <= 1024);
  const small = { ...Object.fromEntries(kept), ...note };
  return size(small) <= maxChars ? small : note;
}

/** Caps the findings: the most severe first are kept, and a final note counts the rest. */
export function boundFindings(
  findings: readonly Finding[],
  max: number = INSPECTION_LIMITS.maxFindings,
): Finding[] {
  const clipped = findings.map((f) => ({
    severity: f.severity,
    message: storable(clip(f.message, INSPECTION_LIMITS.findingMessageMaxLength)),
    location: storableOrNull(clipOrNull(f.location, INSPECTION_LIMITS.findingLocationMaxLength)),
  }));
  if (clipped.length <= max) return clipped;
  // Keep the worst ones (stable within a severity, so file order survives), then restore file order.
  const ranked = clipped
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i);
  const kept = ranked
    .slice(0, max - 1)
    .sort((a, b) => a.i - b.i)
    .map((r) => r.f);
  kept.push({
    severity: "INFO",
    message: `${clipped.length - kept.length} more findings were omitted (at most ${max} are recorded)`,
    location: null,
  });
  return kept;
}

/** Checks a signature against SIGNATURE_LIMITS; returns the offending field path and reason, or null. */
export function signatureProblem(signature: Signature): { field: string; message: string } | null {
  for (const side of ["inputs", "outputs"] as const) {
    const tensors = signature[side];
    if (tensors.length > SIGNATURE_LIMITS.maxTensors)
      return { field: side, message: `at most ${SIGNATURE_LIMITS.maxTensors} tensors` };
    const seen = new Set<string>();
    for (const [i, t] of tensors.entries()) {
      const at = `${side}.${i}`;
      if (t.name.trim().length === 0) return { field: `${at}.name`, message: "must not be empty" };
      if (t.name.length > SIGNATURE_LIMITS.nameMaxLength)
        return {
          field: `${at}.name`,
          message: `must be at most ${SIGNATURE_LIMITS.nameMaxLength} characters`,
        };
      if (seen.has(t.name)) return { field: `${at}.name`, message: `duplicate tensor name '${t.name}'` };
      seen.add(t.name);
      if (t.dtype !== null && (t.dtype.length === 0 || t.dtype.length > SIGNATURE_LIMITS.dtypeMaxLength))
        return {
          field: `${at}.dtype`,
          message: `must be 1 to ${SIGNATURE_LIMITS.dtypeMaxLength} characters`,
        };
      if (t.shape === null) continue;
      if (t.shape.length > SIGNATURE_LIMITS.maxDims)
        return { field: `${at}.shape`, message: `at most ${SIGNATURE_LIMITS.maxDims} dimensions` };
      for (const [d, dim] of t.shape.entries()) {
        if (
          typeof dim === "number"
            ? !Number.isSafeInteger(dim) || dim < 0
            : dim.length === 0 || dim.length > SIGNATURE_LIMITS.symbolMaxLength
        )
          return {
            field: `${at}.shape.${d}`,
            message: `must be a non-negative integer or a symbol of 1 to ${SIGNATURE_LIMITS.symbolMaxLength} characters`,
          };
      }
    }
  }
  return null;
}

/**
 * Parsers report what the file says: an unknown dimension may come as -1, a dtype as "". Those become
 * the symbol "?" and null, and long texts are clipped; what still breaks the limits is not recorded.
 */
function normaliseInspectedSignature(signature: Signature): Signature {
  const tensor = (t: TensorSpec): TensorSpec => ({
    name: storable(clip(t.name, SIGNATURE_LIMITS.nameMaxLength)),
    dtype:
      t.dtype === null || t.dtype === "" ? null : storable(clip(t.dtype, SIGNATURE_LIMITS.dtypeMaxLength)),
    shape:
      t.shape === null
        ? null
        : t.shape.map((d) =>
            typeof d === "number"
              ? Number.isSafeInteger(d) && d >= 0
                ? d
                : "?"
              : d === ""
                ? "?"
                : storable(clip(d, SIGNATURE_LIMITS.symbolMaxLength)),
          ),
  });
  return { inputs: signature.inputs.map(tensor), outputs: signature.outputs.map(tensor) };
}

/**
 * Applies the storage bounds to an inspection outcome (pure; the decider calls it before recording):
 * sizes are bounded and every text made storable, since it all comes from an untrusted file.
 */
export function boundInspection(outcome: InspectionOutcome): InspectionOutcome {
  const normalised = outcome.signature === null ? null : normaliseInspectedSignature(outcome.signature);
  const signature = normalised !== null && signatureProblem(normalised) === null ? normalised : null;
  const short = (text: string | null) =>
    storableOrNull(clipOrNull(text, INSPECTION_LIMITS.shortTextMaxLength));
  return {
    format: storable(clip(outcome.format, INSPECTION_LIMITS.formatMaxLength)),
    formatVersion: short(outcome.formatVersion),
    producer:
      outcome.producer === null
        ? null
        : { framework: short(outcome.producer.framework), version: short(outcome.producer.version) },
    metadata: boundMetadata(storableMetadata(outcome.metadata)),
    verdict: outcome.verdict,
    findings: boundFindings(outcome.findings),
    signature,
    inspector: { version: storable(clip(outcome.inspector.version, INSPECTION_LIMITS.shortTextMaxLength)) },
  };
}

/** Structural equality of two signatures (same tensors in the same order). */
export function sameSignature(a: Signature, b: Signature): boolean {
  const key = (s: Signature) =>
    JSON.stringify([
      s.inputs.map((t) => [t.name, t.dtype, t.shape]),
      s.outputs.map((t) => [t.name, t.dtype, t.shape]),
    ]);
  return key(a) === key(b);
}
