// The registry's input rules, shared by every command. Each check returns a ValidationError naming
// the field, or null. The limits mirror MLflow's so that scripts written for it keep working.
import { ValidationError } from "./errors.ts";

export const LIMITS = {
  nameMaxLength: 256,
  tagKeyMaxLength: 250,
  tagValueMaxLength: 5000,
  descriptionMaxLength: 65_536,
  sourceMaxLength: 4096,
  runIdMaxLength: 256,
  /** Principal and team ids are UUIDs; anything far longer is not an id. */
  granteeIdMaxLength: 256,
  commentMaxLength: 5000,
  /** A comment on a version (markdown, 64 KiB of UTF-16 code units). */
  commentBodyMaxLength: 65_536,
  /**
   * Edits a comment on a version takes: each keeps a whole body in the log, which `revisions` reads
   * back. Enough to fix any comment; past it, a new comment says what changed.
   */
  maxEditsPerComment: 100,
  /** Live (not deleted) comments a version holds: a discussion, not a log a bot appends to forever. */
  maxCommentsPerVersion: 1000,
  metricNameMaxLength: 250,
  maxTagsPerCommand: 100,
  /** Tags a model, or a version, holds at most: enough for any use, not for a tag per CI run forever. */
  maxTagsPerEntity: 1000,
  /** Aliases a model holds at most. */
  maxAliasesPerModel: 1000,
  maxMetricsPerCommand: 1000,
  paramsMaxBytes: 256 * 1024,
  /** Levels of nested objects and arrays in any JSON input (params): deeper is refused, not walked. */
  jsonMaxDepth: 64,
} as const;

// C0 and C1 control characters, including DEL: matching them is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;
const RESERVED_ALIAS = /^(latest|v\d+)$/i;
// With the `u` flag a well-formed surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Keys that reach JavaScript's object machinery instead of naming data: assigning `obj["__proto__"]`
 * replaces a prototype, and a path through `constructor.prototype` reaches a shared one. Refused
 * wherever a client names a key (tags, metrics, aliases, params, multipart map paths).
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export const isForbiddenKey = (key: string): boolean => FORBIDDEN_KEYS.has(key);

/**
 * Refuses a new key for a map that already holds `max` (a key it holds may still change): what a
 * model and its versions hold is read back whole (tags and aliases have no pagination).
 */
export function checkRoom(
  field: string,
  held: Readonly<Record<string, unknown>>,
  key: string,
  max: number,
  what: string,
): ValidationError | null {
  if (Object.hasOwn(held, key)) return null;
  const count = Object.keys(held).length;
  return count < max
    ? null
    : new ValidationError(field, `${what} already holds ${count}, the most it may: delete one first`);
}

/**
 * Why a text cannot be stored as is, or null. PostgreSQL refuses NUL in text and JSON, and an
 * unpaired UTF-16 surrogate has no UTF-8 form (SQLite would silently replace it): both are refused
 * everywhere, so the two providers give the same answer.
 */
export function unstorableText(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain NUL (U+0000) characters";
  if (LONE_SURROGATE.test(text))
    return "must not contain unpaired UTF-16 surrogates (U+D800 to U+DFFF without their pair)";
  return null;
}

/**
 * An absolute http(s) URL with a host, taken as written: no whitespace or invisible formatting
 * characters, and the scheme's `//` (the URL parser drops surrounding spaces and reads `https:host`
 * as `https://host/`, another URL than the one shown), no credentials (`credentialsHint` says what
 * to use instead), not port 0. The parsed URL, or what is wrong with it. Webhook targets and
 * deployment endpoints both follow it.
 */
