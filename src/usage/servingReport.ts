// What a serving system may report, checked before anything is stored. Pure: the clock's reading
// comes in with the input. Every refusal is a ValidationError naming the offending input field.
import { ValidationError } from "../domain/errors.ts";
import { HOUR_MS } from "./timeBuckets.ts";

export const SERVING_LIMITS = {
  /** Longest report window: a report lands in the hour of its start, so it must not span many. */
  maxWindowMs: HOUR_MS,
  /** How far in the future a window may end (clock skew between serving hosts and the registry). */
  maxFutureSkewMs: 5 * 60_000,
  /** Requests in one report. */
  maxRequests: 1_000_000_000_000,
  /** Latency in ms (a day). */
  maxLatencyMs: 86_400_000,
  /**
   * The smallest latency other than 0 (a nanosecond): a bucket's p50 is a request-weighted mean, and
   * PostgreSQL refused the products of subnormal values (5e-324) as an underflow, losing the report.
   */
  minLatencyMs: 0.000_001,
  maxMetrics: 20,
  /** Magnitude of a custom metric value. */
  maxMetricMagnitude: 1e15,
  clientReportIdMaxLength: 128,
  /**
   * Distinct environments, and distinct custom metric names, the serving reports of one model may
   * use in one UTC day. Both are client strings, and every new one adds rows that each usage query
   * of the model reads and answers (a point lists every metric name): without a bound, reports with
   * fresh names made those answers grow without limit.
   */
  maxEnvironmentsPerModelDay: 100,
  maxMetricNamesPerModelDay: 100,
} as const;

// Linear patterns without nested quantifiers: no catastrophic backtracking on client input.
/** A deployment's environment name (../deployments/domain/rules.ts): up to 64 characters. */
const ENVIRONMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const CLIENT_REPORT_ID = /^[\x21-\x7e]{1,128}$/;

export interface ServingReportInput {
  readonly environment: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly requests: number;
  readonly errors: number;
  readonly latencyP50Ms?: number | null;
  readonly latencyP99Ms?: number | null;
  readonly metrics?: readonly { readonly name: string; readonly value: number }[] | null;
  readonly clientReportId?: string | null;
}

export interface CheckedServingReport {
  readonly environment: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly requests: number;
  readonly errors: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly metrics: readonly { readonly name: string; readonly value: number }[];
  readonly clientReportId: string | null;
}

function checkCount(field: string, value: number): ValidationError | null {
  if (!Number.isSafeInteger(value) || value < 0)
    return new ValidationError(field, "must be a non-negative integer");
  if (value > SERVING_LIMITS.maxRequests)
    return new ValidationError(field, `must be at most ${SERVING_LIMITS.maxRequests}`);
  return null;
}

function checkLatency(field: string, value: number | null | undefined): ValidationError | null {
  if (value == null) return null;
  if (!Number.isFinite(value) || value < 0 || value > SERVING_LIMITS.maxLatencyMs)
    return new ValidationError(field, `must be a finite number from 0 to ${SERVING_LIMITS.maxLatencyMs}`);
  if (value > 0 && value < SERVING_LIMITS.minLatencyMs)
    return new ValidationError(field, `must be 0 or at least ${SERVING_LIMITS.minLatencyMs}`);
  return null;
}

/**
 * Checks a report against the rules and the clock; `oldestWindowStart` is the start of the oldest
 * hourly bucket still kept (older windows would be pruned at once).
 */
