// Registro's projection rows as MLflow's proto-JSON: snake_case, epoch milliseconds, versions as
// strings, tags as [{key, value}]. Like MLflow's proto-JSON, absent optional fields and empty lists
// are left out rather than sent as null or [].
import type { Prisma } from "../db/database.ts";

interface TagRow {
  readonly key: string;
  readonly value: string;
}

export interface VersionRow {
  readonly version: number;
  readonly stage: string;
  readonly status: string;
  readonly source: string;
  readonly runId: string | null;
  readonly description: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string;
  readonly tags: readonly TagRow[];
  readonly aliases: readonly { readonly alias: string }[];
}

export interface ModelRow {
  readonly name: string;
  readonly description: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string;
  readonly tags: readonly TagRow[];
  readonly aliases: readonly { readonly alias: string; readonly version: number }[];
  readonly versions: readonly VersionRow[];
}

/** What a model row must select for `registeredModelJson` (latest live version per stage). */
export const MODEL_SELECT = {
  name: true,
  description: true,
  createdAt: true,
  updatedAt: true,
  createdBy: true,
  tags: { select: { key: true, value: true }, orderBy: { key: "asc" } },
  aliases: { select: { alias: true, version: true }, orderBy: { alias: "asc" } },
  versions: {
    where: { deleted: false },
    orderBy: [{ stage: "asc" }, { version: "desc" }],
    distinct: ["stage"],
    select: {
      version: true,
      stage: true,
      status: true,
      source: true,
      runId: true,
      description: true,
      createdAt: true,
      updatedAt: true,
      createdBy: true,
      tags: { select: { key: true, value: true }, orderBy: { key: "asc" } },
      aliases: { select: { alias: true }, orderBy: { alias: "asc" } },
    },
  },
} satisfies Prisma.RegisteredModelSelect;

/** What a version row must select for `modelVersionJson`. */
export const VERSION_SELECT = MODEL_SELECT.versions.select;

/** A view's tags as rows, by key in code-unit order (the order reads answer on SQLite). */
export const sortedTags = (tags: Readonly<Record<string, string>>): TagRow[] =>
  Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));

const tagsJson = (tags: readonly TagRow[]) => tags.map((t) => ({ key: t.key, value: t.value }));

const nonEmpty = <K extends string, V>(key: K, list: readonly V[]) =>
  (list.length > 0 ? { [key]: list } : {}) as Partial<Record<K, V[]>>;

const text = <K extends string>(key: K, value: string | null) =>
  (value === null || value === "" ? {} : { [key]: value }) as Partial<Record<K, string>>;

export function modelVersionJson(modelName: string, row: VersionRow) {
  return {
    name: modelName,
    version: String(row.version),
    creation_timestamp: row.createdAt.getTime(),
    last_updated_timestamp: row.updatedAt.getTime(),
    ...text("user_id", row.createdBy),
    current_stage: row.stage,
    ...text("description", row.description),
    source: row.source,
    ...text("run_id", row.runId),
    status: row.status,
    ...nonEmpty("tags", tagsJson(row.tags)),
    ...nonEmpty(
      "aliases",
      row.aliases.map((a) => a.alias),
    ),
  };
}

export function registeredModelJson(row: ModelRow) {
  // The latest live version of each stage, oldest first.
  const latest = [...row.versions].sort((a, b) => a.version - b.version);
  return {
    name: row.name,
    creation_timestamp: row.createdAt.getTime(),
    last_updated_timestamp: row.updatedAt.getTime(),
    ...text("user_id", row.createdBy),
    ...text("description", row.description),
    ...nonEmpty(
      "latest_versions",
      latest.map((v) => modelVersionJson(row.name, v)),
    ),
    ...nonEmpty("tags", tagsJson(row.tags)),
    ...nonEmpty(
      "aliases",
      row.aliases.map((a) => ({ alias: a.alias, version: String(a.version) })),
    ),
  };
}