export function parseHttpUrl(field: string, url: string, credentialsHint = ""): URL | ValidationError {
  if (/\s/.test(url)) return new ValidationError(field, "must not contain whitespace");
  // Bidirectional overrides, zero-width and other invisible formatting characters make the URL
  // shown differ from the one used (U+202E displays what follows it reversed).
  if (/\p{Cf}/u.test(url))
    return new ValidationError(
      field,
      "must not contain invisible formatting characters (such as U+202E or U+200B); percent-encode them",
    );
  const notHttp = new ValidationError(field, "must be an absolute http:// or https:// URL");
  if (!/^https?:\/\//i.test(url)) return notHttp;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return notHttp;
  }
  if (parsed.username !== "" || parsed.password !== "")
    return new ValidationError(field, `must not carry credentials (user:password@)${credentialsHint}`);
  if (parsed.hostname === "") return new ValidationError(field, "must name a host");
  if (parsed.port === "0") return new ValidationError(field, "must not name port 0");
  return parsed;
}

/**
 * Text the server stores from a source it does not control (a webhook receiver's answer), made
 * storable rather than refused: at most `max` UTF-16 units, never half of a surrogate pair, and NUL
 * (which PostgreSQL's text cannot hold) as U+FFFD.
 */
export function storablePrefix(text: string, max: number): string {
  let end = Math.min(text.length, max);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
  const prefix = end < text.length ? text.slice(0, end) : text;
  return prefix.includes("\u0000") ? prefix.replaceAll("\u0000", "\uFFFD") : prefix;
}

export function checkStorableText(field: string, text: string): ValidationError | null {
  const problem = unstorableText(text);
  return problem === null ? null : new ValidationError(field, problem);
}

function checkKeyName(field: string, key: string): ValidationError | null {
  return isForbiddenKey(key)
    ? new ValidationError(field, `'${key}' is reserved ('__proto__', 'constructor' and 'prototype' are)`)
    : null;
}

export function checkModelName(field: string, name: string): ValidationError | null {
  const unstorable = checkStorableText(field, name);
  if (unstorable) return unstorable;
  if (name.length < 1 || name.length > LIMITS.nameMaxLength)
    return new ValidationError(field, `must be 1 to ${LIMITS.nameMaxLength} characters`);
  if (name.includes("/")) return new ValidationError(field, "must not contain '/'");
  // Browsers and fetch resolve them away in a URL path, even written %2e: /models/.. is the list.
  if (name === "." || name === "..")
    return new ValidationError(field, "must not be '.' or '..' (a URL path cannot name them)");
  if (CONTROL_CHARS.test(name)) return new ValidationError(field, "must not contain control characters");
  if (name.trim() !== name) return new ValidationError(field, "must not start or end with white space");
  return null;
}

export function checkTagKey(field: string, key: string): ValidationError | null {
  const unstorable = checkStorableText(field, key);
  if (unstorable) return unstorable;
  if (key.length < 1 || key.length > LIMITS.tagKeyMaxLength)
    return new ValidationError(field, `must be 1 to ${LIMITS.tagKeyMaxLength} characters`);
  if (CONTROL_CHARS.test(key)) return new ValidationError(field, "must not contain control characters");
  return checkKeyName(field, key);
}

export function checkTagValue(field: string, value: string): ValidationError | null {
  if (value.length > LIMITS.tagValueMaxLength)
    return new ValidationError(field, `must be at most ${LIMITS.tagValueMaxLength} characters`);
  return checkStorableText(field, value);
}

export function checkTags(
  field: string,
  tags: readonly { key: string; value: string }[],
): ValidationError | null {
  if (tags.length > LIMITS.maxTagsPerCommand)
    return new ValidationError(field, `at most ${LIMITS.maxTagsPerCommand} tags at once`);
  const seen = new Set<string>();
  for (const [i, tag] of tags.entries()) {
    const error =
      checkTagKey(`${field}.${i}.key`, tag.key) ?? checkTagValue(`${field}.${i}.value`, tag.value);
    if (error) return error;
    if (seen.has(tag.key)) return new ValidationError(`${field}.${i}.key`, `duplicate tag key '${tag.key}'`);
    seen.add(tag.key);
  }
  return null;
}

