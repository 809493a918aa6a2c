// The rows a model stream's views occupy, for a stream written from nothing: what persistStreamViews
// writes when `before` is empty, as plain rows, so the rebuild can insert many streams' rows with a
// few multi-row statements instead of one statement per row. The rebuild tests compare the result
// with what the inline projection wrote, so the two cannot drift apart unnoticed.
import { COMMENT_COLUMNS, commentRow } from "../../comments/projection/commentRows.ts";
import { DEPLOYMENT_COLUMNS, deploymentRow } from "../../deployments/projection/deploymentRows.ts";
import type { Tx } from "../../db/database.ts";
import type { SqlValue } from "../../db/sql.ts";
import { granteeOfKey } from "../../domain/modelPermissions.ts";
import { versionRowStorage } from "../modelVersions/versionRows.ts";
import { REVIEW_REQUEST_COLUMNS, reviewRowValues } from "../../reviews/projection/reviewRows.ts";
import { placeholders } from "../../db/sql.ts";
import {
  VERSION_REF_OF_CREATION,
  artifactInspectionValues,
  createdRevision,
  reviewPolicyValue,
} from "../streamViews.ts";
import type { StreamViews } from "../streamViews.ts";

export interface TableRows {
  readonly columns: readonly string[];
  readonly rows: SqlValue[][];
}

/** Parents before children, so the rows of one batch can be inserted in this order under foreign keys. */
export const STREAM_TABLE_COLUMNS = {
  registered_models: [
    "id",
    "created_at",
    "created_by",
    "name",
    "description",
    "deleted",
    "deleted_at",
    "updated_at",
    "revision",
    "last_version",
    "review_policy",
  ],
  model_versions: [
    "ref",
    "model_id",
    "version",
    "created_at",
    "created_by",
    "stage",
    "status",
    "source",
    "run_id",
    "description",
    "params",
    "metrics",
    "deleted",
    "deleted_at",
    "updated_at",
    "signature",
  ],
  model_version_tags: ["version_ref", "key", "value"],
  model_version_metrics: ["version_ref", "key", "value"],
  model_version_artifacts: [
    "model_id",
    "version",
    "path",
    "role",
    "size",
    "sha256",
    "media_type",
    "created_at",
    "created_by",
    "format",
    "format_version",
    "producer",
    "metadata",
    "verdict",
    "findings",
    "inspected_at",
  ],
  registered_model_tags: ["model_id", "key", "value"],
  model_aliases: ["model_id", "alias", "version"],
  model_permissions: ["model_id", "grantee_kind", "grantee_id", "permission"],
  model_version_comments: COMMENT_COLUMNS,
  model_version_deployments: DEPLOYMENT_COLUMNS,
  review_requests: REVIEW_REQUEST_COLUMNS,
} as const;

export type StreamTable = keyof typeof STREAM_TABLE_COLUMNS;

/**
 * The SQL of one row where a value is not a plain parameter: a version's `ref` (and its tags' and
 * metrics' `version_ref`) is the position of its ModelVersionCreated event, looked up in the log by
 * the stream and revision its row carries in place of the ref; on SQLite the version row names its
 * model by ref (../modelVersions/versionRows.ts). The log is fully indexed while the shadow tables
 * are filled; the shadow tables' secondary indexes may not be there yet.
 */
const rowSql = (table: StreamTable, dialect: Tx["dialect"]): string => {
  const width = STREAM_TABLE_COLUMNS[table].length;
  switch (table) {
    case "model_versions":
      return `(${VERSION_REF_OF_CREATION}, ${versionRowStorage(dialect).modelValue}, ${placeholders(width - 2)})`;
    case "model_version_tags":
    case "model_version_metrics":
      return `(${VERSION_REF_OF_CREATION}, ?, ?)`;
    default:
      return `(${placeholders(width)})`;
  }
};

