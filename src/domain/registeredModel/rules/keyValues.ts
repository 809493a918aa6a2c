// Commands carry tags and metrics as key-value lists (what GraphQL inputs are); events record maps.
import type { KeyValue, Metric } from "../commands.ts";
import type { Metrics, Tags } from "../events.ts";

// Object.fromEntries defines properties (it never runs the `__proto__` setter); keys are checked anyway.
export const toTags = (pairs: readonly KeyValue[]): Tags =>
  Object.fromEntries(pairs.map((t) => [t.key, t.value]));

export const toMetrics = (pairs: readonly Metric[]): Metrics =>
  Object.fromEntries(pairs.map((m) => [m.key, m.value]));