export function checkAlias(field: string, alias: string): ValidationError | null {
  if (!ALIAS_PATTERN.test(alias))
    return new ValidationError(field, "must match ^[A-Za-z_][A-Za-z0-9_-]{0,254}$");
  if (RESERVED_ALIAS.test(alias))
    return new ValidationError(field, `'${alias}' is reserved ('latest' and 'v<number>' name versions)`);
  return checkKeyName(field, alias);
}

export function checkDescription(field: string, description: string): ValidationError | null {
  if (description.length > LIMITS.descriptionMaxLength)
    return new ValidationError(field, `must be at most ${LIMITS.descriptionMaxLength} characters`);
  return checkStorableText(field, description);
}

export function checkText(
  field: string,
  text: string,
  maxLength: number,
  required: boolean,
): ValidationError | null {
  if (required && text.length === 0) return new ValidationError(field, "must not be empty");
  if (text.length > maxLength) return new ValidationError(field, `must be at most ${maxLength} characters`);
  return (
    checkStorableText(field, text) ??
    (CONTROL_CHARS.test(text) ? new ValidationError(field, "must not contain control characters") : null)
  );
}

export function checkMetrics(
  field: string,
  metrics: readonly { key: string; value: number }[],
): ValidationError | null {
  if (metrics.length > LIMITS.maxMetricsPerCommand)
    return new ValidationError(field, `at most ${LIMITS.maxMetricsPerCommand} metrics at once`);
  const seen = new Set<string>();
  for (const [i, metric] of metrics.entries()) {
    const keyError =
      checkText(`${field}.${i}.key`, metric.key, LIMITS.metricNameMaxLength, true) ??
      checkKeyName(`${field}.${i}.key`, metric.key);
    if (keyError) return keyError;
    if (!Number.isFinite(metric.value))
      return new ValidationError(`${field}.${i}.value`, "must be a finite number");
    if (seen.has(metric.key))
      return new ValidationError(`${field}.${i}.key`, `duplicate metric '${metric.key}'`);
    seen.add(metric.key);
  }
  return null;
}

/** The dotted path of a member, clipped: the offending key itself may be huge. */
const memberPath = (parent: string, key: string | number) =>
  (parent === "" ? `${key}` : `${parent}.${key}`).slice(0, 512);

const tooDeep = (path: string) =>
  new ValidationError(path, `must not nest objects and arrays more than ${LIMITS.jsonMaxDepth} levels deep`);

/** Whether a value nests objects and arrays more than `limit` levels deep (iterative: any depth is safe). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== "object" || next.value === null) continue;
    if (next.depth >= limit) return true;
    for (const item of Object.values(next.value)) pending.push({ value: item, depth: next.depth + 1 });
  }
  return false;
}

/**
 * Every string anywhere in a client's input, object keys included, must be storable (see
 * unstorableText): one walk covers every text field of every command, present and future.
 * Iterative and depth-bounded (input structure plus a JSON input's own levels).
 */
export function checkTextDeep(field: string, value: unknown): ValidationError | null {
  const maxDepth = LIMITS.jsonMaxDepth + 4;
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: field, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: node, path, depth } = next;
    if (typeof node === "string") {
      const unstorable = checkStorableText(path, node);
      if (unstorable) return unstorable;
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    if (depth >= maxDepth) return tooDeep(path);
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : Object.keys(node).map((key) => [key, (node as Record<string, unknown>)[key]]);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      if (typeof key === "string") {
        const problem = unstorableText(key);
        if (problem !== null) return new ValidationError(path, `keys ${problem}`);
      }
      pending.push({ value: item, path: memberPath(path, key), depth: depth + 1 });
    }
  }
  return null;
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  // GraphQL literals arrive as null-prototype objects, variables as ordinary ones.
  return proto === null || proto === Object.prototype;
};

