// The usage enums, apart from the types so that the version filter can use them without a cycle.
import { builder } from "../../graphql/builder.ts";

export const UsageGranularityEnum = builder.enumType("UsageGranularity", {
  description: "The size of the time buckets of a usage series (UTC).",
  values: {
    HOUR: { description: "One point per hour; a query spans at most 31 days." },
    DAY: { description: "One point per UTC day; a query spans at most 731 days." },
  } as const,
});

export const UsageSeriesEnum = builder.enumType("UsageSeries", {
  description: "Which kind of usage.",
  values: {
    DOWNLOADS: { description: "Artifact downloads through the HTTP artifact route." },
    SERVING: { description: "Requests reported by serving systems (`reportModelServing`)." },
  } as const,
});
