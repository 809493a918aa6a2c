// Chat templates (GGUF's tokenizer.chat_template, tokenizer_config.json's chat_template) are Jinja
// that a serving stack renders. Registro never renders one: it reads it as hostile text and flags
// what reaches Python through the template engine.
import { truncate } from "./io.ts";
import type { Scan } from "./verdict.ts";

/** Markers of Jinja server-side template injection: a chat template has no business with these. */
const TEMPLATE_RED_FLAGS =
  /__(class|mro|subclasses|globals|builtins|import|init|base|bases|getattribute|code)__|\bos\.(system|popen)|\bsubprocess\b|\beval\s*\(|\bexec\s*\(|\bimport\s+os\b|\blipsum\b|\bcycler\b|\bjoiner\b|\bnamespace\.__|\|attr\s*\(/;

/** Shared by GGUF and tokenizer_config.json: the template is only ever treated as text. */
export function checkChatTemplate(scan: Scan, template: string, where: string): Record<string, unknown> {
  const m = TEMPLATE_RED_FLAGS.exec(template);
  const found = m ? { text: m[0], why: null } : templateInjection(template);
  if (found === "malformed")
    scan.add(
      "MEDIUM",
      "Chat template is not well-formed Jinja (an unterminated tag or string, or brackets nested too deeply), so it could not be checked for template injection",
      where,
    );
  else if (found)
    scan.add(
      "HIGH",
      `Chat template contains ${JSON.stringify(truncate(found.text, 80))}${found.why ? ` (${found.why})` : ""}, a template-injection pattern`,
      where,
    );
  else scan.add("INFO", "Chat template present; treated as untrusted text and never rendered", where);
  return { chars: template.length, preview: truncate(template, 200) };
}

/**
 * A template rendered by an unsandboxed jinja2.Environment reaches Python through attribute access:
 * `.name`, `x[key]` (which falls back to getattr), `|attr(name)` and the filters that take an
 * attribute name. The red-flag list above only sees names spelled out in full; these checks read
 * the template's expressions token by token so a name built at render time (`'__cla' ~ 'ss__'`) is
 * caught at the place it is used. Real chat templates index with literals and loop counters and
 * never touch underscore names, so they pass. One linear pass, no regular expression: the file is
 * hostile.
 */
type Token = { kind: "name" | "string" | "number" | "op"; text: string; value: string | null };
type Injection = { text: string; why: string | null } | "malformed" | null;

const MAX_BRACKET_DEPTH = 64;
/** Attributes that reach frames, code and the class hierarchy without an underscore. */
const DANGEROUS_ATTRIBUTES = new Set([
  "mro",
  "gi_frame",
  "gi_code",
  "ag_frame",
  "ag_code",
  "cr_frame",
  "cr_code",
  "f_globals",
  "f_locals",
  "f_builtins",
  "f_back",
  "f_code",
  "tb_frame",
  "tb_next",
  "co_code",
  "func_globals",
  "func_code",
  "im_func",
  "im_self",
  "im_class",
  "format_map",
]);
/** Filters whose first argument is an attribute name, and those that take `attribute=`. */
const ATTRIBUTE_FIRST = new Set(["selectattr", "rejectattr", "groupby", "sum"]);
const ATTRIBUTE_KEYWORD = new Set([
  "map",
  "selectattr",
  "rejectattr",
  "groupby",
  "sum",
  "sort",
  "unique",
  "min",
  "max",
]);
/** Loop counters and filters that always give an integer: the only non-literal subscript keys allowed. */
const LOOP_INTEGERS = new Set(["index", "index0", "revindex", "revindex0", "length", "depth", "depth0"]);
const INTEGER_FILTERS = new Set(["length", "count", "int", "abs"]);
/** After these keywords `[` opens a list literal, not a subscript. */
const KEYWORDS = new Set(["in", "and", "or", "not", "is", "if", "else", "elif", "for", "set", "with", "do"]);
const LOADING_STATEMENTS = new Set(["include", "import", "extends", "from"]);
const ARITHMETIC = new Set(["+", "-", "*", "/", "%"]);

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isNameChar = (c: number) =>
  isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;

function templateInjection(s: string): Injection {
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf("{", i);
    if (open < 0 || open + 1 >= s.length) return null;
    const kind = s[open + 1];
    if (kind === "#") {
      const close = s.indexOf("#}", open + 2);
      if (close < 0) return "malformed";
      i = close + 2;
      continue;
    }
    if (kind !== "{" && kind !== "%") {
      i = open + 1;
      continue;
    }
    const region = lexRegion(s, open + 2, kind === "{" ? "}}" : "%}");
    if (region === null) return "malformed";
    const found = checkRegion(region.tokens, kind === "%");
    if (found) return found;
    i = region.end;
    const words = region.tokens.filter((t) => t.kind !== "op");
    if (kind === "%" && words.length === 1 && words[0]!.text === "raw") {
      const end = endOfRaw(s, i);
      if (end < 0) return "malformed";
      i = end;
    }
  }
  return null;
}

/** Where the text after `{% raw %}` resumes: past the next `{% endraw %}` (with -/+ markers), or -1. */
function endOfRaw(s: string, from: number): number {
  let i = from;
  for (;;) {
    const open = s.indexOf("{%", i);
    if (open < 0) return -1;
    let j = open + 2;
    if (s[j] === "-" || s[j] === "+") j++;
    while (j < s.length && isSpace(s.charCodeAt(j))) j++;
    if (s.startsWith("endraw", j)) {
      j += 6;
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      if (s[j] === "-" || s[j] === "+") j++;
      if (s.startsWith("%}", j)) return j + 2;
    }
    i = open + 2;
  }
}

/** Tokens of one `{{ … }}` or `{% … %}`, ending (as Jinja's lexer does) only outside brackets. */
function lexRegion(s: string, from: number, end: string): { tokens: Token[]; end: number } | null {
  const tokens: Token[] = [];
  let depth = 0;
  let i = from;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (depth === 0 && s.startsWith(end, i)) return { tokens, end: i + 2 };
    const start = i;
    if (isNameChar(c)) {
      while (
        i < s.length &&
        (isNameChar(s.charCodeAt(i)) || (s[i] === "." && isDigit(c) && isDigit(s.charCodeAt(i + 1))))
      )
        i++;
      const text = s.slice(start, i);
      tokens.push({ kind: isDigit(c) ? "number" : "name", text, value: null });
      continue;
    }
    if (c === 0x27 || c === 0x22) {
      i++;
      while (i < s.length && s.charCodeAt(i) !== c) i += s[i] === "\\" ? 2 : 1;
      if (i >= s.length) return null;
      i++;
      const text = s.slice(start, i);
      tokens.push({ kind: "string", text, value: unescape(text.slice(1, -1)) });
      continue;
    }
    if (c === 0x28 || c === 0x5b || c === 0x7b) {
      if (++depth > MAX_BRACKET_DEPTH) return null;
    } else if ((c === 0x29 || c === 0x5d || c === 0x7d) && depth > 0) depth--;
    tokens.push({ kind: "op", text: s[i]!, value: null });
    i++;
  }
  return null;
}

/** A Jinja string literal's value (Python escapes); null for `\N{…}`, whose name could be anything. */
function unescape(body: string): string | null {
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\" || i + 1 >= body.length) {
      out += ch;
      continue;
    }
    const e = body[++i]!;
    const hex = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (hex) {
      const code = Number.parseInt(body.slice(i + 1, i + 1 + hex), 16);
      out += Number.isNaN(code) || code > 0x10ffff ? `\\${e}` : String.fromCodePoint(code);
      i += hex;
    } else if (e >= "0" && e <= "7") {
      let n = 0;
      let k = 0;
      while (k < 3 && body[i + k]! >= "0" && body[i + k]! <= "7") n = n * 8 + Number(body[i + k++]);
      out += String.fromCharCode(n);
      i += k - 1;
    } else if (e === "N") return null;
    else out += { n: "\n", t: "\t", r: "\r" }[e] ?? e;
  }
  return out;
}

