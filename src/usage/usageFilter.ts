// The version search's usage conditions (`modelVersions(filter: { usedSince, notUsedSince })`), as
// EXISTS over the daily usage buckets (indexed by version, series and last use), so pages stay full
// and `totalCount` counts exactly the matches.
import type { Prisma } from "../db/database.ts";
import { badUserInput } from "../graphql/search/filterInput.ts";
import type { UsageSeries } from "./usageStore.ts";

export interface UsageFilterInput {
  readonly usedSince?: Date | null;
  readonly notUsedSince?: Date | null;
  readonly usage?: UsageSeries | null;
}

/** Daily buckets are kept longest, and their `last_at` is as precise as the hourly ones'. */
function usedAfter(since: Date, series: UsageSeries | null): Prisma.UsageBucketListRelationFilter["some"] {
  return { granularity: "DAY", lastAt: { gte: since }, ...(series === null ? {} : { series }) };
}

export function usageConditions(field: string, f: UsageFilterInput): Prisma.ModelVersionWhereInput[] {
  const series = f.usage ?? null;
  const conditions: Prisma.ModelVersionWhereInput[] = [];
  for (const [name, since] of [
    ["usedSince", f.usedSince],
    ["notUsedSince", f.notUsedSince],
  ] as const) {
    if (since == null) continue;
    if (!Number.isFinite(since.getTime())) throw badUserInput(`${field}.${name}`, "is not a valid time");
    conditions.push({
      usageBuckets:
        name === "usedSince" ? { some: usedAfter(since, series) } : { none: usedAfter(since, series) },
    });
  }
  return conditions;
}
