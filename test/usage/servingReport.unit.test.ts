// The rules of a serving report at their boundaries (the end-to-end test sends hostile ones over HTTP).
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/domain/errors.ts";
import { SERVING_LIMITS, checkServingLabels, checkServingReport } from "../../src/usage/servingReport.ts";
import type { ServingReportInput } from "../../src/usage/servingReport.ts";

const now = new Date("2026-12-03T12:00:00Z");
const oldest = new Date("2026-11-01T00:00:00Z");
const report = (over: Partial<ServingReportInput> = {}): ServingReportInput => ({
  environment: "prod-eu",
  windowStart: new Date("2026-12-03T11:00:00Z"),
  windowEnd: new Date("2026-12-03T11:05:00Z"),
  requests: 10,
  errors: 0,
  latencyP50Ms: 1,
  latencyP99Ms: 2,
  ...over,
});
const fieldOf = (input: ServingReportInput) => {
  const checked = checkServingReport(input, now, oldest);
  return checked instanceof ValidationError ? checked.field : null;
};

describe("serving report rules", () => {
  it("accepts a window of exactly one hour, ending up to five minutes ahead of the clock", () => {
    expect(
      fieldOf(
        report({
          windowStart: new Date("2026-12-03T11:05:00Z"),
          windowEnd: new Date("2026-12-03T12:05:00Z"),
        }),
      ),
    ).toBeNull();
    expect(fieldOf(report({ windowEnd: new Date("2026-12-03T12:05:00.001Z") }))).toBe("windowEnd");
    expect(
      fieldOf(
        report({
          windowStart: new Date("2026-12-03T10:59:59.999Z"),
          windowEnd: new Date("2026-12-03T12:00:00Z"),
        }),
      ),
    ).toBe("windowEnd");
    expect(fieldOf(report({ windowEnd: new Date("2026-12-03T11:00:00Z") }))).toBe("windowEnd");
    expect(fieldOf(report({ windowStart: new Date(Number.NaN) }))).toBe("windowStart");
  });

  it("accepts the oldest window the hourly retention keeps, and nothing older", () => {
    expect(fieldOf(report({ windowStart: oldest, windowEnd: new Date(oldest.getTime() + 1) }))).toBeNull();
    expect(fieldOf(report({ windowStart: new Date(oldest.getTime() - 1), windowEnd: oldest }))).toBe(
      "windowStart",
    );
  });

  it("bounds counts and latencies, and keeps p50 ≤ p99 and errors ≤ requests", () => {
    expect(fieldOf(report({ requests: 1.5 }))).toBe("requests");
    expect(fieldOf(report({ requests: 1e12 + 1 }))).toBe("requests");
    expect(fieldOf(report({ requests: 1e12, errors: 1e12 }))).toBeNull();
    expect(fieldOf(report({ errors: 11 }))).toBe("errors");
    expect(fieldOf(report({ latencyP50Ms: 3 }))).toBe("latencyP50Ms");
    expect(fieldOf(report({ latencyP99Ms: Number.POSITIVE_INFINITY }))).toBe("latencyP99Ms");
    expect(fieldOf(report({ latencyP50Ms: -0.5 }))).toBe("latencyP50Ms");
    expect(fieldOf(report({ latencyP99Ms: null }))).toBe("latencyP99Ms");
    // Subnormal latencies: their weighted mean underflowed in PostgreSQL and lost the report.
    expect(fieldOf(report({ latencyP50Ms: 5e-324, latencyP99Ms: 5e-324 }))).toBe("latencyP50Ms");
    expect(fieldOf(report({ latencyP50Ms: 0, latencyP99Ms: 1e-7 }))).toBe("latencyP99Ms");
    expect(fieldOf(report({ latencyP50Ms: 0, latencyP99Ms: 0.000001 }))).toBeNull();
    expect(fieldOf(report({ requests: 0, errors: 0, latencyP50Ms: null, latencyP99Ms: null }))).toBeNull();
  });

  it("bounds metrics: count, names, duplicates, finite values", () => {
    const metrics = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `m_${i}`, value: i }));
    expect(fieldOf(report({ metrics: metrics(20) }))).toBeNull();
    expect(fieldOf(report({ metrics: metrics(21) }))).toBe("metrics");
    expect(
      fieldOf(
        report({
          metrics: [
            { name: "a", value: 1 },
            { name: "a", value: 2 },
          ],
        }),
      ),
    ).toBe("metrics.1.name");
    expect(fieldOf(report({ metrics: [{ name: "9lives", value: 1 }] }))).toBe("metrics.0.name");
    expect(fieldOf(report({ metrics: [{ name: "x".repeat(65), value: 1 }] }))).toBe("metrics.0.name");
    expect(fieldOf(report({ metrics: [{ name: "ok", value: Number.NaN }] }))).toBe("metrics.0.value");
    expect(fieldOf(report({ metrics: [{ name: "ok", value: -1e15 }] }))).toBeNull();
  });

  it("refuses long or malformed environments and client report ids", () => {
    expect(fieldOf(report({ environment: `${"a-".repeat(50_000)}!` }))).toBe("environment");
    // As long as a deployment's environment may be, and no longer.
    expect(fieldOf(report({ environment: "e".repeat(64) }))).toBeNull();
    expect(fieldOf(report({ environment: "e".repeat(65) }))).toBe("environment");
    expect(fieldOf(report({ clientReportId: "x".repeat(129) }))).toBe("clientReportId");
    expect(fieldOf(report({ clientReportId: "has space" }))).toBe("clientReportId");
    expect(fieldOf(report({ clientReportId: "prod-eu:2026-12-03T11:00Z#1" }))).toBeNull();
  });
});

describe("serving labels of a model's day", () => {
  const checked = (over: Partial<ServingReportInput> = {}) => {
    const result = checkServingReport(report(over), now, oldest);
    if (result instanceof ValidationError) throw result;
    return result;
  };
  const known = (environments: number, metricNames: number) => ({
    environments: new Set(Array.from({ length: environments }, (_, i) => `env-${i}`)),
    metricNames: new Set(Array.from({ length: metricNames }, (_, i) => `m${i}`)),
  });
  const metrics = (...names: string[]) => names.map((name) => ({ name, value: 1 }));

  it("takes known names at the bounds, and refuses the first new one past them", () => {
    expect(checkServingLabels(checked({ environment: "env-99" }), known(100, 100))).toBeNull();
    expect(checkServingLabels(checked({ environment: "env-100" }), known(100, 0))?.field).toBe("environment");
    expect(checkServingLabels(checked({ environment: "env-100" }), known(99, 0))).toBeNull();
    expect(
      checkServingLabels(
        checked({ environment: "env-0", metrics: metrics("m0", "m98", "new") }),
        known(1, 99),
      ),
    ).toBeNull();
    expect(
      checkServingLabels(
        checked({ environment: "env-0", metrics: metrics("m0", "new", "newer") }),
        known(1, 99),
      )?.field,
    ).toBe("metrics.2.name");
    expect(SERVING_LIMITS.maxMetricNamesPerModelDay).toBe(100);
    expect(SERVING_LIMITS.maxEnvironmentsPerModelDay).toBe(100);
  });
});
