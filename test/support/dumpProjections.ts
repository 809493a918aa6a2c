// Every projection row, sorted and normalised (dates as ISO strings, object keys sorted), so two
// dumps of the same provider compare with toEqual regardless of row or JSON key order.
import type { Db, Prisma } from "../../src/db/database.ts";

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

type RelationField =
  | "model"
  | "creation"
  | "tags"
  | "aliases"
  | "artifacts"
  | "metricValues"
  | "comments"
  | "deployments"
  | "usageBuckets";
/** Every scalar field of a version but `ref` (`omit` would still read the primary key). */
const VERSION_FIELDS = {
  id: true,
  modelId: true,
  version: true,
  stage: true,
  status: true,
  source: true,
  runId: true,
  description: true,
  params: true,
  metrics: true,
  deleted: true,
  deletedAt: true,
  createdAt: true,
  updatedAt: true,
  createdBy: true,
  searchDescription: true,
  signature: true,
} satisfies Record<Exclude<keyof Prisma.ModelVersionSelect, "ref" | "_count" | RelationField>, true>;

const asDate = (value: unknown): Date | null =>
  value instanceof Date
    ? value
    : typeof value === "number" || typeof value === "string"
      ? new Date(value)
      : null;
const asJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

/**
 * The versions, read as Prisma reads them, in either layout, each with `createdById`: the principal
 * id of its creation event's actor since 20261217000000_version_creator, a column before, so that a
 * dump before that migration and one after compare.
 */
async function versionsWithoutRef(db: Db): Promise<Record<string, unknown>[]> {
  try {
    const rows = await db.modelVersion.findMany({
      select: { ...VERSION_FIELDS, creation: { select: { eventActor: { select: { actorId: true } } } } },
      orderBy: { id: "asc" },
    });
    return rows.map(({ creation, ...row }) => ({
      ...row,
      createdById: creation?.eventActor.actorId ?? null,
    }));
  } catch {
    // A schema before version refs, whose primary key Prisma can no longer read: the same fields
    // through SQL, as Prisma would give them.
    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(
      `SELECT id, model_id, version, stage, status, source, run_id, description, params, metrics, deleted,
              deleted_at, created_at, updated_at, created_by, created_by_id, search_description, signature
         FROM model_versions ORDER BY id`,
    );
    return rows.map((r) => ({
      id: r.id,
      modelId: r.model_id,
      version: Number(r.version),
      stage: r.stage,
      status: r.status,
      source: r.source,
      runId: r.run_id,
      description: r.description,
      params: asJson(r.params),
      metrics: asJson(r.metrics),
      deleted: Boolean(r.deleted),
      deletedAt: asDate(r.deleted_at),
      createdAt: asDate(r.created_at),
      updatedAt: asDate(r.updated_at),
      createdBy: r.created_by,
      createdById: r.created_by_id,
      searchDescription: r.search_description,
      signature: asJson(r.signature),
    }));
  }
}

/** A version's tags or metrics, each naming its version by id, whichever layout the database has. */
async function versionChildren(db: Db, table: "model_version_tags" | "model_version_metrics") {
  const select = (version: string, join: string) =>
    `SELECT ${version} AS "versionId", t.key, t.value FROM ${table} t ${join} ORDER BY 1, 2`;
  try {
    return await db.$queryRawUnsafe<Record<string, unknown>[]>(
      select("v.id", "JOIN model_versions v ON v.ref = t.version_ref"),
    );
  } catch {
    // A schema before version refs: the rows hold the id.
    return db.$queryRawUnsafe<Record<string, unknown>[]>(select("t.version_id", ""));
  }
}

/**
 * The artifacts, each naming its version by model id and number, whichever layout the database has
 * (before migration 20261218000000_version_children the rows held the version's id instead).
 */
async function versionArtifacts(db: Db): Promise<Record<string, unknown>[]> {
  try {
    return await db.modelVersionArtifact.findMany({
      orderBy: [{ modelId: "asc" }, { version: "asc" }, { path: "asc" }],
    });
  } catch {
    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(
      `SELECT v.model_id, v.version, a.* FROM model_version_artifacts a JOIN model_versions v ON v.id = a.version_id
        ORDER BY v.model_id, v.version, a.path`,
    );
    return rows.map((r) => ({
      modelId: r.model_id,
      version: Number(r.version),
      path: r.path,
      role: r.role,
      size: BigInt(r.size as number | bigint | string),
      sha256: r.sha256,
      mediaType: r.media_type,
      createdAt: asDate(r.created_at),
      createdBy: r.created_by,
      format: r.format,
      formatVersion: r.format_version,
      producer: asJson(r.producer),
      metadata: asJson(r.metadata),
      verdict: r.verdict,
      findings: asJson(r.findings),
      inspectedAt: asDate(r.inspected_at),
    }));
  }
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
    // Without `ref`, and tags and metrics with their version's id: the same dump in the layouts before
    // and after 20261216000000_version_ref, so upgrade tests compare them (each ref is checked on
    // its own in test/store/versionRef.int.test.ts).
    versionsWithoutRef(db),
    versionChildren(db, "model_version_tags"),
    versionChildren(db, "model_version_metrics"),
    db.modelAlias.findMany({ orderBy: [{ modelId: "asc" }, { alias: "asc" }] }),
    versionArtifacts(db),
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
