// The item bounds (../http/itemLimit.ts before execution, ./resolvedItemBound.ts while it runs)
// count objects, not what they hold. A list may repeat one large object: a model's aliases all name
// the same version, so `aliases { modelVersion { tags { key value } } }` answers that version's tags
// once per alias. With 99 aliases on a version holding 1,000 tags of 5 KB (5 MB stored), a query of
// 80 bytes within both bounds (99,099 objects) answered 522 MB of JSON in 10 s, and took 2 GB of
// memory to serialise it; a little more passes V8's longest string and fails as an internal error.
// The result tree shares the repeated strings, so it stays small until it is serialised: this bound
// measures the JSON text a result would become, before it is serialised, and answers one
// RESPONSE_TOO_LARGE error in its place past MAX_RESPONSE_CHARS.
import { GraphQLError } from "graphql";
import type { ExecutionResult } from "graphql";
import { collapseOverBound } from "./resolvedItemBound.ts";

/**
 * Characters of JSON one result may serialise to: 64 Mi, far above a page of 500 versions with
 * their tags, metrics and artifacts, and an eighth of the longest string V8 can build.
 */
export const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;

const CODE = "RESPONSE_TOO_LARGE";

// What JSON.stringify writes escaped: the quote, the backslash, C0 controls (as `\n` or `\u0001`)
// and unpaired surrogate halves (as `\udc00`); a well-formed pair matches too, and is counted as is.
// eslint-disable-next-line no-control-regex
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Strings at least this long are measured once per result however often it repeats them. */
const MEMO_FROM = 256;

/** A string's length in JSON: its quotes, and each escape as JSON.stringify writes it. */
function stringLength(text: string, memo: Map<string, number>): number {
  if (!ESCAPED.test(text)) return text.length + 2;
  const long = text.length >= MEMO_FROM;
  const known = long ? memo.get(text) : undefined;
  if (known !== undefined) return known;
  let length = text.length + 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d)
      length += 1;
    else if (c < 0x20) length += 5;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else length += 5;
    }
  }
  if (long) memo.set(text, length);
  return length;
}

/**
 * The length of `value` as JSON.stringify would write it, escapes included, or a number past
 * `budget` as soon as the count passes it (the rest is not walked). The walk follows the result's
 * depth, which the operation's depth limit bounds.
 */
export function jsonLength(value: unknown, budget: number, memo = new Map<string, number>()): number {
  switch (typeof value) {
    case "string":
      return stringLength(value, memo);
    case "number":
      return digits(value);
    case "bigint":
      return String(value).length;
    case "boolean":
      return value ? 4 : 5;
    case "object":
      break;
    default:
      return 0; // undefined, functions and symbols: left out of objects (see below)
  }
  if (value === null) return 4;
  let total = 1; // the brackets, less the first item's separator
  if (Array.isArray(value)) {
    if (value.length === 0) return 2;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      total += 1 + (item === undefined ? 4 : jsonLength(item, budget - total, memo));
      if (total > budget) return total;
    }
    return total;
  }
  let members = 0;
  // for…in, not Object.keys (an array per object, a quarter of the walk's time): a result's objects
  // are graphql-js's (no prototype) or parsed JSON, whose prototypes hold nothing enumerable.
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const member = record[key];
    if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
    // The separator, the key with its quotes and colon, the value.
    total += 1 + key.length + 3 + jsonLength(member, budget - total, memo);
    members++;
    if (total > budget) return total;
  }
  return members === 0 ? 2 : total;
}

/** Characters of a number in JSON: counted for small integers (most of them), else written. */
function digits(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= 1e9) return Number.isFinite(n) ? String(n).length : 4;
  let length = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) length++;
  return length;
}

/** What a result answers: a query, a mutation, or one event of a subscription. */
export type ResultKind = "query" | "event" | "mutation";

/**
 * A result as it is sent: collapsed by the item bound (./resolvedItemBound.ts: only a result with
 * errors can have been stopped by it), then replaced by RESPONSE_TOO_LARGE past the response bound.
 * `kind` is asked only when one of them answers (finding a document's operation is not free).
 */
export function boundResult(result: ExecutionResult, kind: () => ResultKind): ExecutionResult {
  const collapsed = result.errors === undefined ? result : collapseOverBound(result, kind());
  return exceedsResponseSize(collapsed) ? responseTooLarge(kind()) : collapsed;
}

/** Whether the result's data would serialise past `limit` characters of JSON. */
export const exceedsResponseSize = (result: ExecutionResult, limit: number = MAX_RESPONSE_CHARS): boolean =>
  result.data != null && jsonLength(result.data, limit) > limit;

/**
 * The one RESPONSE_TOO_LARGE error that answers in place of a result past the limit.
 * - A query: without data, with HTTP 400, as the item bounds refuse.
 * - A subscription's event: the same, without a status (it goes over a stream already open).
 * - A mutation: its change was made, so the error says so; the data cannot be sent.
 */
export function responseTooLarge(kind: ResultKind, limit: number = MAX_RESPONSE_CHARS): ExecutionResult {
  const message =
    kind === "mutation"
      ? `The mutation was applied, but its result would be more than ${limit} characters of JSON: read what it changed with a smaller selection`
      : `The result would be more than ${limit} characters of JSON (lists repeating large objects, such as a version's tags under each of its aliases): select fewer fields or smaller pages`;
  const extensions = { code: CODE, limit, ...(kind === "query" ? { http: { status: 400 } } : {}) };
  return { errors: [new GraphQLError(message, { extensions })] };
}
