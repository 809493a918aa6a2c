// Case-insensitive substring search in names and descriptions. Prisma turns `contains` into LIKE
// and passes the client's text through unescaped, and its SQLite queries carry no ESCAPE clause, so
// escaping cannot work there: a `%` or `_` from a client would be a wildcard. Instead neither side
// of the comparison holds a special character: the database keeps generated copies of the searched
// columns (search_name, search_description: see the 20261203000000_search migrations) in which `%`,
// `_` and `\` are replaced by private-use code points, and the client's text is encoded the same
// way here. The copies are maintained by the database itself, so every writer, the rebuild and the
// migration's existing rows agree by construction.
//
// Case: PostgreSQL compares with ILIKE (every letter); SQLite's LIKE folds ASCII letters only.
import type { DatabaseConfig } from "../../config.ts";
import type { Prisma } from "../../db/database.ts";
import { SEARCH_LIMITS, badUserInput } from "./filterInput.ts";

/** LIKE's special characters and the code points (U+F0000 + their ASCII code) that stand for them. */
const REPLACEMENTS: Readonly<Record<string, string>> = {
  "%": "\u{F0025}",
  _: "\u{F005F}",
  "\\": "\u{F005C}",
};
const REPLACEMENT_CHARS = new Set(Object.values(REPLACEMENTS));

/** The text as the generated search columns hold it. */
export function searchEncoded(text: string): string {
  let encoded = "";
  for (const char of text) encoded += REPLACEMENTS[char] ?? char;
  return encoded;
}

/**
 * The Prisma condition "contains `text`, ignoring case" on a generated search column. Refuses text a
 * search cannot mean: empty (omit the filter to match everything), too long, or holding the
 * replacement code points themselves (they would match the characters they stand for).
 */
export function containsText(
  provider: DatabaseConfig["provider"],
  field: string,
  text: string,
): Prisma.StringFilter {
  if (text.length === 0) throw badUserInput(field, "must not be empty (omit it to match everything)");
  if (text.length > SEARCH_LIMITS.textMaxLength)
    throw badUserInput(field, `must be at most ${SEARCH_LIMITS.textMaxLength} characters`);
  for (const char of text)
    if (REPLACEMENT_CHARS.has(char))
      throw badUserInput(field, "must not contain the private-use characters U+F0025, U+F005F or U+F005C");
  const contains = searchEncoded(text);
  // `mode` exists only in the PostgreSQL client's types (we program against SQLite's).
  return (
    provider === "postgresql" ? { contains, mode: "insensitive" } : { contains }
  ) as Prisma.StringFilter;
}
