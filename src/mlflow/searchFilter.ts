// MLflow's search filters, as far as Registro speaks them: comparisons joined by AND, on the fields
// a grammar allows (registered models: `name`; model versions: `name`, `run_id`, `source_path`,
// `version_number`) and on `tags.<key>` (plain or backquoted), with =, !=, LIKE and ILIKE against a
// single- or double-quoted string, `IN ('a', 'b')` where the grammar allows it, and <, <=, >, >=
// on numeric fields (`version_number > 3`). A hand-written tokenizer and parser (one pass, no regular
// expression over client text) so hostile input costs linear time; LIKE patterns are matched by a
// bounded wildcard matcher, never compiled to a RegExp.
import { unstorableText } from "../domain/validation.ts";
import { MlflowError } from "./mlflowErrors.ts";

/** Longest filter accepted (MLflow sets none; ours keeps the parser's and matcher's work bounded). */
export const MAX_FILTER_LENGTH = 4096;

/** Most values one `IN (...)` list may hold. */
export const MAX_IN_VALUES = 100;

export type Operator = "=" | "!=" | "LIKE" | "ILIKE" | Ordering;

/** Comparisons only numeric fields take. */
export type Ordering = "<" | "<=" | ">" | ">=";

const ORDERINGS: ReadonlySet<string> = new Set<Ordering>(["<", "<=", ">", ">="]);

export const isOrdering = (op: string): op is Ordering => ORDERINGS.has(op);

export type Field = "name" | "run_id" | "source_path" | "version_number";

export type Comparison =
  | { readonly on: Field; readonly op: Operator; readonly value: string }
  | { readonly on: Field; readonly op: "IN"; readonly values: readonly string[] }
  | { readonly on: "tag"; readonly key: string; readonly op: Operator; readonly value: string };

const FIELDS: readonly Field[] = ["name", "run_id", "source_path", "version_number"];

/** What one search's filter may compare. */
export interface FilterGrammar {
  readonly fields: readonly Field[];
  /** Fields that take `IN ('a', 'b')`. */
  readonly inFields: readonly Field[];
  /** Numeric fields: their value may be an unquoted integer (`version_number = 3`), and they take <, <=, >, >=. */
  readonly numberFields: readonly Field[];
  /** What is searched, for messages ("registered models"). */
  readonly what: string;
}

export const MODEL_FILTER: FilterGrammar = {
  fields: ["name"],
  inFields: [],
  numberFields: [],
  what: "registered models",
};

export const VERSION_FILTER: FilterGrammar = {
  fields: FIELDS,
  inFields: ["run_id"],
  numberFields: ["version_number"],
  what: "model versions",
};

type Token =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "tag"; readonly key: string }
  | { readonly kind: "string"; readonly text: string }
  | { readonly kind: "op"; readonly text: "=" | "!=" | Ordering }
  | { readonly kind: "punct"; readonly text: "(" | ")" | "," };

const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

