// `--param k=v`, `--metric k=v`, `--tag k=v`, `--role path=ROLE`, and params/metrics files (JSON or YAML).
import { readFileSync } from "node:fs";
import { usageError } from "./exitCodes.ts";

/** Commander collector: repeated `--x k=v` into a list. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function splitPair(text: string, flag: string): [string, string] {
  const at = text.indexOf("=");
  if (at <= 0) throw usageError(`${flag} ${JSON.stringify(text)}: expected key=value`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** A param value: JSON when it parses (numbers, booleans, arrays), else the string itself. */
function paramValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function readStructuredFile(file: string, flag: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw usageError(`${flag} ${file}: cannot read the file`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? (await import("yaml")).parse(text) : JSON.parse(text);
  } catch (error) {
    throw usageError(
      `${flag} ${file}: not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"} (${(error as Error).message})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw usageError(`${flag} ${file}: expected an object of key: value`);
  return value as Record<string, unknown>;
}

/**
 * A file's entries, then the pairs' (a pair overrides the file). Keys are the user's, whatever they
 * are: collected in a Map and made own properties (Object.fromEntries), because assigning
 * `record["__proto__"]` on an object literal would drop the entry, or adopt the value as prototype.
 */
async function keyValues(
  pairs: readonly string[],
  file: string | undefined,
  flag: string,
  value: (text: string) => unknown,
): Promise<Map<string, unknown>> {
  const entries = new Map(Object.entries(file ? await readStructuredFile(file, `${flag}s-file`) : {}));
  for (const pair of pairs) {
    const [k, v] = splitPair(pair, flag);
    entries.set(k, value(v));
  }
  return entries;
}

export async function params(
  pairs: readonly string[],
  file: string | undefined,
): Promise<Record<string, unknown>> {
  return Object.fromEntries(await keyValues(pairs, file, "--param", paramValue));
}

export async function metrics(
  pairs: readonly string[],
  file: string | undefined,
): Promise<{ key: string; value: number }[]> {
  const raw = await keyValues(pairs, file, "--metric", (text) => text);
  return [...raw].map(([key, value]) => {
    const number =
      typeof value === "number"
        ? value
        : typeof value === "string" && value.trim() !== ""
          ? Number(value)
          : NaN;
    if (!Number.isFinite(number))
      throw usageError(`metric ${key}: ${JSON.stringify(value)} is not a finite number`);
    return { key, value: number };
  });
}

export function tags(pairs: readonly string[]): { key: string; value: string }[] {
  return pairs.map((pair) => {
    const [key, value] = splitPair(pair, "--tag");
    return { key, value };
  });
}