/** Where a stream table's rows go in `dialect`: the table, its columns and one row's SQL. */
export function streamTableInsert(
  table: StreamTable,
  dialect: Tx["dialect"],
): { readonly table: string; readonly columns: readonly string[]; readonly row: string } {
  const columns = STREAM_TABLE_COLUMNS[table];
  if (table !== "model_versions") return { table, columns, row: rowSql(table, dialect) };
  const storage = versionRowStorage(dialect);
  return {
    table: storage.table,
    columns: columns.map((c) => (c === "model_id" ? storage.modelColumn : c)),
    row: rowSql(table, dialect),
  };
}
export type StreamRows = Record<StreamTable, SqlValue[][]>;

export const emptyStreamRows = (): StreamRows => ({
  registered_models: [],
  model_versions: [],
  model_version_tags: [],
  model_version_metrics: [],
  model_version_artifacts: [],
  registered_model_tags: [],
  model_aliases: [],
  model_permissions: [],
  model_version_comments: [],
  model_version_deployments: [],
  review_requests: [],
});

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

/** Appends the rows of `views` (a stream replayed from its first event) to `into`; returns how many. */
export function addStreamRows(into: StreamRows, views: StreamViews): number {
  const model = views.model;
  // As in persistStreamViews: a stream without a model view writes nothing.
  if (model === null) return 0;
  let count = 1;
  into.registered_models.push([
    model.id,
    model.createdAt,
    model.createdBy,
    model.name,
    model.description,
    model.deleted,
    model.deletedAt,
    model.updatedAt,
    model.revision,
    model.lastVersion,
    reviewPolicyValue(model),
  ]);
  for (const view of views.versions.values()) {
    if (view === null) continue;
    const creation = [view.modelId, createdRevision(view)];
    into.model_versions.push([
      ...creation,
      view.modelId,
      view.version,
      view.createdAt,
      view.createdBy,
      view.stage,
      view.status,
      view.source,
      view.runId,
      view.description,
      json(view.params),
      json(view.metrics),
      view.deleted,
      view.deletedAt,
      view.updatedAt,
      json(view.signature),
    ]);
    for (const [key, value] of Object.entries(view.tags))
      into.model_version_tags.push([...creation, key, value]);
    for (const [key, value] of Object.entries(view.metrics))
      into.model_version_metrics.push([...creation, key, value]);
    count += 1 + Object.keys(view.tags).length + Object.keys(view.metrics).length;
  }
  for (const [number, list] of views.artifacts) {
    if (views.versions.get(number) == null) continue;
    // A path appears once per version; the last view of a path wins, as ON CONFLICT does inline.
    const byPath = new Map(list.map((a) => [a.path, a]));
    for (const a of byPath.values()) {
      into.model_version_artifacts.push([
        a.modelId,
        a.version,
        a.path,
        a.role,
        a.size,
        a.sha256,
        a.mediaType,
        a.createdAt,
        a.createdBy,
        ...artifactInspectionValues(a),
      ]);
      count += 1;
    }
  }
  for (const [key, value] of Object.entries(model.tags))
    into.registered_model_tags.push([model.id, key, value]);
  for (const [alias, version] of Object.entries(model.aliases))
    into.model_aliases.push([model.id, alias, version]);
  for (const [key, permission] of Object.entries(model.grants)) {
    const grantee = granteeOfKey(key);
    into.model_permissions.push([model.id, grantee.kind, grantee.id, permission]);
  }
  for (const comment of views.comments.values()) {
    if (comment === null) continue;
    into.model_version_comments.push(commentRow(comment));
    count += 1;
  }
  for (const deployment of views.deployments.values()) {
    if (deployment === null) continue;
    into.model_version_deployments.push(deploymentRow(deployment));
    count += 1;
  }
  for (const review of views.reviews.values()) {
    if (review === null) continue;
    into.review_requests.push(reviewRowValues(review));
    count += 1;
  }
  return (
    count +
    Object.keys(model.tags).length +
    Object.keys(model.aliases).length +
    Object.keys(model.grants).length
  );
}
