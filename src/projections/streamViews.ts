// The thin writer behind the pure projections: loads the rows of one model stream that a batch of
// events touches, folds the events through the pure evolve functions, and writes back only what
// changed. Inline projection runs inside the append's transaction; the rebuild uses the same code.
// Plain SQL through the write session (see src/db/sql.ts for why), one dialect for both providers.
import { loadComments, persistComments } from "../comments/projection/commentRows.ts";
import { commentTouchedBy, evolveCommentView } from "../comments/projection/evolve.ts";
import type { CommentView } from "../comments/projection/evolve.ts";
import {
  loadActiveDeployments,
  loadDeployments,
  persistDeployments,
} from "../deployments/projection/deploymentRows.ts";
import { deploymentTouchedBy, evolveDeploymentView } from "../deployments/projection/evolve.ts";
import type { DeploymentView } from "../deployments/projection/evolve.ts";
import { deploymentKey } from "../deployments/domain/state.ts";
import type { Tx } from "../db/database.ts";
import { placeholders, rowBool, rowDate, rowDateOrNull, rowInt, rowJson } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import type { ArtifactRole } from "../domain/artifacts.ts";
import { versionsTouchedBy } from "../domain/registeredModel/events.ts";
import type { Metrics, Params, Stage, Tags, VersionStatus } from "../domain/registeredModel/events.ts";
import { granteeOfKey, grantsFrom } from "../domain/modelPermissions.ts";
import { headReadAhead, headStatement } from "../store/eventStore.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import { evolveVersionArtifacts, inspectionFromRow } from "./modelVersionArtifacts/evolve.ts";
import type { ArtifactView } from "./modelVersionArtifacts/evolve.ts";
import { evolveModelVersionView } from "./modelVersions/evolve.ts";
import type { ModelVersionView } from "./modelVersions/evolve.ts";
import { versionRowStorage } from "./modelVersions/versionRows.ts";
import { evolveRegisteredModelView } from "./registeredModels/evolve.ts";
import type { RegisteredModelView } from "./registeredModels/evolve.ts";
import type { ReviewRule } from "../reviews/domain/events.ts";
import { evolveReviewRequestView, reviewsTouchedBy } from "../reviews/projection/evolve.ts";
import type { ReviewRequestView } from "../reviews/projection/evolve.ts";
import { loadOpenReviews, loadReviews, persistReviews } from "../reviews/projection/reviewRows.ts";

export interface StreamViews {
  readonly streamId: string;
  readonly model: RegisteredModelView | null;
  /** Loaded versions only; null marks a version known not to exist. */
  readonly versions: ReadonlyMap<number, ModelVersionView | null>;
  /** Artifacts of the loaded versions (complete per version), by version number. */
  readonly artifacts: ReadonlyMap<number, readonly ArtifactView[]>;
  /** Loaded comments only (those a command or a batch of events names); null marks a missing one. */
  readonly comments: ReadonlyMap<string, CommentView | null>;
  /** Loaded review requests (the open ones when a command needs them, and those events touch), by id. */
  readonly reviews: ReadonlyMap<string, ReviewRequestView | null>;
  /**
   * Loaded deployments by deployment key (environment@version): every active one when a command
   * needs them, and those events touch; null marks a pair never deployed.
   */
  readonly deployments: ReadonlyMap<string, DeploymentView | null>;
}

type Row = Record<string, unknown>;

// Text and integer columns only: both drivers return them as string or number.
const str = (value: unknown): string =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "bigint"
      ? value.toString()
      : JSON.stringify(value);
const strOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : str(value);
const jsonOrNull = <T>(value: unknown): T | null =>
  value === null || value === undefined ? null : rowJson<T>(value);
const toTags = (rows: Row[]): Tags => Object.fromEntries(rows.map((r) => [str(r.key), str(r.value)]));

