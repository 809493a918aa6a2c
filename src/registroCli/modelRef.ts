// `MODEL`, `MODEL@alias`, `MODEL/3`, `MODEL/Production`: which version a command means, resolved
// through the API, with errors that say what exists instead.
import { CliError, ExitCode, usageError } from "./exitCodes.ts";
import type { GraphqlClient } from "./graphqlClient.ts";

export type VersionRef =
  | { readonly kind: "latest"; readonly model: string }
  | { readonly kind: "version"; readonly model: string; readonly version: number }
  | { readonly kind: "alias"; readonly model: string; readonly alias: string }
  | { readonly kind: "stage"; readonly model: string; readonly stage: string };

export const STAGES = ["NONE", "STAGING", "PRODUCTION", "ARCHIVED"] as const;

/** A stage as typed (`Production`, `production`, `PRODUCTION`) in the API's spelling. */
export function parseStage(text: string): string {
  const stage = text.toUpperCase();
  if (!(STAGES as readonly string[]).includes(stage))
    throw usageError(`unknown stage ${JSON.stringify(text)}; stages: None, Staging, Production, Archived`);
  return stage;
}

export function parseVersionNumber(text: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text)) throw usageError(`${JSON.stringify(text)} is not a version number`);
  return Number(text);
}

/** Model names hold no `/`; aliases hold no `@`, so the last `@` starts one. */
export function parseVersionRef(text: string): VersionRef {
  const slash = text.indexOf("/");
  if (slash >= 0) {
    const model = text.slice(0, slash);
    const rest = text.slice(slash + 1);
    if (model === "" || rest === "")
      throw usageError(`${JSON.stringify(text)}: expected MODEL/VERSION or MODEL/Stage`);
    return /^[0-9]+$/.test(rest)
      ? { kind: "version", model, version: parseVersionNumber(rest) }
      : { kind: "stage", model, stage: parseStage(rest) };
  }
  const at = text.lastIndexOf("@");
  if (at > 0 && at < text.length - 1)
    return { kind: "alias", model: text.slice(0, at), alias: text.slice(at + 1) };
  if (text === "") throw usageError("a model name is required");
  return { kind: "latest", model: text };
}

export function describeRef(ref: VersionRef): string {
  switch (ref.kind) {
    case "latest":
      return ref.model;
    case "version":
      return `${ref.model}/${ref.version}`;
    case "alias":
      return `${ref.model}@${ref.alias}`;
    case "stage":
      return `${ref.model}/${ref.stage}`;
  }
}

/** Resolves a reference to a version number, or throws a not-found error naming what exists. */
export async function resolveVersion(client: GraphqlClient, ref: VersionRef): Promise<number> {
  const data = await client.request<{
    registeredModel: {
      deleted: boolean;
      aliases: { alias: string; version: number }[];
      latestVersions: { version: number; stage: string }[];
      versions: { nodes: { version: number }[] };
    } | null;
  }>(
    `query($name: String!, $stages: [Stage!]) { registeredModel(name: $name) {
      deleted aliases { alias version } latestVersions(stages: $stages) { version stage }
      versions(first: 1, direction: DESC) { nodes { version } } } }`,
    { name: ref.model, stages: ref.kind === "stage" ? [ref.stage] : null },
  );
  const model = data.registeredModel;
  if (!model || model.deleted) throw await noSuchModel(client, ref.model);
  switch (ref.kind) {
    case "version":
      return ref.version;
    case "alias": {
      const found = model.aliases.find((a) => a.alias === ref.alias);
      if (found) return found.version;
      const others = model.aliases.map((a) => a.alias);
      throw new CliError(
        `model ${ref.model} has no alias ${ref.alias}; ${others.length ? `aliases: ${others.join(", ")}` : "it has no aliases"}`,
        ExitCode.notFound,
        "NOT_FOUND",
      );
    }
    case "stage": {
      const found = model.latestVersions[0];
      if (found) return found.version;
      throw new CliError(`model ${ref.model} has no version in ${ref.stage}`, ExitCode.notFound, "NOT_FOUND");
    }
    case "latest": {
      const found = model.versions.nodes[0];
      if (found) return found.version;
      throw new CliError(`model ${ref.model} has no versions yet`, ExitCode.notFound, "NOT_FOUND");
    }
  }
}

/** "no such model 'x'; did you mean 'y'?" (the closest of up to 500 names, when close enough). */
export async function noSuchModel(client: GraphqlClient, name: string): Promise<CliError> {
  let suggestion = "";
  try {
    const data = await client.request<{ registeredModels: { nodes: { name: string }[] } }>(
      `{ registeredModels(first: 500) { nodes { name } } }`,
    );
    const best = data.registeredModels.nodes
      .map((m) => ({ name: m.name, distance: editDistance(name.toLowerCase(), m.name.toLowerCase()) }))
      .sort((a, b) => a.distance - b.distance)[0];
    if (best && best.distance <= Math.max(2, Math.floor(name.length / 3)))
      suggestion = `; did you mean '${best.name}'?`;
  } catch {
    // The suggestion is a courtesy: the error stands without it.
  }
  return new CliError(`no such model '${name}'${suggestion}`, ExitCode.notFound, "NOT_FOUND");
}

function editDistance(a: string, b: string): number {
  if (a.length > 300 || b.length > 300) return Math.abs(a.length - b.length) + 300;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}
