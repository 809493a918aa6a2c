// The operator's own allow-list (INSPECTION_ALLOW_IMPORTS): imports a deployment accepts on top of
// the built-in, vetted ALLOW_LISTS, typically the classes of its own packages. Parsed strictly at
// start-up; never able to override the deny-list; fingerprinted so that an inspection records which
// list it ran under.
import { createHash } from "node:crypto";
import { ALLOW_LISTS, CLASS_NAME } from "./allowList.ts";
import { DENIED_MODULES, DENIED_NAMES, deniedRule, underModule } from "./denyList.ts";
import { INSPECTOR_VERSION } from "./version.ts";

export const ALLOW_IMPORTS_SETTING = "INSPECTION_ALLOW_IMPORTS";

/** Bounds on the setting, so it stays a list a person wrote and reads. */
export const ALLOW_IMPORTS_LIMITS = {
  maxEntries: 500,
  maxEntryLength: 300,
  maxTextLength: 64 * 1024,
} as const;

/**
 * One entry, in its normalised text: `module.Name` (an exact import), `module:Outer.Inner` (an
 * exact import whose name is dotted), or `module.*` (CamelCase class names anywhere under module,
 * like the built-in classes-by-package rule).
 */
export type AllowImportEntry =
  | { readonly kind: "exact"; readonly module: string; readonly name: string; readonly text: string }
  | { readonly kind: "classes"; readonly module: string; readonly text: string };

export interface OperatorAllowList {
  /** Normalised, de-duplicated and sorted. */
  readonly entries: readonly AllowImportEntry[];
  /** First 12 hex digits of SHA-256 over the normalised entries; "" for an empty list. */
  readonly fingerprint: string;
}

export const NO_ALLOW_IMPORTS: OperatorAllowList = { entries: [], fingerprint: "" };

