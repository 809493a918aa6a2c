// The thin writer behind the pure projections: loads the rows of one model stream that a batch of
// events touches, folds the events through the pure evolve functions, and writes back only what
// changed. Inline projection runs inside the append's transaction; the rebuild uses the same code.
import type { Db, Prisma, Tx } from "../db/database.ts";
import { versionsTouchedBy } from "../domain/registeredModel/events.ts";
import type { Metrics, Params, Stage, Tags, VersionStatus } from "../domain/registeredModel/events.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import { evolveVersionArtifacts } from "./modelVersionArtifacts/evolve.ts";
import type { ArtifactView } from "./modelVersionArtifacts/evolve.ts";
import { evolveModelVersionView, modelVersionId } from "./modelVersions/evolve.ts";
import type { ModelVersionView } from "./modelVersions/evolve.ts";
import { evolveRegisteredModelView } from "./registeredModels/evolve.ts";
import type { RegisteredModelView } from "./registeredModels/evolve.ts";

export interface StreamViews {
  readonly streamId: string;
  readonly model: RegisteredModelView | null;
  /** Loaded versions only; null marks a version known not to exist. */
  readonly versions: ReadonlyMap<number, ModelVersionView | null>;
  /** Artifacts of the loaded versions (complete per version), by version number. */
  readonly artifacts: ReadonlyMap<number, readonly ArtifactView[]>;
}

type Reader = Db | Tx;

const toTags = (rows: { key: string; value: string }[]): Tags => Object.fromEntries(rows.map((r) => [r.key, r.value]));

type VersionRow = Prisma.ModelVersionGetPayload<{ include: { tags: true } }>;

function versionFromRow(row: VersionRow): ModelVersionView {
  return {
    id: row.id,
    modelId: row.modelId,
    version: row.version,
    stage: row.stage as Stage,
    status: row.status as VersionStatus,
    source: row.source,
    runId: row.runId,
    description: row.description,
    params: row.params as Params,
    metrics: row.metrics as Metrics,
    deleted: row.deleted,
    deletedAt: row.deletedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    tags: toTags(row.tags),
  };
}

const artifactSelect = {
  versionId: true,
  path: true,
  role: true,
  size: true,
  sha256: true,
  mediaType: true,
  createdAt: true,
  createdBy: true,
} as const;

type ArtifactRow = Prisma.ModelVersionArtifactGetPayload<{ select: typeof artifactSelect }>;

function artifactFromRow(row: ArtifactRow): ArtifactView {
  return { ...row, role: row.role as ArtifactView["role"], size: Number(row.size) };
}

async function loadArtifacts(db: Reader, streamId: string, versions: Iterable<number>): Promise<Map<number, ArtifactView[]>> {
  const numbers = [...versions];
  const byVersion = new Map<number, ArtifactView[]>(numbers.map((v) => [v, []]));
  if (numbers.length === 0) return byVersion;
  const ids = new Map(numbers.map((v) => [modelVersionId(streamId, v), v]));
  const rows = await db.modelVersionArtifact.findMany({
    where: { versionId: { in: [...ids.keys()] } },
    select: artifactSelect,
    orderBy: [{ createdAt: "asc" }, { path: "asc" }],
  });
  for (const row of rows) byVersion.get(ids.get(row.versionId) ?? 0)?.push(artifactFromRow(row));
  return byVersion;
}

export async function loadStreamViews(
  db: Reader,
  streamId: string,
  versions: readonly number[],
  versionsInStage: Stage | null,
): Promise<StreamViews> {
  const [model, byNumber, inStage] = await Promise.all([
    db.registeredModel.findUnique({ where: { id: streamId }, include: { tags: true, aliases: true } }),
    versions.length === 0
      ? Promise.resolve([])
      : db.modelVersion.findMany({ where: { modelId: streamId, version: { in: [...versions] } }, include: { tags: true } }),
    versionsInStage === null
      ? Promise.resolve([])
      : db.modelVersion.findMany({
          where: { modelId: streamId, stage: versionsInStage, deleted: false },
          include: { tags: true },
        }),
  ]);
  const loaded = new Map<number, ModelVersionView | null>(versions.map((v) => [v, null]));
  for (const row of [...byNumber, ...inStage]) loaded.set(row.version, versionFromRow(row));
  const existing = [...loaded].filter(([, view]) => view !== null).map(([number]) => number);
  const artifacts = await loadArtifacts(db, streamId, existing);
  return {
    streamId,
    model: model && {
      id: model.id,
      name: model.name,
      description: model.description,
      deleted: model.deleted,
      deletedAt: model.deletedAt,
      createdAt: model.createdAt,
      updatedAt: model.updatedAt,
      createdBy: model.createdBy,
      revision: model.revision,
      lastVersion: model.lastVersion,
      tags: toTags(model.tags),
      aliases: Object.fromEntries(model.aliases.map((a) => [a.alias, a.version])),
    },
    versions: loaded,
    artifacts,
  };
}

export const emptyStreamViews = (streamId: string): StreamViews => ({
  streamId,
  model: null,
  versions: new Map(),
  artifacts: new Map(),
});