/**
 * Checks that a value is plain JSON the registry can store and hand back unchanged: null, booleans,
 * finite numbers, storable strings, arrays and plain objects whose keys are storable and not
 * reserved, nested at most `LIMITS.jsonMaxDepth` levels and with at most `maxNodes` values in all.
 * Iterative, so a hostile nesting depth costs one refusal, never a stack overflow.
 */
export function checkJson(field: string, value: unknown, maxNodes: number): ValidationError | null {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: field, depth: 0 }];
  let nodes = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: node, path, depth } = next;
    if (++nodes > maxNodes) return new ValidationError(field, `must hold at most ${maxNodes} values`);
    if (node === null || typeof node === "boolean") continue;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) return new ValidationError(path, "must be a finite number");
      continue;
    }
    if (typeof node === "string") {
      const unstorable = checkStorableText(path, node);
      if (unstorable) return unstorable;
      continue;
    }
    if (typeof node !== "object" || !(Array.isArray(node) || isPlainObject(node)))
      return new ValidationError(path, "must be JSON (null, boolean, number, string, array or object)");
    if (depth >= LIMITS.jsonMaxDepth) return tooDeep(path);
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--)
        pending.push({ value: node[i], path: memberPath(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(node);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const problem = unstorableText(key);
      if (problem !== null) return new ValidationError(path, `keys ${problem}`);
      const reserved = checkKeyName(memberPath(path, key), key);
      if (reserved) return reserved;
      pending.push({
        value: (node as Record<string, unknown>)[key],
        path: memberPath(path, key),
        depth: depth + 1,
      });
    }
  }
  return null;
}

/** Training configuration: any JSON object, bounded in size so one version cannot bloat the log. */
export function checkParams(field: string, params: unknown): ValidationError | null {
  if (typeof params !== "object" || params === null || Array.isArray(params))
    return new ValidationError(field, "must be a JSON object");
  // Every value takes at least one character of JSON: more values than characters cannot fit.
  const invalid = checkJson(field, params, LIMITS.paramsMaxBytes);
  if (invalid) return invalid;
  const size = JSON.stringify(params).length;
  if (size > LIMITS.paramsMaxBytes)
    return new ValidationError(
      field,
      `must serialise to at most ${LIMITS.paramsMaxBytes} characters of JSON`,
    );
  return null;
}

/** The largest version number: the version columns are 32-bit integers on both databases. */
export const MAX_VERSION_NUMBER = 2_147_483_647;

export function checkVersionNumber(field: string, version: number): ValidationError | null {
  if (!Number.isSafeInteger(version) || version < 1)
    return new ValidationError(field, "must be a positive integer");
  // A larger number names no version, and PostgreSQL refuses to even compare it with the column.
  if (version > MAX_VERSION_NUMBER)
    return new ValidationError(field, `must be at most ${MAX_VERSION_NUMBER}`);
  return null;
}

/** Whether a URL path segment is meant as a version number (not a stage or alias): it starts like one. */
export const looksLikeVersionNumber = (segment: string) => /^[+\-.0-9]/.test(segment);

/**
 * A version number as a URL path segment writes it (already percent-decoded): decimal digits without
 * a sign, a leading zero or an exponent, 1 to MAX_VERSION_NUMBER. One spelling per version, so `01`
 * or `1e0` cannot name version 1 beside `1` (caches and logs would see two resources).
 */
export function parseVersionSegment(field: string, segment: string): number | ValidationError {
  const version = /^[1-9][0-9]{0,9}$/.test(segment) ? Number(segment) : Number.NaN;
  return checkVersionNumber(field, version) === null
    ? version
    : new ValidationError(
        field,
        `must be a version number, decimal digits without a sign, a leading zero or an exponent, from 1 to ${MAX_VERSION_NUMBER}`,
      );
}

/** Returns the first error of a list of checks, so a command reports the first broken rule. */
export function firstError(...errors: (ValidationError | null)[]): ValidationError | null {
  return errors.find((e) => e !== null) ?? null;
}