/** A name Jinja's getattr must never be handed: underscore names, frame/code attributes, any dotted part of them. */
const badAttribute = (name: string) =>
  name.split(".").some((part) => part.startsWith("_") || DANGEROUS_ATTRIBUTES.has(part));

function checkRegion(t: Token[], statement: boolean): Injection {
  const close = matchBrackets(t);
  const head = t.find((x) => x.text !== "-" && x.text !== "+");
  if (statement && head?.kind === "name" && LOADING_STATEMENTS.has(head.text))
    return { text: `{% ${head.text}`, why: "loads another template" };
  for (let j = 0; j < t.length; j++) {
    const tok = t[j]!;
    const prev = t[j - 1];
    if (tok.kind === "name" || tok.kind === "number") {
      if (tok.text.startsWith("_") || tok.text.includes("__"))
        return { text: tok.text, why: 'a name starting with "_"' };
      if (tok.kind === "number") continue;
      if (prev?.text === ".") {
        if (DANGEROUS_ATTRIBUTES.has(tok.text)) return { text: `.${tok.text}`, why: null };
        if (tok.text === "format" && t[j - 2]?.kind !== "string")
          return { text: ".format", why: "str.format on a computed string reads attributes" };
      }
      const filter = prev?.text === "|" || (statement && prev === head && prev?.text === "filter");
      if (filter && tok.text === "attr") return { text: "|attr", why: null };
      if (filter && t[j + 1]?.text === "(") {
        const bad = checkAttributeArguments(t, j, close);
        if (bad) return bad;
      }
    } else if (tok.kind === "string") {
      const v = tok.value;
      if (v === null) return { text: tok.text, why: "a \\N{…} escape" };
      if (v.startsWith("_") || v.includes("__") || v.includes("._") || v === "attr")
        return { text: tok.text, why: 'a string naming an attribute starting with "_"' };
    } else if (tok.text === "[" && isSubscript(prev)) {
      const key = t.slice(j + 1, close[j]);
      const text = () => `[${key.map((k) => k.text).join("")}]`;
      const literal = key.length === 1 && key[0]!.kind === "string" ? key[0]!.value : null;
      if (literal !== null && badAttribute(literal))
        return { text: text(), why: "a subscript naming a private attribute" };
      if (literal === null && !subscriptKeyIsPlain(key, close, j + 1))
        return { text: text(), why: "a subscript key that is not a plain literal" };
    }
  }
  return null;
}