function modelFromRow(row: Row, tags: Row[], aliases: Row[], grants: Row[]): RegisteredModelView {
  return {
    id: str(row.id),
    name: str(row.name),
    description: str(row.description),
    deleted: rowBool(row.deleted),
    deletedAt: rowDateOrNull(row.deleted_at),
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    createdBy: str(row.created_by),
    revision: rowInt(row.revision),
    lastVersion: rowInt(row.last_version),
    tags: toTags(tags),
    aliases: Object.fromEntries(aliases.map((a) => [str(a.alias), rowInt(a.version)])),
    grants: grantsFrom(grants.map((g) => [str(g.grantee_kind), str(g.grantee_id), str(g.permission)])),
    reviewPolicy: jsonOrNull<ReviewRule[]>(row.review_policy) ?? [],
  };
}

function versionFromRow(row: Row, tags: Row[]): ModelVersionView {
  return {
    id: str(row.id),
    modelId: str(row.model_id),
    version: rowInt(row.version),
    stage: str(row.stage) as Stage,
    status: str(row.status) as VersionStatus,
    source: str(row.source),
    runId: strOrNull(row.run_id),
    description: str(row.description),
    params: rowJson<Params>(row.params),
    metrics: rowJson<Metrics>(row.metrics),
    deleted: rowBool(row.deleted),
    deletedAt: rowDateOrNull(row.deleted_at),
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    createdBy: str(row.created_by),
    tags: toTags(tags),
    signature: jsonOrNull<ModelVersionView["signature"]>(row.signature),
  };
}

function artifactFromRow(row: Row): ArtifactView {
  return {
    modelId: str(row.model_id),
    version: rowInt(row.version),
    path: str(row.path),
    role: str(row.role) as ArtifactRole,
    size: rowInt(row.size),
    sha256: str(row.sha256),
    mediaType: str(row.media_type),
    createdAt: rowDate(row.created_at),
    createdBy: str(row.created_by),
    inspection: inspectionFromRow({
      format: strOrNull(row.format),
      formatVersion: strOrNull(row.format_version),
      producer: jsonOrNull(row.producer),
      metadata: jsonOrNull(row.metadata),
      verdict: strOrNull(row.verdict),
      findings: jsonOrNull(row.findings),
      inspectedAt: rowDateOrNull(row.inspected_at),
    }),
  };
}

