// Time buckets of the usage series: UTC hours and days. Pure (no clock, no I/O).

export type Granularity = "HOUR" | "DAY";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const GRANULARITY_MS: Record<Granularity, number> = { HOUR: HOUR_MS, DAY: DAY_MS };

/** The start of the UTC bucket holding `at` (epoch milliseconds). */
export function bucketStartMs(granularity: Granularity, at: number): number {
  const size = GRANULARITY_MS[granularity];
  return Math.floor(at / size) * size;
}

export const bucketStart = (granularity: Granularity, at: Date): Date =>
  new Date(bucketStartMs(granularity, at.getTime()));
