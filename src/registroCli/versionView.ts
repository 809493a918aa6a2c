// One version as commands show it: the fields read, what blocks its promotion (the safety gate's
// verdicts, and the review policy), and its text rendering.
import { CliError, ExitCode } from "./exitCodes.ts";
import type { GraphqlClient } from "./graphqlClient.ts";
import { noSuchModel } from "./modelRef.ts";
import { formatBytes, keyValueLines, table } from "./output.ts";

const TENSOR = "name dtype shape { size symbol }";
export const VERSION_FIELDS = `version stage status description runId source createdAt createdBy deleted aliases
  params metrics { key value } tags { key value }
  signature { source path inputs { ${TENSOR} } outputs { ${TENSOR} } }
  artifacts { path role size sha256 mediaType format formatVersion verdict integrity
    findings { severity message location } downloadUrl }`;

export interface ArtifactView {
  path: string;
  role: string;
  size: number;
  sha256: string;
  mediaType: string;
  format: string | null;
  formatVersion: string | null;
  verdict: string | null;
  integrity: string;
  findings: { severity: string; message: string; location: string | null }[];
  downloadUrl: string;
}

export interface VersionView {
  version: number;
  stage: string;
  status: string;
  description: string;
  runId: string | null;
  source: string;
  createdAt: string;
  createdBy: string;
  deleted: boolean;
  aliases: string[];
  params: Record<string, unknown>;
  metrics: { key: string; value: number }[];
  tags: { key: string; value: string }[];
  signature: {
    source: string;
    path: string | null;
    inputs: {
      name: string;
      dtype: string | null;
      shape: { size: number | null; symbol: string | null }[] | null;
    }[];
    outputs: {
      name: string;
      dtype: string | null;
      shape: { size: number | null; symbol: string | null }[] | null;
    }[];
  } | null;
  artifacts: ArtifactView[];
}

export interface PromotionBlockers {
  /** Artifacts whose verdict keeps the version from Production and aliases (DANGEROUS, UNSCANNABLE, never inspected). */
  unsafeArtifacts: { path: string; verdict: string | null }[];
  /** Review policy rules that protect Production or aliases on this model. */
  reviewRules: { stage: string | null; aliasPattern: string | null; requiredApprovals: number }[];
  /** A version must be READY to be promoted. */
  notReady: string | null;
}

export async function fetchVersion(
  client: GraphqlClient,
  model: string,
  version: number,
): Promise<{ view: VersionView; blockers: PromotionBlockers }> {
  const data = await client.request<{
    modelVersion: VersionView | null;
    registeredModel: { reviewPolicy: PromotionBlockers["reviewRules"] } | null;
  }>(
    `query($name: String!, $version: Int!) {
      modelVersion(name: $name, version: $version) { ${VERSION_FIELDS} }
      registeredModel(name: $name) { reviewPolicy { stage aliasPattern requiredApprovals } }
    }`,
    { name: model, version },
  );
  if (!data.registeredModel) throw await noSuchModel(client, model);
  if (!data.modelVersion) {
    throw new CliError(`model ${model} has no version ${version}`, ExitCode.notFound, "NOT_FOUND");
  }
  const view = data.modelVersion;
  return { view, blockers: blockersOf(view, data.registeredModel.reviewPolicy) };
}

export function blockersOf(
  view: VersionView,
  reviewPolicy: { stage: string | null; aliasPattern: string | null; requiredApprovals: number }[],
): PromotionBlockers {
  return {
    unsafeArtifacts: view.artifacts
      .filter((a) => a.verdict === null || a.verdict === "DANGEROUS" || a.verdict === "UNSCANNABLE")
      .map((a) => ({ path: a.path, verdict: a.verdict })),
    reviewRules: reviewPolicy.filter((r) => r.stage === "PRODUCTION" || r.aliasPattern !== null),
    notReady: view.status === "READY" ? null : view.status,
  };
}

export function renderBlockers(blockers: PromotionBlockers): string {
  const lines: string[] = [];
  if (blockers.notReady) lines.push(`  status is ${blockers.notReady}, not READY`);
  for (const a of blockers.unsafeArtifacts)
    lines.push(
      `  ${a.path}: verdict ${a.verdict ?? "never inspected"} (blocks Production and aliases; override with --override-reason)`,
    );
  for (const r of blockers.reviewRules)
    lines.push(
      `  review policy: ${r.stage ? `stage ${r.stage}` : `aliases ${r.aliasPattern}`} needs ${r.requiredApprovals} approval(s)`,
    );
  return lines.length ? `blocks promotion:\n${lines.join("\n")}` : "blocks promotion: nothing";
}

export function renderArtifacts(artifacts: readonly ArtifactView[]): string {
  return table(
    ["path", "role", "size", "format", "verdict", "sha256"],
    artifacts.map((a) => [
      a.path,
      a.role,
      formatBytes(a.size),
      a.format ? `${a.format}${a.formatVersion ? ` ${a.formatVersion}` : ""}` : null,
      a.verdict ?? "not inspected",
      a.sha256.slice(0, 16),
    ]),
  );
}

export function renderVersion(model: string, view: VersionView): string {
  const lines = [
    `${model} version ${view.version}${view.deleted ? " (deleted)" : ""}`,
    `  stage ${view.stage}, status ${view.status}${view.aliases.length ? `, aliases ${view.aliases.join(", ")}` : ""}`,
    `  created ${view.createdAt} by ${view.createdBy}; source ${view.source}${view.runId ? `; run ${view.runId}` : ""}`,
  ];
  if (view.description) lines.push(`  description: ${view.description}`);
  if (view.tags.length) lines.push(`  tags: ${view.tags.map((t) => `${t.key}=${t.value}`).join(", ")}`);
  if (Object.keys(view.params).length) lines.push("params:", keyValueLines(view.params));
  if (view.metrics.length)
    lines.push("metrics:", keyValueLines(Object.fromEntries(view.metrics.map((m) => [m.key, m.value]))));
  if (view.signature) lines.push(`signature (${view.signature.source}):`, renderSignature(view.signature));
  if (view.artifacts.length) lines.push("artifacts:", renderArtifacts(view.artifacts));
  const findings = view.artifacts.flatMap((a) =>
    a.findings
      .filter((f) => f.severity !== "INFO")
      .map((f) => `  ${a.path}: ${f.severity} ${f.message}${f.location ? ` (${f.location})` : ""}`),
  );
  if (findings.length) lines.push("findings:", ...findings.slice(0, 20));
  if (findings.length > 20) lines.push(`  … and ${findings.length - 20} more (--json shows all)`);
  return lines.join("\n");
}

export function renderSignature(signature: NonNullable<VersionView["signature"]>): string {
  const tensor = (t: NonNullable<VersionView["signature"]>["inputs"][number]) =>
    `${t.name}: ${t.dtype ?? "?"}${t.shape ? `[${t.shape.map((d) => d.size ?? d.symbol).join(", ")}]` : ""}`;
  return [
    ...signature.inputs.map((t) => `  in  ${tensor(t)}`),
    ...signature.outputs.map((t) => `  out ${tensor(t)}`),
  ].join("\n");
}
