import type { ByteSource } from "./io.ts";
import { strictUtf8, truncate } from "./io.ts";
import { checkChatTemplate } from "./chatTemplate.ts";
import type { Report } from "./report.ts";
import { MalformedError, type Scan } from "./verdict.ts";

export function isTokenizerJson(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.model === "object" &&
    o.model !== null &&
    typeof (o.model as Record<string, unknown>).type === "string" &&
    Array.isArray(o.added_tokens)
  );
}

export function isTokenizerConfig(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.tokenizer_class === "string" ||
    (typeof o.added_tokens_decoder === "object" && o.added_tokens_decoder !== null)
  );
}

const typeOf = (v: unknown): string | null =>
  v && typeof v === "object" && typeof (v as { type?: unknown }).type === "string"
    ? (v as { type: string }).type
    : null;

export function inspectTokenizerJson(doc: unknown, scan: Scan, label: string, bytes: number): Report {
  const o = doc as Record<string, unknown>;
  if (isTokenizerConfig(o) && !isTokenizerJson(o)) {
    const meta: Record<string, unknown> = {
      kind: "tokenizer_config.json",
      tokenizerClass: typeof o.tokenizer_class === "string" ? o.tokenizer_class : null,
      modelMaxLength: typeof o.model_max_length === "number" ? o.model_max_length : null,
      addedTokensDecoder:
        o.added_tokens_decoder && typeof o.added_tokens_decoder === "object"
          ? Object.keys(o.added_tokens_decoder).length
          : 0,
    };
    const templates: [string, string][] = [];
    if (typeof o.chat_template === "string") templates.push(["chat_template", o.chat_template]);
    else if (Array.isArray(o.chat_template))
      for (const t of o.chat_template as { name?: unknown; template?: unknown }[])
        if (typeof t?.template === "string") templates.push([`chat_template.${String(t.name)}`, t.template]);
    meta.chatTemplates = Object.fromEntries(
      templates.map(([k, t]) => [k, checkChatTemplate(scan, t, `${label}:${k}`)]),
    );
    if (o.auto_map)
      scan.add(
        "MEDIUM",
        "tokenizer_config.json auto_map points at custom Python tokenizer code (trust_remote_code)",
        `${label}:auto_map`,
      );
    return { format: "HF_TOKENIZER", formatVersion: null, producer: null, metadata: meta, signature: null };
  }
  const model = o.model as Record<string, unknown>;
  const vocab = model.vocab;
  const vocabSize = Array.isArray(vocab)
    ? vocab.length
    : vocab && typeof vocab === "object"
      ? Object.keys(vocab).length
      : null;
  const added = (o.added_tokens as { content?: unknown; special?: unknown }[]).filter(
    (t) => t && typeof t === "object",
  );
  return {
    format: "HF_TOKENIZER",
    formatVersion: typeof o.version === "string" ? o.version : null,
    producer: { framework: "tokenizers", version: null },
    metadata: {
      kind: "tokenizer.json",
      bytes,
      modelType: model.type,
      vocabSize,
      mergesCount: Array.isArray(model.merges) ? model.merges.length : null,
      addedTokens: added.length,
      specialTokens: added
        .filter((t) => t.special === true)
        .map((t) => truncate(String(t.content), 100))
        .slice(0, 100),
      normalizer: typeOf(o.normalizer),
      preTokenizer: typeOf(o.pre_tokenizer),
      postProcessor: typeOf(o.post_processor),
      decoder: typeOf(o.decoder),
      unkToken: typeof model.unk_token === "string" ? model.unk_token : null,
    },
    signature: null,
  };
}

const VOCAB_NAME = /(^|\/)(vocab\.txt|merges\.txt|vocab\.(bpe|txt)|[^/]*\.vocab|spiece\.vocab)$/i;

export function vocabularyByName(fileName: string): boolean {
  return VOCAB_NAME.test(fileName);
}

/** Streams the file counting lines; only the first lines are kept. */
export async function inspectVocabulary(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  let lines = 0;
  let lastByte = 0x0a;
  let head = "";
  let maxLine = 0;
  let cur = 0;
  for (let off = 0; off < src.size; off += 1 << 20) {
    scan.checkClock();
    const buf = await src.read(off, 1 << 20);
    if (buf.includes(0))
      throw new MalformedError(
        "vocabulary file contains NUL bytes (binary)",
        `${label}@offset ${off + buf.indexOf(0)}`,
      );
    if (off === 0) {
      head = buf.subarray(0, 4096).toString("utf8");
      if (
        strictUtf8(buf.subarray(0, Math.min(buf.length, 1 << 16))) === null &&
        strictUtf8(buf.subarray(0, Math.min(buf.length, (1 << 16) - 3))) === null
      )
        scan.add("LOW", "vocabulary file is not valid UTF-8", label);
    }
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] === 0x0a) {
        lines++;
        if (cur > maxLine) maxLine = cur;
        cur = 0;
      } else cur++;
    }
    lastByte = buf[buf.length - 1] ?? lastByte;
  }
  if (lastByte !== 0x0a && src.size > 0) lines++;
  const first = head
    .split("\n")
    .slice(0, 5)
    .map((l) => truncate(l.replace(/\r$/, ""), 80))
    .filter((l, i, a) => l !== "" || i < a.length - 1);
  const kind = first[0]?.startsWith("#version")
    ? "bpe-merges"
    : first.every((l) => !l.includes(" "))
      ? "token-per-line"
      : "lines";
  return {
    format: "VOCABULARY",
    formatVersion: null,
    producer: null,
    metadata: {
      kind,
      lineCount: lines,
      entries: kind === "bpe-merges" ? lines - 1 : lines,
      bytes: src.size,
      longestLine: Math.max(maxLine, cur),
      firstLines: first,
    },
    signature: null,
  };
}
