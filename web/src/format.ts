import type { ArtifactVerdict, Stage } from "./generated/graphql.ts";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export const formatTime = (iso: string) => dateTime.format(new Date(iso));

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const formatMetric = (value: number) =>
  Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, "");

export const STAGES: readonly Stage[] = ["NONE", "STAGING", "PRODUCTION", "ARCHIVED"];

export const stageLabel = (stage: Stage) =>
  ({ NONE: "None", STAGING: "Staging", PRODUCTION: "Production", ARCHIVED: "Archived" })[stage];

const VERDICT_RANK: Record<ArtifactVerdict, number> = {
  SAFE: 0,
  SUSPICIOUS: 1,
  UNSCANNABLE: 2,
  DANGEROUS: 3,
};

/** A version's verdict: its worst artifact's (null when none was inspected). */
export function worstVerdict(
  artifacts: readonly { verdict: ArtifactVerdict | null }[],
): ArtifactVerdict | null {
  let worst: ArtifactVerdict | null = null;
  for (const { verdict } of artifacts)
    if (verdict !== null && (worst === null || VERDICT_RANK[verdict] > VERDICT_RANK[worst])) worst = verdict;
  return worst;
}

/** The metric names of a set of versions, in first-seen order. */
export function metricKeys(versions: readonly { metrics: readonly { key: string }[] }[]): string[] {
  const keys = new Set<string>();
  for (const version of versions) for (const metric of version.metrics) keys.add(metric.key);
  return [...keys];
}

export const metricOf = (version: { metrics: readonly { key: string; value: number }[] }, key: string) =>
  version.metrics.find((m) => m.key === key)?.value;

/** Turns camel-cased event types into words: `ModelVersionStageTransitioned` → "Model version stage transitioned". */
export const eventLabel = (type: string) =>
  type.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/ ([A-Z])/g, (_, c: string) => ` ${c.toLowerCase()}`);
