// Conditional requests (RFC 9110 §13) for every download route: the artifact routes, the read-only
// `_registro/` view of MLflow's artifact proxy (through the same download path) and the proxy's
// staged files. Pure: the request's headers and the representation's validators in, a decision out.
// The headers are client input that reaches the server before anything else, so they are scanned
// by hand in linear time (no pattern that can backtrack), huge or malformed values are never an
// error, and nothing here throws.
import type { IncomingHttpHeaders } from "node:http";

/** What the server knows of the representation it would send. */
export interface Validators {
  /** Its strong entity-tag, quoted: `"<sha256>"`. */
  readonly etag: string;
  /** What it sends as Last-Modified; null when it sends none (date conditions are then ignored). */
  readonly lastModified: Date | null;
}

export type Precondition =
  /** 412: If-Match or If-Unmodified-Since failed (or If-None-Match matched on an unsafe method). */
  | { readonly outcome: "failed"; readonly header: "If-Match" | "If-Unmodified-Since" | "If-None-Match" }
  /** 304: the client's copy is current (If-None-Match, else If-Modified-Since). */
  | { readonly outcome: "not-modified" }
  /** Serve it; `range` says whether a Range header may apply (If-Range absent or matching). */
  | { readonly outcome: "proceed"; readonly range: boolean };

interface EntityTag {
  readonly weak: boolean;
  /** With its quotes. */
  readonly opaque: string;
}

/** The one value of a header; a repeated header Node kept as a list is a comma-separated list. */
const headerValue = (headers: IncomingHttpHeaders, name: string): string | null => {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(", ") : value) ?? null;
};

const isOws = (c: string | undefined) => c === " " || c === "\t";

/**
 * The members of `#entity-tag` that are well formed (`"x"` or `W/"x"`), or "*" for a field that is
 * exactly `*`. Malformed members are dropped (they match nothing). A quoted tag may hold commas, so
 * the list is scanned, not split. Each character is looked at a bounded number of times.
 */
export function parseEntityTags(value: string): "*" | EntityTag[] {
  if (value.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c === "," || isOws(c)) {
      i++;
      continue;
    }
    const weak = value.startsWith("W/", i);
    const open = weak ? i + 2 : i;
    const close = value[open] === '"' ? value.indexOf('"', open + 1) : -1;
    let next = close < 0 ? open : close + 1;
    while (isOws(value[next])) next++;
    if (close >= 0 && (next === value.length || value[next] === ",")) {
      tags.push({ weak, opaque: value.slice(open, close + 1) });
      i = next;
      continue;
    }
    // Malformed: skip to the next member. An unterminated quote ends the list.
    if (value[open] === '"' && close < 0) break;
    const comma = value.indexOf(",", next);
    i = comma < 0 ? value.length : comma + 1;
  }
  return tags;
}

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The number written by `count` ASCII digits at `from`, or null. */
function digitsAt(s: string, from: number, count: number): number | null {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const code = s.charCodeAt(i);
    if (!(code >= 48 && code <= 57)) return null;
    n = n * 10 + code - 48;
  }
  return n;
}

/** `HH:MM:SS` at `from` as milliseconds into the day, or null. */
function timeAt(s: string, from: number): number | null {
  if (s[from + 2] !== ":" || s[from + 5] !== ":") return null;
  const h = digitsAt(s, from, 2);
  const m = digitsAt(s, from + 3, 2);
  const sec = digitsAt(s, from + 6, 2);
  // 60 is a leap second (RFC 9110 §5.6.7).
  if (h === null || m === null || sec === null || h > 23 || m > 59 || sec > 60) return null;
  return ((h * 60 + m) * 60 + sec) * 1000;
}

function dateOf(year: number | null, month: number, day: number | null, time: number | null): number | null {
  if (year === null || month < 0 || day === null || time === null || day < 1) return null;
  const midnight = Date.UTC(year, month, day);
  // Refuses 31 Feb and the like instead of rolling it over into March.
  if (new Date(midnight).getUTCDate() !== day) return null;
  return midnight + time;
}

/**
 * An HTTP-date (RFC 9110 §5.6.7) as milliseconds since the epoch, or null when it is not one:
 * IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete forms recipients must still accept,
 * rfc850-date `Sunday, 06-Nov-94 08:49:37 GMT` and asctime-date `Sun Nov  6 08:49:37 1994`.
 * Date.parse is not used: it takes almost any text ("1") for a date.
 */