function groupBy(rows: Row[], key: string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const k = str(row[key]);
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/**
 * Loads a stream's model view and the versions a command needs: the given numbers, and (when
 * `versionsInStage` is set) every live version in that stage, each with its tags and artifacts.
 */
export async function loadStreamViews(
  tx: Tx,
  streamId: string,
  versionsNeeded: readonly number[],
  versionsInStage: Stage | null,
  commentIds: readonly string[] = [],
  openReviews = false,
  activeDeployments = false,
  readHead = false,
): Promise<StreamViews> {
  // A command on a comment needs the comment's version too (the rules check it is still there).
  const comments = await loadComments(tx, streamId, commentIds);
  const commentVersions = [...comments.values()].flatMap((c) => (c === null ? [] : [c.version]));
  const versions = [...new Set([...versionsNeeded, ...commentVersions])];
  const conditions: string[] = [];
  const params: SqlValue[] = [streamId];
  if (versions.length > 0) {
    conditions.push(`version IN (${placeholders(versions.length)})`);
    params.push(...versions);
  }
  if (versionsInStage !== null) {
    conditions.push("(stage = ? AND deleted = ?)");
    params.push(versionsInStage, false);
  }
  // One batch (one round trip on PostgreSQL) for the model and the versions, one for what hangs
  // off the versions. With `readHead`, on PostgreSQL, the first also reads the stream's head for
  // the append (../store/eventStore.ts, verifiedHead); SQLite has no round trips to save.
  const head = readHead && tx.dialect === "postgresql" ? [headStatement(streamId)] : [];
  const results = await tx.batch([
    ...head,
    { sql: "SELECT * FROM registered_models WHERE id = ?", params: [streamId] },
    { sql: "SELECT key, value FROM registered_model_tags WHERE model_id = ?", params: [streamId] },
    { sql: "SELECT alias, version FROM model_aliases WHERE model_id = ?", params: [streamId] },
    {
      sql: "SELECT grantee_kind, grantee_id, permission FROM model_permissions WHERE model_id = ?",
      params: [streamId],
    },
    ...(conditions.length === 0
      ? []
      : [
          { sql: `SELECT * FROM model_versions WHERE model_id = ? AND (${conditions.join(" OR ")})`, params },
        ]),
  ]);
  const headRows = head.length > 0 ? results.shift() : undefined;
  const [models = [], modelTags = [], aliases = [], grants = [], versionRows = []] = results;
  if (headRows !== undefined) headReadAhead(tx, streamId, headRows);
  const numbers = versionRows.map((r) => rowInt(r.version));
  const refs = versionRows.map((r) => rowInt(r.ref));
  const [versionTags = [], artifactRows = []] =
    refs.length === 0
      ? []
      : await tx.batch([
          {
            sql: `SELECT version_ref, key, value FROM model_version_tags WHERE version_ref IN (${placeholders(refs.length)})`,
            params: refs,
          },
          {
            sql: `SELECT * FROM model_version_artifacts WHERE model_id = ? AND version IN (${placeholders(numbers.length)}) ORDER BY created_at, path`,
            params: [streamId, ...numbers],
          },
        ]);
  const tagsByVersion = groupBy(versionTags, "version_ref");
  const artifactsByVersion = groupBy(artifactRows, "version");

  const loaded = new Map<number, ModelVersionView | null>(versions.map((v) => [v, null]));
  const artifacts = new Map<number, readonly ArtifactView[]>();
  for (const row of versionRows) {
    const view = versionFromRow(row, tagsByVersion.get(String(rowInt(row.ref))) ?? []);
    loaded.set(view.version, view);
    artifacts.set(view.version, (artifactsByVersion.get(String(view.version)) ?? []).map(artifactFromRow));
  }
  const model = models[0];
  const reviews = openReviews ? await loadOpenReviews(tx, streamId) : [];
  const deployments = activeDeployments ? await loadActiveDeployments(tx, streamId) : new Map();
  return {
    streamId,
    model: model ? modelFromRow(model, modelTags, aliases, grants) : null,
    versions: loaded,
    artifacts,
    comments,
    reviews: new Map(reviews.map((r) => [r.id, r])),
    deployments,
  };
}

export const emptyStreamViews = (streamId: string): StreamViews => ({
  streamId,
  model: null,
  versions: new Map(),
  artifacts: new Map(),
  comments: new Map(),
  reviews: new Map(),
  deployments: new Map(),
});

/** Loads the versions, comments, review requests and deployments that `events` touch and that `views` does not hold yet. */
export async function withVersionsFor(
  tx: Tx,
  views: StreamViews,
  events: readonly RecordedEvent[],
): Promise<StreamViews> {
  const missingDeployments = new Map<string, { environment: string; version: number }>();
  for (const event of events) {
    if (event.type !== "ModelVersionDeployed" && event.type !== "ModelVersionDeploymentRetired") continue;
    const { environment, version } = event.data;
    const key = deploymentKey(environment, version);
    if (!views.deployments.has(key)) missingDeployments.set(key, { environment, version });
  }
  if (missingDeployments.size > 0) {
    const found = await loadDeployments(tx, views.streamId, [...missingDeployments.values()]);
    views = { ...views, deployments: new Map([...views.deployments, ...found]) };
  }
  const missingReviews = [...new Set(events.flatMap(reviewsTouchedBy))].filter(
    (id) => !views.reviews.has(id),
  );
  if (missingReviews.length > 0) {
    const found = await loadReviews(tx, missingReviews);
    views = {
      ...views,
      reviews: new Map([
        ...views.reviews,
        ...missingReviews.map((id) => [id, null] as const),
        ...found.map((r) => [r.id, r] as const),
      ]),
    };
  }
  // A version these events create has no row yet (its number is the model's next): nothing to load.
  const created = new Set(events.flatMap((e) => (e.type === "ModelVersionCreated" ? [e.data.version] : [])));
  for (const version of created)
    if (!views.versions.has(version))
      views = { ...views, versions: new Map([...views.versions, [version, null]]) };
  const missing = [...new Set(events.flatMap(versionsTouchedBy))].filter((v) => !views.versions.has(v));
  const missingComments = [...new Set(events.map(commentTouchedBy))].filter(
    (id): id is string => id !== null && !views.comments.has(id),
  );
  if (missing.length === 0 && missingComments.length === 0) return views;
  const extra = await loadStreamViews(tx, views.streamId, missing, null, missingComments);
  return {
    ...views,
    versions: new Map([...views.versions, ...extra.versions]),
    artifacts: new Map([...views.artifacts, ...extra.artifacts]),
    comments: new Map([...views.comments, ...extra.comments]),
  };
}

/** Pure: folds events into the loaded views. Versions a batch creates appear in the result. */
export function applyEvents(views: StreamViews, events: readonly RecordedEvent[]): StreamViews {
  let model = views.model;
  const versions = new Map(views.versions);
  const artifacts = new Map(views.artifacts);
  const comments = new Map(views.comments);
  const reviews = new Map(views.reviews);
  const deployments = new Map(views.deployments);
  for (const event of events) {
    model = evolveRegisteredModelView(model, event);
    const deployment = deploymentTouchedBy(event);
    if (deployment !== null)
      deployments.set(deployment, evolveDeploymentView(deployments.get(deployment) ?? null, event));
    const commentId = commentTouchedBy(event);
    if (commentId !== null)
      comments.set(commentId, evolveCommentView(comments.get(commentId) ?? null, event));
    for (const id of reviewsTouchedBy(event))
      reviews.set(id, evolveReviewRequestView(reviews.get(id) ?? null, event));
    for (const number of versionsTouchedBy(event)) {
      versions.set(number, evolveModelVersionView(versions.get(number) ?? null, event));
      const before = artifacts.get(number) ?? [];
      const after = evolveVersionArtifacts(number, before, event);
      if (after !== before || !artifacts.has(number)) artifacts.set(number, after);
    }
  }
  return { streamId: views.streamId, model, versions, artifacts, comments, reviews, deployments };
}

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

/**
 * SQL: a new version's `ref`, the global position of its ModelVersionCreated event, looked up by
 * the stream and revision bound here (the event is inserted before the version row, in order).
 */
export const VERSION_REF_OF_CREATION = "(SELECT position FROM events WHERE stream_id = ? AND revision = ?)";

/** Rows per INSERT: 3 parameters each stays far below SQLite's 32,766 bound parameters. */
const UPSERT_CHUNK = 500;

/** Deletes keys that disappeared and upserts keys whose value changed. */
async function syncKeyValues(
  tx: Tx,
  table: "registered_model_tags" | "model_version_tags" | "model_version_metrics",
  owner:
    | { readonly column: "model_id"; readonly id: string }
    | { readonly column: "version_ref"; readonly modelId: string; readonly version: number },
  before: Readonly<Record<string, string | number>>,
  after: Readonly<Record<string, string | number>>,
): Promise<void> {
  // A version's rows hold its integer `ref`, looked up by its model and number (a version row
  // inserted by the same command is already there: statements run in order).
  const [ownerValue, ownerParams] =
    owner.column === "version_ref"
      ? [versionRowStorage(tx.dialect).refOfNumber, [owner.modelId, owner.version]]
      : ["?", [owner.id]];
  // Own properties only: a tag named `toString` or `valueOf` is data, not Object.prototype's.
  const removed = Object.keys(before).filter((k) => !Object.hasOwn(after, k));
  if (removed.length > 0)
    await tx.later(
      `DELETE FROM ${table} WHERE ${owner.column} = ${ownerValue} AND key IN (${placeholders(removed.length)})`,
      [...ownerParams, ...removed],
    );
  const changed = Object.entries(after).filter(
    ([key, value]) => !Object.hasOwn(before, key) || before[key] !== value,
  );
  // A rebuild writes all of a version's metrics at once: there may be thousands.
  for (let start = 0; start < changed.length; start += UPSERT_CHUNK) {
    const chunk = changed.slice(start, start + UPSERT_CHUNK);
    await tx.later(
      `INSERT INTO ${table} (${owner.column}, key, value) VALUES ${chunk.map(() => `(${ownerValue}, ?, ?)`).join(", ")}
       ON CONFLICT (${owner.column}, key) DO UPDATE SET value = excluded.value`,
      chunk.flatMap(([key, value]) => [...ownerParams, key, value]),
    );
  }
}

const MODEL_COLUMNS = [
  "name",
  "description",
  "deleted",
  "deleted_at",
  "updated_at",
  "revision",
  "last_version",
  "review_policy",
] as const;
/** The stored policy: null when nothing is protected. */
export const reviewPolicyValue = (m: RegisteredModelView): string | null =>
  m.reviewPolicy.length === 0 ? null : JSON.stringify(m.reviewPolicy);
const modelValues = (m: RegisteredModelView): SqlValue[] => [
  m.name,
  m.description,
  m.deleted,
  m.deletedAt,
  m.updatedAt,
  m.revision,
  m.lastVersion,
  reviewPolicyValue(m),
];

const VERSION_COLUMNS = [
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
] as const;

const sameValue = (a: SqlValue, b: SqlValue): boolean =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;

/**
 * Updates only the columns whose value changed. Setting a column, even to its old value, makes
 * SQLite rewrite every index holding it: a version registered under a model set the model's name
 * and wrote its two name indexes' pages to the WAL on every command (#18).
 */
async function updateChanged(
  tx: Tx,
  table: string,
  columns: readonly string[],
  before: readonly SqlValue[],
  after: readonly SqlValue[],
  key: { readonly sql: string; readonly params: readonly SqlValue[] },
): Promise<void> {
  const changed = columns.flatMap((column, i) => (sameValue(before[i] ?? null, after[i] ?? null) ? [] : [i]));
  if (changed.length === 0) return;
  await tx.later(
    `UPDATE ${table} SET ${changed.map((i) => `${columns[i]} = ?`).join(", ")} WHERE ${key.sql}`,
    [...changed.map((i) => after[i] ?? null), ...key.params],
  );
}
const versionValues = (v: ModelVersionView): SqlValue[] => [
  v.stage,
  v.status,
  v.source,
  v.runId,
  v.description,
  json(v.params),
  json(v.metrics),
  v.deleted,
  v.deletedAt,
  v.updatedAt,
  json(v.signature),
];

const ARTIFACT_INSPECTION_COLUMNS = [
  "format",
  "format_version",
  "producer",
  "metadata",
  "verdict",
  "findings",
  "inspected_at",
];
/** An artifact row's inspection columns (ARTIFACT_INSPECTION_COLUMNS), as the inline writer and the rebuild store them. */
export const artifactInspectionValues = (a: ArtifactView): SqlValue[] => {
  const i = a.inspection;
  return i === null
    ? [null, null, null, null, null, null, null]
    : [
        i.format,
        i.formatVersion,
        json(i.producer),
        json(i.metadata),
        i.verdict,
        json(i.findings),
        i.inspectedAt,
      ];
};

export function createdRevision(view: ModelVersionView): number {
  if (view.createdRevision === undefined)
    throw new Error(`version ${view.id} is new to the projection but was not built from its creation event`);
  return view.createdRevision;
}

/** Writes the difference between two states of a stream's views. Run inside the write transaction. */
export async function persistStreamViews(tx: Tx, before: StreamViews, after: StreamViews): Promise<void> {
  const model = after.model;
  if (model === null) return;
  const previous = before.model;
  if (previous === null) {
    await tx.later(
      `INSERT INTO registered_models (id, created_at, created_by, name, description, deleted, deleted_at, updated_at, revision, last_version, review_policy)
       VALUES (${placeholders(11)})`,
      [model.id, model.createdAt, model.createdBy, ...modelValues(model)],
    );
  } else if (previous !== model) {
    await updateChanged(tx, "registered_models", MODEL_COLUMNS, modelValues(previous), modelValues(model), {
      sql: "id = ?",
      params: [model.id],
    });
  }

  // Versions before their tags, artifacts and aliases: those rows reference the version row.
  const rows = versionRowStorage(tx.dialect);
  for (const [number, view] of after.versions) {
    const old = before.versions.get(number) ?? null;
    if (view === null || view === old) continue;
    if (old === null) {
      await tx.later(
        `INSERT INTO ${rows.table} (ref, ${rows.modelColumn}, version, created_at, created_by, stage, status, source, run_id, description, params, metrics, deleted, deleted_at, updated_at, signature)
         VALUES (${VERSION_REF_OF_CREATION}, ${rows.modelValue}, ${placeholders(14)})`,
        [
          view.modelId,
          createdRevision(view),
          view.modelId,
          view.version,
          view.createdAt,
          view.createdBy,
          ...versionValues(view),
        ],
      );
    } else {
      await updateChanged(tx, rows.table, VERSION_COLUMNS, versionValues(old), versionValues(view), {
        sql: `${rows.modelColumn} = ${rows.modelValue} AND version = ?`,
        params: [view.modelId, view.version],
      });
    }
    await syncKeyValues(
      tx,
      "model_version_tags",
      { column: "version_ref", modelId: view.modelId, version: view.version },
      old?.tags ?? {},
      view.tags,
    );
    if (old === null || old.metrics !== view.metrics)
      await syncKeyValues(
        tx,
        "model_version_metrics",
        { column: "version_ref", modelId: view.modelId, version: view.version },
        old?.metrics ?? {},
        view.metrics,
      );
  }

  // Artifacts are never removed; a changed view object means a new path or a new inspection.
  for (const [number, list] of after.artifacts) {
    const old = before.artifacts.get(number) ?? [];
    if (list === old || after.versions.get(number) == null) continue;
    const oldByPath = new Map(old.map((a) => [a.path, a]));
    const changed = list.filter((a) => oldByPath.get(a.path) !== a);
    for (const a of changed) {
      await tx.later(
        `INSERT INTO model_version_artifacts (model_id, version, path, role, size, sha256, media_type, created_at, created_by, ${ARTIFACT_INSPECTION_COLUMNS.join(", ")})
         VALUES (${placeholders(16)})
         ON CONFLICT (model_id, version, path) DO UPDATE SET ${ARTIFACT_INSPECTION_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}`,
        [
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
        ],
      );
    }
  }

  // After the versions: a comment row references its version's row.
  await persistComments(tx, before.comments, after.comments);
  await persistDeployments(tx, before.deployments, after.deployments);

  await syncKeyValues(
    tx,
    "registered_model_tags",
    { column: "model_id", id: model.id },
    previous?.tags ?? {},
    model.tags,
  );

  const oldAliases = previous?.aliases ?? {};
  const removedAliases = Object.keys(oldAliases).filter((a) => !Object.hasOwn(model.aliases, a));
  if (removedAliases.length > 0)
    await tx.later(
      `DELETE FROM model_aliases WHERE model_id = ? AND alias IN (${placeholders(removedAliases.length)})`,
      [model.id, ...removedAliases],
    );
  for (const [alias, version] of Object.entries(model.aliases)) {
    if (Object.hasOwn(oldAliases, alias) && oldAliases[alias] === version) continue;
    await tx.later(
      `INSERT INTO model_aliases (model_id, alias, version) VALUES (?, ?, ?)
       ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version`,
      [model.id, alias, version],
    );
  }

  // After the model row, which the requests reference.
  await persistReviews(tx, before.reviews, after.reviews);

  const oldGrants = previous?.grants ?? {};
  if (oldGrants === model.grants) return;
  for (const key of Object.keys(oldGrants).filter((k) => !Object.hasOwn(model.grants, k))) {
    const grantee = granteeOfKey(key);
    await tx.later(
      "DELETE FROM model_permissions WHERE model_id = ? AND grantee_kind = ? AND grantee_id = ?",
      [model.id, grantee.kind, grantee.id],
    );
  }
  for (const [key, permission] of Object.entries(model.grants)) {
    if (Object.hasOwn(oldGrants, key) && oldGrants[key] === permission) continue;
    const grantee = granteeOfKey(key);
    await tx.later(
      `INSERT INTO model_permissions (model_id, grantee_kind, grantee_id, permission) VALUES (?, ?, ?, ?)
       ON CONFLICT (model_id, grantee_kind, grantee_id) DO UPDATE SET permission = excluded.permission`,
      [model.id, grantee.kind, grantee.id, permission],
    );
  }
}