export function checkServingReport(
  input: ServingReportInput,
  now: Date,
  oldestWindowStart: Date,
): CheckedServingReport | ValidationError {
  if (!ENVIRONMENT.test(input.environment))
    return new ValidationError(
      "environment",
      "must be 1-64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  const start = input.windowStart.getTime();
  const end = input.windowEnd.getTime();
  if (!Number.isFinite(start)) return new ValidationError("windowStart", "is not a valid time");
  if (!Number.isFinite(end)) return new ValidationError("windowEnd", "is not a valid time");
  if (end <= start) return new ValidationError("windowEnd", "must be after windowStart");
  if (end - start > SERVING_LIMITS.maxWindowMs)
    return new ValidationError("windowEnd", "a report window may span at most one hour");
  if (end > now.getTime() + SERVING_LIMITS.maxFutureSkewMs)
    return new ValidationError("windowEnd", "is in the future");
  if (start < oldestWindowStart.getTime())
    return new ValidationError("windowStart", "is older than the hourly usage retention");
  const counts = checkCount("requests", input.requests) ?? checkCount("errors", input.errors);
  if (counts) return counts;
  if (input.errors > input.requests) return new ValidationError("errors", "must not exceed requests");
  const latency =
    checkLatency("latencyP50Ms", input.latencyP50Ms) ?? checkLatency("latencyP99Ms", input.latencyP99Ms);
  if (latency) return latency;
  const p50 = input.latencyP50Ms ?? null;
  const p99 = input.latencyP99Ms ?? null;
  if (p50 !== null && p99 !== null && p50 > p99)
    return new ValidationError("latencyP50Ms", "must not exceed latencyP99Ms");
  if (input.requests > 0 && (p50 === null || p99 === null))
    return new ValidationError(
      p50 === null ? "latencyP50Ms" : "latencyP99Ms",
      "is required when requests > 0",
    );
  if (input.requests === 0 && (p50 !== null || p99 !== null))
    return new ValidationError(
      p50 !== null ? "latencyP50Ms" : "latencyP99Ms",
      "must be absent when requests is 0",
    );
  const metrics = input.metrics ?? [];
  if (metrics.length > SERVING_LIMITS.maxMetrics)
    return new ValidationError("metrics", `at most ${SERVING_LIMITS.maxMetrics} metrics per report`);
  const names = new Set<string>();
  for (const [i, metric] of metrics.entries()) {
    if (!METRIC_NAME.test(metric.name))
      return new ValidationError(
        `metrics.${i}.name`,
        "must be 1-64 characters: letters, digits, '_', '.', ':' or '-', starting with a letter or '_'",
      );
    if (names.has(metric.name)) return new ValidationError(`metrics.${i}.name`, "is given twice");
    names.add(metric.name);
    if (!Number.isFinite(metric.value) || Math.abs(metric.value) > SERVING_LIMITS.maxMetricMagnitude)
      return new ValidationError(
        `metrics.${i}.value`,
        `must be a finite number of magnitude at most ${SERVING_LIMITS.maxMetricMagnitude}`,
      );
  }
  const clientReportId = input.clientReportId ?? null;
  if (clientReportId !== null && !CLIENT_REPORT_ID.test(clientReportId))
    return new ValidationError(
      "clientReportId",
      `must be 1-${SERVING_LIMITS.clientReportIdMaxLength} printable ASCII characters without spaces`,
    );
  return {
    environment: input.environment,
    windowStart: input.windowStart,
    windowEnd: input.windowEnd,
    requests: input.requests,
    errors: input.errors,
    latencyP50Ms: p50,
    latencyP99Ms: p99,
    metrics: metrics.map((m) => ({ name: m.name, value: m.value })),
    clientReportId,
  };
}

/** The environments and metric names a model's serving reports used on one UTC day so far. */
export interface ServingLabels {
  readonly environments: ReadonlySet<string>;
  readonly metricNames: ReadonlySet<string>;
}

/** Refuses a report that would take its model's day past the bounds on environments or metric names. */
export function checkServingLabels(
  report: CheckedServingReport,
  known: ServingLabels,
): ValidationError | null {
  const { maxEnvironmentsPerModelDay, maxMetricNamesPerModelDay } = SERVING_LIMITS;
  if (!known.environments.has(report.environment) && known.environments.size >= maxEnvironmentsPerModelDay)
    return new ValidationError(
      "environment",
      `the model's serving reports already name ${maxEnvironmentsPerModelDay} environments on this UTC day, the most they may`,
    );
  let names = known.metricNames.size;
  for (const [i, metric] of report.metrics.entries()) {
    if (known.metricNames.has(metric.name)) continue;
    names += 1;
    if (names > maxMetricNamesPerModelDay)
      return new ValidationError(
        `metrics.${i}.name`,
        `the model's serving reports already name ${maxMetricNamesPerModelDay} metrics on this UTC day, the most they may`,
      );
  }
  return null;
}