export function parseHttpDate(value: string): number | null {
  const s = value.trim();
  if (s.length > 40) return null;
  if (s.length === 29 && s[3] === "," && s[4] === " " && s[7] === " " && s[11] === " " && s[16] === " ") {
    if (!DAYS.includes(s.slice(0, 3)) || s.slice(25) !== " GMT") return null;
    return dateOf(digitsAt(s, 12, 4), MONTHS.indexOf(s.slice(8, 11)), digitsAt(s, 5, 2), timeAt(s, 17));
  }
  if (s.length === 24 && s[3] === " " && s[7] === " " && s[10] === " " && s[19] === " ") {
    if (!DAYS.includes(s.slice(0, 3))) return null;
    const day = s[8] === " " ? digitsAt(s, 9, 1) : digitsAt(s, 8, 2);
    return dateOf(digitsAt(s, 20, 4), MONTHS.indexOf(s.slice(4, 7)), day, timeAt(s, 11));
  }
  const comma = s.indexOf(",");
  const rest = s.slice(comma + 1);
  if (comma > 0 && LONG_DAYS.includes(s.slice(0, comma)) && rest.length === 23) {
    if (rest[0] !== " " || rest[3] !== "-" || rest[7] !== "-" || rest[10] !== " " || !rest.endsWith(" GMT"))
      return null;
    const yy = digitsAt(rest, 8, 2);
    // A two-digit year more than 50 years ahead is in the past (§5.6.7); without a clock, 70 is the
    // pivot, which is that rule until 2020 + 50 and close enough for the dates clients send.
    const year = yy === null ? null : yy < 70 ? 2000 + yy : 1900 + yy;
    return dateOf(year, MONTHS.indexOf(rest.slice(4, 7)), digitsAt(rest, 1, 2), timeAt(rest, 11));
  }
  return null;
}

/** Last-Modified as sent: an HTTP-date has whole seconds. */
const seconds = (date: Date) => Math.floor(date.getTime() / 1000) * 1000;

const strongMatch = (tag: EntityTag, etag: string) => !tag.weak && tag.opaque === etag;
const weakMatch = (tag: EntityTag, etag: string) => tag.opaque === etag;

const anyMatches = (value: string, etag: string, match: (tag: EntityTag, etag: string) => boolean) => {
  const tags = parseEntityTags(value);
  return tags === "*" || tags.some((tag) => match(tag, etag));
};

/**
 * Evaluates the conditional headers of a request on the current representation in the order of
 * RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since;
 * then If-Range. A date that is not an HTTP-date, or a date condition on a representation without
 * Last-Modified, is ignored, as the RFC asks. A route answers a missing resource (404) before this.
 */
export function evaluatePreconditions(
  method: string,
  headers: IncomingHttpHeaders,
  current: Validators,
): Precondition {
  const read = method === "GET" || method === "HEAD";
  const ifMatch = headerValue(headers, "if-match");
  if (ifMatch !== null) {
    // Strong comparison (§13.1.1): a weak tag never vouches for these bytes.
    if (!anyMatches(ifMatch, current.etag, strongMatch)) return { outcome: "failed", header: "If-Match" };
  } else {
    const ifUnmodifiedSince = headerValue(headers, "if-unmodified-since");
    const date = ifUnmodifiedSince === null ? null : parseHttpDate(ifUnmodifiedSince);
    if (date !== null && current.lastModified !== null && seconds(current.lastModified) > date)
      return { outcome: "failed", header: "If-Unmodified-Since" };
  }
  const ifNoneMatch = headerValue(headers, "if-none-match");
  if (ifNoneMatch !== null) {
    // Weak comparison (§13.1.2).
    if (anyMatches(ifNoneMatch, current.etag, weakMatch))
      return read ? { outcome: "not-modified" } : { outcome: "failed", header: "If-None-Match" };
  } else if (read) {
    const ifModifiedSince = headerValue(headers, "if-modified-since");
    const date = ifModifiedSince === null ? null : parseHttpDate(ifModifiedSince);
    if (date !== null && current.lastModified !== null && seconds(current.lastModified) <= date)
      return { outcome: "not-modified" };
  }
  const ifRange = headerValue(headers, "if-range");
  if (!read || ifRange === null || headerValue(headers, "range") === null)
    return { outcome: "proceed", range: read };
  // One entity-tag, compared strongly (§13.1.5). A date never matches: two representations can
  // share a Last-Modified second (a file replaced, an alias moved), so only the ETag is a strong
  // enough validator to splice a resumed download onto.
  const tags = parseEntityTags(ifRange);
  const range = tags !== "*" && tags.length === 1 && strongMatch(tags[0]!, current.etag);
  return { outcome: "proceed", range };
}
