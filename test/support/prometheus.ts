// Reads /metrics with a real Prometheus text-format parser (parse-prometheus-text-format), and sums
// samples by label. That parser folds a histogram's labelled series into one (it keeps `le` only),
// so histograms are read a second time as untyped series, whose `_count` lines keep their labels.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import type { PrometheusFamily, PrometheusSample } from "parse-prometheus-text-format";

export type Families = ReadonlyMap<string, PrometheusFamily>;

export function parseMetrics(text: string): Families {
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  const histograms = [...families.values()].filter((f) => f.type === "HISTOGRAM").map((f) => f.name);
  if (histograms.length === 0) return families;
  // Untyped, each `_count` line may come out as a family of its own: gather them by name.
  const untyped = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, "# TYPE $1 untyped"));
  for (const name of histograms) {
    const counts = untyped.filter((f) => f.name === `${name}_count`).flatMap((f) => f.metrics);
    const family = families.get(name)!;
    families.set(name, {
      ...family,
      metrics: counts.map((s): PrometheusSample => ({ labels: s.labels ?? {}, count: s.value ?? "0" })),
    });
  }
  return families;
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Families> {
  const response = await fetch(`${url}/metrics`, { headers });
  if (response.status !== 200)
    throw new Error(`/metrics answered ${response.status}: ${await response.text()}`);
  return parseMetrics(await response.text());
}

const matches = (labels: Record<string, string> | undefined, wanted: Record<string, string>) =>
  Object.entries(wanted).every(([key, value]) => labels?.[key] === value);

/** The sum of a counter's or gauge's samples (a histogram's counts) whose labels include `wanted`. */
export function total(families: Families, name: string, wanted: Record<string, string> = {}): number {
  const family = families.get(name);
  if (family === undefined) return 0;
  let sum = 0;
  for (const sample of family.metrics)
    if (matches(sample.labels, wanted))
      sum += Number(family.type === "HISTOGRAM" ? sample.count : sample.value);
  return sum;
}

/** Every distinct value of one label in a family. */
export function labelValues(families: Families, name: string, label: string): Set<string> {
  return new Set((families.get(name)?.metrics ?? []).map((s) => s.labels?.[label] ?? ""));
}

/** What `registro_rate_limited_total` counts at `url`, by limit and transport. */
export async function rateLimitRefusals(url: string) {
  const families = await scrape(url);
  const count = (limit: string, transport: string) =>
    total(families, "registro_rate_limited_total", { limit, transport });
  return {
    requests: { http: count("requests", "http"), websocket: count("requests", "websocket") },
    auth_failures: { http: count("auth_failures", "http"), websocket: count("auth_failures", "websocket") },
  };
}
