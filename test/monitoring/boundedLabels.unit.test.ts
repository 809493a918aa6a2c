// Client-chosen label values cannot grow a metric without bound.
import { describe, expect, it } from "vitest";
import { ANONYMOUS_LABEL, BoundedLabels, OTHER_LABEL } from "../../src/monitoring/boundedLabels.ts";
import { RegistryMetrics } from "../../src/monitoring/registryMetrics.ts";

describe("BoundedLabels", () => {
  it("gives 10,000 distinct names at most `limit` labels plus `other`", () => {
    const labels = new BoundedLabels(200);
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(labels.label(`Operation${i}`));
    expect(seen.size).toBe(201);
    expect(seen).toContain(OTHER_LABEL);
    expect(labels.size).toBe(200);
    // The first ones keep their label for good; later ones stay `other`.
    expect(labels.label("Operation0")).toBe("Operation0");
    expect(labels.label("Operation9999")).toBe(OTHER_LABEL);
  });

  it("keeps odd names out: too long, not a GraphQL name, `other` itself; none is anonymous", () => {
    const labels = new BoundedLabels(10);
    expect(labels.label("x".repeat(65))).toBe(OTHER_LABEL);
    expect(labels.label('a"b')).toBe(OTHER_LABEL);
    expect(labels.label("other")).toBe(OTHER_LABEL);
    expect(labels.label(undefined)).toBe(ANONYMOUS_LABEL);
    expect(labels.label("")).toBe(ANONYMOUS_LABEL);
    expect(labels.size).toBe(0);
  });

  it("bounds the series a registry holds for 10,000 distinct operation names", async () => {
    const metrics = new RegistryMetrics({ operationNameLimit: 50 });
    const histogram = new Set<string>();
    for (let i = 0; i < 10_000; i++) histogram.add(metrics.operationNames.label(`Q${i}`));
    expect(histogram.size).toBe(51);
    expect((await metrics.registry.metrics()).length).toBeLessThan(100_000);
  });
});