/** Loads the versions that `events` touch and that `views` does not hold yet. */
export async function withVersionsFor(db: Reader, views: StreamViews, events: readonly RecordedEvent[]): Promise<StreamViews> {
  const missing = [...new Set(events.flatMap(versionsTouchedBy))].filter((v) => !views.versions.has(v));
  if (missing.length === 0) return views;
  const extra = await loadStreamViews(db, views.streamId, missing, null);
  return {
    ...views,
    versions: new Map([...views.versions, ...extra.versions]),
    artifacts: new Map([...views.artifacts, ...extra.artifacts]),
  };
}

/** Pure: folds events into the loaded views. Versions a batch creates appear in the result. */
export function applyEvents(views: StreamViews, events: readonly RecordedEvent[]): StreamViews {
  let model = views.model;
  const versions = new Map(views.versions);
  const artifacts = new Map(views.artifacts);
  for (const event of events) {
    model = evolveRegisteredModelView(model, event);
    for (const number of versionsTouchedBy(event)) {
      versions.set(number, evolveModelVersionView(versions.get(number) ?? null, event));
      const before = artifacts.get(number) ?? [];
      const after = evolveVersionArtifacts(number, before, event);
      if (after !== before || !artifacts.has(number)) artifacts.set(number, after);
    }
  }
  return { streamId: views.streamId, model, versions, artifacts };
}

async function syncTags(
  before: Tags,
  after: Tags,
  remove: (keys: string[]) => Promise<unknown>,
  upsert: (key: string, value: string, existed: boolean) => Promise<unknown>,
) {
  const removed = Object.keys(before).filter((k) => !(k in after));
  if (removed.length > 0) await remove(removed);
  for (const [key, value] of Object.entries(after)) {
    if (before[key] !== value) await upsert(key, value, key in before);
  }
}

function modelRow(view: RegisteredModelView) {
  const { tags: _tags, aliases: _aliases, ...row } = view;
  return row;
}

function versionRow(view: ModelVersionView) {
  const { tags: _tags, ...row } = view;
  return { ...row, params: row.params as Prisma.InputJsonObject, metrics: row.metrics as Prisma.InputJsonObject };
}

/** Writes the difference between two states of a stream's views. Run inside the write transaction. */
export async function persistStreamViews(tx: Tx, before: StreamViews, after: StreamViews): Promise<void> {
  const model = after.model;
  if (model === null) return;
  const previous = before.model;
  if (previous === null) {
    await tx.registeredModel.create({ data: modelRow(model) });
  } else {
    await tx.registeredModel.update({ where: { id: model.id }, data: modelRow(model) });
  }

  // Versions before aliases: an alias row references its version row.
  for (const [number, view] of after.versions) {
    const old = before.versions.get(number) ?? null;
    if (view === null || view === old) continue;
    if (old === null) {
      await tx.modelVersion.create({ data: versionRow(view) });
      const tags = Object.entries(view.tags).map(([key, value]) => ({ versionId: view.id, key, value }));
      if (tags.length > 0) await tx.modelVersionTag.createMany({ data: tags });
      continue;
    }
    await tx.modelVersion.update({ where: { id: view.id }, data: versionRow(view) });
    await syncTags(
      old.tags,
      view.tags,
      (keys) => tx.modelVersionTag.deleteMany({ where: { versionId: view.id, key: { in: keys } } }),
      (key, value, existed) =>
        existed
          ? tx.modelVersionTag.update({ where: { versionId_key: { versionId: view.id, key } }, data: { value } })
          : tx.modelVersionTag.create({ data: { versionId: view.id, key, value } }),
    );
  }

  // Artifacts are immutable once added: only new paths are written.
  for (const [number, list] of after.artifacts) {
    const old = before.artifacts.get(number) ?? [];
    if (list === old || after.versions.get(number) == null) continue;
    const known = new Set(old.map((a) => a.path));
    const added = list.filter((a) => !known.has(a.path));
    if (added.length > 0) await tx.modelVersionArtifact.createMany({ data: added.map((a) => ({ ...a, size: BigInt(a.size) })) });
  }

  await syncTags(
    previous?.tags ?? {},
    model.tags,
    (keys) => tx.registeredModelTag.deleteMany({ where: { modelId: model.id, key: { in: keys } } }),
    (key, value, existed) =>
      existed
        ? tx.registeredModelTag.update({ where: { modelId_key: { modelId: model.id, key } }, data: { value } })
        : tx.registeredModelTag.create({ data: { modelId: model.id, key, value } }),
  );

  const oldAliases = previous?.aliases ?? {};
  const removedAliases = Object.keys(oldAliases).filter((a) => !(a in model.aliases));
  if (removedAliases.length > 0)
    await tx.modelAlias.deleteMany({ where: { modelId: model.id, alias: { in: removedAliases } } });
  for (const [alias, version] of Object.entries(model.aliases)) {
    if (oldAliases[alias] === version) continue;
    const versionId = modelVersionId(model.id, version);
    await tx.modelAlias.upsert({
      where: { modelId_alias: { modelId: model.id, alias } },
      create: { modelId: model.id, alias, version, versionId },
      update: { version, versionId },
    });
  }
}