const isWordChar = (c: string) =>
  (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_" || c === ".";

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";

/** Reads a quoted run starting at `start` (the opening quote); returns its text and the index after it. */
function quoted(input: string, start: number, what: string): [string, number] {
  const quote = input[start]!;
  const end = input.indexOf(quote, start + 1);
  if (end < 0) throw invalid(`Invalid filter: unterminated ${what} starting at position ${start}`);
  return [input.slice(start + 1, end), end + 1];
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (isSpace(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      const [text, next] = quoted(input, i, "string");
      tokens.push({ kind: "string", text });
      i = next;
    } else if (c === "=") {
      tokens.push({ kind: "op", text: "=" });
      i++;
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else if (c === "!" && input[i + 1] === "=") {
      tokens.push({ kind: "op", text: "!=" });
      i += 2;
    } else if (c === "<" || c === ">") {
      const orEqual = input[i + 1] === "=";
      tokens.push({ kind: "op", text: orEqual ? (c === "<" ? "<=" : ">=") : c });
      i += orEqual ? 2 : 1;
    } else if (c === "`") {
      // `tags.key` written wholly in backquotes.
      const [text, next] = quoted(input, i, "backquoted identifier");
      tokens.push(identifierToken(text, true));
      i = next;
    } else if (isWordChar(c)) {
      let end = i;
      while (end < input.length && isWordChar(input[end]!)) end++;
      const word = input.slice(i, end);
      const lower = word.toLowerCase();
      if ((lower === "tags." || lower === "tag.") && input[end] === "`") {
        const [key, next] = quoted(input, end, "backquoted tag key");
        tokens.push({ kind: "tag", key });
        i = next;
      } else {
        tokens.push(identifierToken(word, false));
        i = end;
      }
    } else {
      throw invalid(`Invalid filter: unexpected character '${c}' at position ${i}`);
    }
  }
  return tokens;
}

function identifierToken(text: string, backquoted: boolean): Token {
  const dot = text.indexOf(".");
  const prefix = dot < 0 ? "" : text.slice(0, dot).toLowerCase();
  if (prefix === "tags" || prefix === "tag") {
    const key = text.slice(dot + 1);
    if (key === "") throw invalid("Invalid filter: a tag comparison needs a key after 'tags.'");
    return { kind: "tag", key };
  }
  // A backquoted identifier is a field or nothing (never AND, never an operator).
  if (backquoted) {
    const field = FIELDS.find((f) => f === text.toLowerCase());
    return { kind: "word", text: field ?? `\`${text}\`` };
  }
  return { kind: "word", text };
}

const OPERATOR_WORDS = new Set(["LIKE", "ILIKE"]);

export function parseFilter(filter: string, grammar: FilterGrammar = MODEL_FILTER): Comparison[] {
  if (filter.length > MAX_FILTER_LENGTH)
    throw invalid(`Invalid filter: longer than ${MAX_FILTER_LENGTH} characters`);
  const tokens = tokenize(filter);
  const comparisons: Comparison[] = [];
  let i = 0;
  const describe = (t: Token | undefined) =>
    t === undefined ? "the end of the filter" : t.kind === "tag" ? `tags.${t.key}` : `'${t.text}'`;
  const subjects = [...grammar.fields.map((f) => `'${f}'`), "'tags.<key>'"];
  const expectedSubjects = `${subjects.slice(0, -1).join(", ")} or ${subjects.at(-1)!}`;
  while (i < tokens.length) {
    if (comparisons.length > 0) {
      const and = tokens[i];
      if (and?.kind !== "word" || and.text.toUpperCase() !== "AND")
        throw invalid(`Invalid filter: expected AND, found ${describe(and)}`);
      i++;
    }
    const subject = tokens[i++];
    const field =
      subject?.kind === "word" ? grammar.fields.find((f) => f === subject.text.toLowerCase()) : undefined;
    let on: { on: Field } | { on: "tag"; key: string };
    if (subject?.kind === "tag") on = { on: "tag", key: subject.key };
    else if (field !== undefined) on = { on: field };
    else
      throw invalid(
        `Invalid filter: expected ${expectedSubjects}, found ${describe(subject)} (only these are searchable on ${grammar.what})`,
      );
    const opToken = tokens[i++];
    const opWord = opToken?.kind === "word" ? opToken.text.toUpperCase() : "";
    if (opWord === "IN" && on.on !== "tag" && grammar.inFields.includes(on.on)) {
      const values = inList(tokens, i, describe);
      i = values.next;
      comparisons.push({ on: on.on, op: "IN", values: values.values });
      continue;
    }
    const isNumeric = on.on !== "tag" && grammar.numberFields.includes(on.on);
    let op: Operator;
    if (opToken?.kind === "op") op = opToken.text;
    else if (OPERATOR_WORDS.has(opWord)) op = opWord as Operator;
    else
      throw invalid(
        `Invalid filter: expected one of =, !=, ${isNumeric ? "<, <=, >, >=" : "LIKE, ILIKE"}${on.on !== "tag" && grammar.inFields.includes(on.on) ? ", IN" : ""}, found ${describe(opToken)}`,
      );
    // As MLflow: numbers are ordered, not pattern-matched; text is pattern-matched, not ordered.
    if (isOrdering(op) && !isNumeric)
      throw invalid(
        `Invalid filter: ${on.on === "tag" ? "a tag" : on.on} is text and takes =, !=, LIKE or ILIKE, not ${op}`,
      );
    if ((op === "LIKE" || op === "ILIKE") && isNumeric)
      throw invalid(`Invalid filter: ${on.on} is a number and takes =, !=, <, <=, >, >=, not ${op}`);
    const value = tokens[i++];
    const numeric = value?.kind === "word" && isNumeric && /^[0-9]{1,15}$/.test(value.text);
    if (value?.kind !== "string" && !numeric)
      throw invalid(`Invalid filter: expected a quoted string, found ${describe(value)}`);
    comparisons.push({ ...on, op, value: value.text });
  }
  return comparisons;
}

/** Reads `('a', 'b', ...)` starting at `start`; at most MAX_IN_VALUES strings. */
function inList(
  tokens: readonly Token[],
  start: number,
  describe: (t: Token | undefined) => string,
): { values: string[]; next: number } {
  let i = start;
  const open = tokens[i++];
  if (open?.kind !== "punct" || open.text !== "(")
    throw invalid(`Invalid filter: expected '(' after IN, found ${describe(open)}`);
  const values: string[] = [];
  for (;;) {
    const value = tokens[i++];
    if (value?.kind !== "string")
      throw invalid(`Invalid filter: expected a quoted string in IN (...), found ${describe(value)}`);
    values.push(value.text);
    if (values.length > MAX_IN_VALUES)
      throw invalid(`Invalid filter: an IN list holds at most ${MAX_IN_VALUES} values`);
    const after = tokens[i++];
    if (after?.kind === "punct" && after.text === ")") return { values, next: i };
    if (after?.kind !== "punct" || after.text !== ",")
      throw invalid(`Invalid filter: expected ',' or ')' in IN (...), found ${describe(after)}`);
  }
}

/**
 * The matching work one search may do: LIKE costs up to pattern length times text length per model,
 * so a search over many models with long tag values is bounded as a whole, not per match.
 */
export class MatchBudget {
  constructor(private remaining: number) {}

  spend(steps: number): void {
    this.remaining -= steps;
    if (this.remaining < 0)
      throw invalid("Invalid filter: its LIKE patterns are too costly to match; use shorter patterns");
  }
}

/** Matching steps one search may spend (tens of milliseconds of work). */
export const SEARCH_MATCH_STEPS = 20_000_000;

/**
 * SQL LIKE: `%` any run, `_` one character (code point), everything else itself. Greedy with one
 * backtrack point per `%`, so the work is at most pattern length times text length.
 */
export function likeMatches(pattern: string, text: string, budget?: MatchBudget): boolean {
  const p = Array.from(pattern);
  const t = Array.from(text);
  let pi = 0;
  let ti = 0;
  let star = -1;
  let starText = 0;
  let steps = 0;
  while (ti < t.length) {
    if (++steps === 4096) {
      budget?.spend(steps);
      steps = 0;
    }
    if (pi < p.length && p[pi] !== "%" && (p[pi] === "_" || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "%") {
      star = pi++;
      starText = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++starText;
    } else {
      return false;
    }
  }
  budget?.spend(steps);
  while (pi < p.length && p[pi] === "%") pi++;
  return pi === p.length;
}

function holds(op: Operator, pattern: string, actual: string, budget?: MatchBudget): boolean {
  switch (op) {
    case "=":
      return actual === pattern;
    case "!=":
      return actual !== pattern;
    case "LIKE":
      return likeMatches(pattern, actual, budget);
    case "ILIKE":
      return likeMatches(pattern.toLowerCase(), actual.toLowerCase(), budget);
    // Only numeric fields are ordered, and their values are checked integers (at most 15 digits).
    case "<":
      return Number(actual) < Number(pattern);
    case "<=":
      return Number(actual) <= Number(pattern);
    case ">":
      return Number(actual) > Number(pattern);
    case ">=":
      return Number(actual) >= Number(pattern);
  }
}

/** Whether a row matches every comparison; a tag comparison needs the tag to be set. */
export function rowMatches(
  comparisons: readonly Comparison[],
  row: {
    readonly fields: Readonly<Partial<Record<Field, string | null>>>;
    readonly tags: ReadonlyMap<string, string>;
  },
  budget?: MatchBudget,
): boolean {
  return comparisons.every((c) => {
    if (c.on === "tag") {
      const value = row.tags.get(c.key);
      return value !== undefined && holds(c.op, c.value, value, budget);
    }
    // A field the row does not have (a version without a run) matches no comparison, as in SQL.
    const actual = row.fields[c.on];
    if (actual === undefined || actual === null) return false;
    return c.op === "IN" ? c.values.includes(actual) : holds(c.op, c.value, actual, budget);
  });
}

/** Whether a model matches every comparison; a tag comparison needs the tag to be set. */
export function modelMatches(
  comparisons: readonly Comparison[],
  model: { readonly name: string; readonly tags: ReadonlyMap<string, string> },
  budget?: MatchBudget,
): boolean {
  return rowMatches(comparisons, { fields: { name: model.name }, tags: model.tags }, budget);
}

export type Equality =
  | { readonly on: Field; readonly value: string }
  | { readonly on: "tag"; readonly key: string; readonly value: string };

/**
 * The `=` comparisons a database query can narrow by before every comparison is checked in the
 * server. A text the database cannot hold (NUL) matches nothing stored, so it is checked here only.
 */
export function storableEqualities(comparisons: readonly Comparison[]): Equality[] {
  return comparisons.flatMap((c): Equality[] =>
    c.op !== "=" || unstorableText(c.value) !== null || (c.on === "tag" && unstorableText(c.key) !== null)
      ? []
      : [c],
  );
}