/** Index of the bracket closing each opening one (or the end of the region when unclosed). */
function matchBrackets(t: Token[]): number[] {
  const close = new Array<number>(t.length).fill(t.length);
  const open: number[] = [];
  t.forEach((tok, j) => {
    if (tok.text === "(" || tok.text === "[" || tok.text === "{") open.push(j);
    else if (tok.text === ")" || tok.text === "]" || tok.text === "}") {
      const o = open.pop();
      if (o !== undefined) close[o] = j;
    }
  });
  return close;
}

const isSubscript = (prev: Token | undefined) =>
  prev !== undefined &&
  ((prev.kind === "name" && !KEYWORDS.has(prev.text)) ||
    prev.kind === "string" ||
    prev.kind === "number" ||
    prev.text === ")" ||
    prev.text === "]" ||
    prev.text === "}");

/** `name(…)` after `|`: an attribute-name argument must be one plain string literal. */
function checkAttributeArguments(t: Token[], j: number, close: number[]): Injection {
  const name = t[j]!.text;
  if (!ATTRIBUTE_KEYWORD.has(name)) return null;
  const end = close[j + 1]!;
  let argStart = j + 2;
  let position = 0;
  for (let k = argStart; k <= end; k++) {
    const tok = t[k];
    if (k < end && tok?.text !== ",") {
      if (tok?.text === "(" || tok?.text === "[" || tok?.text === "{") k = close[k]!;
      continue;
    }
    const arg = t.slice(argStart, k);
    const keyword = arg[0]?.kind === "name" && arg[1]?.text === "=" ? arg[0].text : null;
    const value = keyword ? arg.slice(2) : arg;
    if (keyword === "attribute" || (keyword === null && position === 0 && ATTRIBUTE_FIRST.has(name))) {
      const lit = value.length === 1 && value[0]!.kind === "string" ? value[0]!.value : null;
      if (lit === null || badAttribute(lit))
        return {
          text: `|${name}(${arg.map((a) => a.text).join("")})`,
          why: "an attribute name that is not a plain literal",
        };
    }
    if (keyword === null) position++;
    argStart = k + 1;
  }
  return null;
}

