// Every projection row, sorted and normalised (dates as ISO strings, object keys sorted), so two
// dumps of the same provider compare with toEqual regardless of row or JSON key order.
import type { Db } from "../../src/db/database.ts";

function normalise(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, normalise(v)]),
    );
  return value;
}

export async function dumpProjections(db: Db) {
  const [
    registeredModels,
    registeredModelTags,
    modelVersions,
    modelVersionTags,
    modelVersionMetrics,
    modelAliases,
    modelVersionArtifacts,
    modelPermissions,
    modelVersionComments,
    modelVersionDeployments,
    reviewRequests,
  ] = await Promise.all([
    db.registeredModel.findMany({ orderBy: { id: "asc" } }),
    db.registeredModelTag.findMany({ orderBy: [{ modelId: "asc" }, { key: "asc" }] }),
    db.modelVersion.findMany({ orderBy: { id: "asc" } }),
    db.modelVersionTag.findMany({ orderBy: [{ versionId: "asc" }, { key: "asc" }] }),
    db.modelVersionMetric.findMany({ orderBy: [{ versionId: "asc" }, { key: "asc" }] }),
    db.modelAlias.findMany({ orderBy: [{ modelId: "asc" }, { alias: "asc" }] }),
    db.modelVersionArtifact.findMany({ orderBy: [{ versionId: "asc" }, { path: "asc" }] }),
    db.modelPermission.findMany({
      orderBy: [{ modelId: "asc" }, { granteeKind: "asc" }, { granteeId: "asc" }],
    }),
    db.modelVersionComment.findMany({ orderBy: [{ modelId: "asc" }, { id: "asc" }] }),
    db.modelVersionDeployment.findMany({
      orderBy: [{ modelId: "asc" }, { environment: "asc" }, { version: "asc" }],
    }),
    db.reviewRequest.findMany({ orderBy: { id: "asc" } }),
  ]);
  return normalise({
    registeredModels,
    registeredModelTags,
    modelVersions,
    modelVersionTags,
    modelVersionMetrics,
    modelAliases,
    modelVersionArtifacts,
    modelPermissions,
    modelVersionComments,
    modelVersionDeployments,
    reviewRequests,
  }) as Record<string, Record<string, unknown>[]>;
}