/** A malformed or forbidden entry; the message names every problem found. */
export class AllowImportsError extends Error {
  override name = "AllowImportsError";
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const dotted = (text: string) => text.length > 0 && text.split(".").every((p) => IDENTIFIER.test(p));

/** The text that accepts module.name exactly (what a SUSPICIOUS finding tells the operator to add). */
export function exactEntryText(module: string, name: string): string {
  return name.includes(".") ? `${module}:${name}` : `${module}.${name}`;
}

function parseEntry(text: string): AllowImportEntry | string {
  if (text.length > ALLOW_IMPORTS_LIMITS.maxEntryLength)
    return `longer than ${ALLOW_IMPORTS_LIMITS.maxEntryLength} characters`;
  const colon = text.indexOf(":");
  if (colon >= 0) {
    const module = text.slice(0, colon);
    const name = text.slice(colon + 1);
    if (!dotted(module) || !dotted(name))
      return "module:name needs a dotted module and a dotted name of Python identifiers (ASCII letters, digits, _), e.g. mylib.models:Outer.Inner";
    return { kind: "exact", module, name, text: exactEntryText(module, name) };
  }
  if (text.endsWith(".*")) {
    const module = text.slice(0, -2);
    if (!dotted(module))
      return "module.* needs a dotted module of Python identifiers (ASCII letters, digits, _) before .*, e.g. mylib.*";
    return { kind: "classes", module, text };
  }
  if (text.includes("*"))
    return "* is only allowed as the last part (module.*), which accepts CamelCase classes";
  if (!dotted(text) || !text.includes("."))
    return "expected module.name (e.g. mylib.helpers.Thing), module:dotted.name or module.* made of Python identifiers (ASCII letters, digits, _)";
  const cut = text.lastIndexOf(".");
  const module = text.slice(0, cut);
  const name = text.slice(cut + 1);
  return { kind: "exact", module, name, text };
}

/** Why an entry may not be configured (it would reach into the deny-list or an excluded package), or null. */
function forbidden(entry: AllowImportEntry): string | null {
  if (entry.kind === "exact") {
    const rule = deniedRule(entry.module, entry.name);
    return rule === null ? null : `names ${rule}: the deny-list cannot be overridden`;
  }
  const root = entry.module;
  for (const m of DENIED_MODULES) {
    if (underModule(root, m)) return `is under the denied module ${m}: the deny-list cannot be overridden`;
    if (underModule(m, root))
      return `would cover the denied module ${m}: the deny-list cannot be overridden; list narrower packages or exact names`;
  }
  for (const [m, names] of Object.entries(DENIED_NAMES)) {
    if (!underModule(m, root) && !(underModule(root, m) && names.includes("*"))) continue;
    const classes = names.filter((n) => n === "*" || CLASS_NAME.test(n));
    if (classes.length > 0)
      return `would cover the denied ${classes.includes("*") ? `module ${m}` : `classes ${classes.map((n) => `${m}.${n}`).join(", ")}`}: the deny-list cannot be overridden; list narrower packages or exact names`;
  }
  for (const lib of ALLOW_LISTS)
    for (const e of lib.classExcept ?? [])
      if (underModule(e, root) || underModule(root, e))
        return `would cover ${e}, which the built-in ${lib.library} rule excludes because its constructors read files, open connections or evaluate strings; list exact names instead`;
  return null;
}

/**
 * Parses the setting: entries separated by commas and/or whitespace. Throws AllowImportsError naming
 * every bad entry; the result is normalised (duplicates dropped, sorted) and fingerprinted.
 */
export function parseAllowImports(input: string | readonly string[]): OperatorAllowList {
  const text = typeof input === "string" ? input : input.join(",");
  if (text.length > ALLOW_IMPORTS_LIMITS.maxTextLength)
    throw new AllowImportsError(`longer than ${ALLOW_IMPORTS_LIMITS.maxTextLength} characters`);
  const items = text.split(/[\s,]+/).filter((t) => t !== "");
  if (items.length > ALLOW_IMPORTS_LIMITS.maxEntries)
    throw new AllowImportsError(
      `${items.length} entries; at most ${ALLOW_IMPORTS_LIMITS.maxEntries} (prefer module.* for a package's classes)`,
    );
  const problems: string[] = [];
  const entries = new Map<string, AllowImportEntry>();
  for (const item of items) {
    const entry = parseEntry(item);
    const shown = JSON.stringify(item.length > 80 ? `${item.slice(0, 79)}…` : item);
    if (typeof entry === "string") {
      problems.push(`entry ${shown}: ${entry}`);
      continue;
    }
    const why = forbidden(entry);
    if (why !== null) problems.push(`entry ${shown} ${why}`);
    else entries.set(entry.text, entry);
  }
  if (problems.length > 0) throw new AllowImportsError(problems.slice(0, 10).join("; "));
  const sorted = [...entries.values()].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const fingerprint =
    sorted.length === 0
      ? ""
      : createHash("sha256")
          .update(sorted.map((e) => e.text).join("\n"))
          .digest("hex")
          .slice(0, 12);
  return { entries: sorted, fingerprint };
}

/** The entry that accepts module.name (an exact one before a package one), or null. */
export function operatorEntryFor(
  list: OperatorAllowList,
  module: string,
  name: string,
): AllowImportEntry | null {
  if (list.entries.length === 0) return null;
  // Entries naming denied imports are refused at start-up; checked again so no caller can forget it.
  if (deniedRule(module, name) !== null) return null;
  let byPackage: AllowImportEntry | null = null;
  for (const e of list.entries) {
    if (e.kind === "exact") {
      if (e.module === module && e.name === name) return e;
    } else if (byPackage === null && CLASS_NAME.test(name) && underModule(module, e.module)) byPackage = e;
  }
  return byPackage;
}

/**
 * What to add to INSPECTION_ALLOW_IMPORTS to accept module.name: the exact entry, and for a class
 * the package entry (top-level package, else the module itself) when that entry would be accepted.
 */
export function suggestedEntry(module: string, name: string): { exact: string; classes: string | null } {
  const exact = exactEntryText(module, name);
  if (!CLASS_NAME.test(name)) return { exact, classes: null };
  const candidates = [module.split(".")[0]!, module];
  const ok = candidates.find((m) => forbidden({ kind: "classes", module: m, text: `${m}.*` }) === null);
  return { exact, classes: ok === undefined ? null : `${ok}.*` };
}

/** The inspector identity recorded with a result: the rules' version, plus the operator list's fingerprint. */
export function inspectorVersion(list: OperatorAllowList): string {
  return list.fingerprint === ""
    ? INSPECTOR_VERSION
    : `${INSPECTOR_VERSION}+allow-imports.${list.fingerprint}`;
}