/**
 * A subscript key is plain when each slice part is empty, one literal, or integer arithmetic over
 * numbers, loop counters (`loop.index0 - 1`) and `…|length`. A string built at render time is not.
 */
function subscriptKeyIsPlain(key: Token[], close: number[], offset: number): boolean {
  let part: Token[] = [];
  let partStart = offset;
  const parts: [Token[], number][] = [];
  for (let k = 0; k < key.length; k++) {
    const tok = key[k]!;
    if (tok.text === ":") {
      parts.push([part, partStart]);
      part = [];
      partStart = offset + k + 1;
      continue;
    }
    part.push(tok);
    if (tok.text === "(" || tok.text === "[" || tok.text === "{") {
      const to = close[offset + k]! - offset;
      part.push(...key.slice(k + 1, to + 1));
      k = to;
    }
  }
  parts.push([part, partStart]);
  return parts.every(([p, at]) => {
    if (p.length === 0) return true;
    if (p.length === 1 && p[0]!.kind === "string") return p[0]!.value !== null && !badAttribute(p[0]!.value);
    return integerExpression(p, 0, p.length, close, at) === p.length;
  });
}

/** Parses `operand (op operand)*` over p[from, to); returns where it stopped (to when all of it is integer arithmetic). */
function integerExpression(p: Token[], from: number, to: number, close: number[], at: number): number {
  let i = integerOperand(p, from, to, close, at);
  while (i > 0 && i < to && ARITHMETIC.has(p[i]!.text)) {
    i++;
    if (i < to && (p[i]!.text === "/" || p[i]!.text === "*")) i++;
    i = integerOperand(p, i, to, close, at);
  }
  return i;
}

function integerOperand(p: Token[], from: number, to: number, close: number[], at: number): number {
  let i = from;
  if (i < to && (p[i]!.text === "-" || p[i]!.text === "+")) i++;
  if (i >= to) return -1;
  let integer = false;
  const tok = p[i]!;
  if (tok.kind === "number") {
    integer = true;
    i++;
  } else if (tok.text === "(") {
    const end = close[at + i]! - at;
    if (end >= to || integerExpression(p, i + 1, end, close, at) !== end) return -1;
    integer = true;
    i = end + 1;
  } else if (tok.kind === "name") {
    const path = [tok.text];
    i++;
    while (i + 1 < to && p[i]!.text === "." && p[i + 1]!.kind === "name") {
      path.push(p[i + 1]!.text);
      i += 2;
    }
    integer = path.length === 2 && path[0] === "loop" && LOOP_INTEGERS.has(path[1]!);
  } else return -1;
  while (i + 1 < to && p[i]!.text === "|" && INTEGER_FILTERS.has(p[i + 1]!.text)) {
    integer = true;
    i += 2;
  }
  return integer ? i : -1;
}
