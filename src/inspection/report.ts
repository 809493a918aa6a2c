import type { ArtifactFormat, InspectionResult } from "./types.ts";

/** What one format inspector contributes; the verdict and findings are added by the caller. */
export type Report = Omit<InspectionResult, "verdict" | "findings"> & { format: ArtifactFormat };

export function emptyReport(format: ArtifactFormat): Report {
  return { format, formatVersion: null, producer: null, metadata: {}, signature: null };
}
