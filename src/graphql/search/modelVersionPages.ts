// `RegisteredModel.versions`: a page of one model's versions. As a Prisma relation (the plugin's
// relatedConnection) the page was a nested `take`, which Prisma cannot express per parent in SQL: it
// read every version of the model, with every column, and cut the page in memory (about 100 ms for a
// model with 10,000 versions). Here each model's page is found by an indexed query on
// (model_id, version) that stops after the page (raw SQL: a key query needs no Prisma planning), and
// the pages of every model of a request's list are then loaded by one Prisma query by `ref`, with the
// fields the operation selects: a list of models still costs the same number of queries as one.
// One model's page whose selection is only the version's columns, tags and aliases (what a versions
// table or a serving client asks) is read past Prisma altogether, in the shape Prisma returns: on a
// loaded machine Prisma's planning and row mapping of those three statements took 8-15 ms of a page
// of 100 whose SQL takes under 2 ms.
//
// The window is the one Pothos computes for Prisma (take, skip and a cursor row), applied as Prisma
// applies it: ordered by version, starting at the cursor row's version, negative take counting back.
import DataLoader from "dataloader";
import { MistypedCursorError, cursorMistyped } from "../../db/cursorTypes.ts";
import type { Database, Db } from "../../db/database.ts";
import { groupTagsAndAliases, rowBool, rowDate, rowDateOrNull, rowJson } from "../../db/sql.ts";
import type { SqlValue, VersionAliasRow, VersionTagRow } from "../../db/sql.ts";
import type { Stage } from "../../domain/registeredModel/events.ts";

/** The field's own arguments. */
export interface VersionPageFilter {
  readonly stage?: Stage | null | undefined;
  readonly includeDeleted?: boolean | null | undefined;
  readonly direction?: "asc" | "desc" | null | undefined;
}

/** Pothos' window for Prisma: `take` rows (backwards when negative) from the cursor row, `skip` first. */
export interface VersionPageWindow {
  readonly take?: number | undefined;
  readonly skip?: number | undefined;
  readonly cursor?: { readonly ref?: number | undefined } | undefined;
}

function conditions(modelId: string, filter: VersionPageFilter): { sql: string; params: SqlValue[] } {
  let sql = "model_id = ?";
  const params: SqlValue[] = [modelId];
  if (!filter.includeDeleted) {
    sql += " AND deleted = ?";
    params.push(false);
  }
  if (filter.stage) {
    sql += " AND stage = ?";
    params.push(filter.stage);
  }
  return { sql, params };
}

/** The window as SQL: `SELECT <what> FROM model_versions <page.sql>` lists it (reversed when `backwards`). */
function pageQuery(modelId: string, filter: VersionPageFilter, window: VersionPageWindow) {
  const take = window.take ?? 0;
  const backwards = take < 0;
  const descending = (filter.direction ?? "desc") === "desc";
  // Prisma reads a negative take in the reverse order, then restores the page's order.
  const readDescending = descending !== backwards;
  const where = conditions(modelId, filter);
  const cursor = window.cursor?.ref;
  if (cursor !== undefined) {
    where.sql += ` AND version ${readDescending ? "<=" : ">="} (SELECT version FROM model_versions WHERE ref = ?)`;
    where.params.push(cursor);
  }
  return {
    sql: `WHERE ${where.sql} ORDER BY version ${readDescending ? "DESC" : "ASC"} LIMIT ? OFFSET ?`,
    params: [...where.params, Math.abs(take), window.skip ?? 0],
    backwards,
    empty: take === 0,
  };
}

/** The `ref`s of one model's versions in the window, in the page's order. */
async function versionPageRefs(
  db: Database,
  modelId: string,
  filter: VersionPageFilter,
  window: VersionPageWindow,
): Promise<number[]> {
  const page = pageQuery(modelId, filter, window);
  if (page.empty) return [];
  const rows = await db.query<{ ref: number | string | bigint }>(
    `SELECT ref FROM model_versions ${page.sql}`,
    page.params,
  );
  const refs = rows.map((row) => Number(row.ref));
  return page.backwards ? refs.reverse() : refs;
}

/**
 * The selections a row of model_versions with its tags and aliases can answer without Prisma: the
 * versions table shown in a UI or read by a serving client (scalars, `tags`, `aliases`).
 */
const PLAIN_RELATIONS: Record<string, string> = {
  tags: JSON.stringify({ orderBy: { key: "asc" }, select: { key: true, value: true } }),
  aliases: JSON.stringify({ orderBy: { alias: "asc" }, select: { alias: true } }),
};

function plainSelection(selection: object): { tags: boolean; aliases: boolean } | null {
  const keys = Object.keys(selection);
  if (keys.length === 0) return { tags: false, aliases: false };
  if (keys.length !== 1 || keys[0] !== "include") return null;
  const include = (selection as { include: Record<string, unknown> }).include;
  for (const [relation, query] of Object.entries(include))
    if (PLAIN_RELATIONS[relation] === undefined || JSON.stringify(query) !== PLAIN_RELATIONS[relation])
      return null;
  return { tags: "tags" in include, aliases: "aliases" in include };
}

interface VersionColumns {
  ref: number | string | bigint;
  id: string;
  model_id: string;
  version: number;
  stage: string;
  status: string;
  source: string;
  run_id: string | null;
  description: string;
  params: unknown;
  metrics: unknown;
  deleted: boolean | number;
  deleted_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  created_by: string;
  search_description: string;
  signature: unknown;
}

/**
 * One model's page as Prisma returns it for a plain selection (every column, and the tags and
 * aliases asked for, sorted as their selections sort them), in three statements whose text does not
 * depend on the page: the page itself, and its tags through the same conditions.
 */
async function plainPage(
  db: Database,
  modelId: string,
  filter: VersionPageFilter,
  window: VersionPageWindow,
  relations: { tags: boolean; aliases: boolean },
): Promise<object[]> {
  const page = pageQuery(modelId, filter, window);
  if (page.empty) return [];
  const [rows, tags, aliases] = await Promise.all([
    db.query<VersionColumns>(
      `SELECT ref, id, model_id, version, stage, status, source, run_id, description, params, metrics, deleted,
              deleted_at, created_at, updated_at, created_by, search_description, signature
         FROM model_versions ${page.sql}`,
      page.params,
    ),
    relations.tags
      ? db.query<VersionTagRow>(
          `SELECT version_ref, key, value FROM model_version_tags
            WHERE version_ref IN (SELECT ref FROM model_versions ${page.sql}) ORDER BY version_ref, key`,
          page.params,
        )
      : [],
    relations.aliases
      ? db.query<VersionAliasRow>(
          "SELECT version, alias FROM model_aliases WHERE model_id = ? ORDER BY alias",
          [modelId],
        )
      : [],
  ]);
  const { tagsOf, aliasesOf } = groupTagsAndAliases(tags, aliases);
  const versions = rows.map((row) => ({
    ref: Number(row.ref),
    id: row.id,
    modelId: row.model_id,
    version: Number(row.version),
    stage: row.stage,
    status: row.status,
    source: row.source,
    runId: row.run_id,
    description: row.description,
    params: rowJson(row.params),
    metrics: rowJson(row.metrics),
    deleted: rowBool(row.deleted),
    deletedAt: rowDateOrNull(row.deleted_at),
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    createdBy: row.created_by,
    searchDescription: row.search_description,
    signature: row.signature === null ? null : rowJson(row.signature),
    ...(relations.tags ? { tags: tagsOf.get(Number(row.ref)) ?? [] } : {}),
    ...(relations.aliases ? { aliases: aliasesOf.get(Number(row.version)) ?? [] } : {}),
  }));
  return page.backwards ? versions.reverse() : versions;
}

/** How many of the model's versions match the field's arguments (all pages). */
export async function versionPageCount(db: Database, modelId: string, filter: VersionPageFilter) {
  const where = conditions(modelId, filter);
  const [row] = await db.query<{ n: number | string | bigint }>(
    `SELECT COUNT(*) AS n FROM model_versions WHERE ${where.sql}`,
    where.params,
  );
  return Number(row?.n ?? 0);
}

/** Rows of each model's page, read for the models of one batch. */
async function versionPages<Row extends { ref: number }>(
  request: { readonly db: Database; readonly reader: Db },
  models: ReadonlySet<string>,
  selection: object,
  filter: VersionPageFilter,
  window: VersionPageWindow,
): Promise<{ refs: Map<string, number[]>; rows: Map<number, Row> }> {
  // One model (a model page, as UIs and serving clients read it) with a plain selection: past Prisma.
  const plain = models.size === 1 ? plainSelection(selection) : null;
  if (plain !== null) {
    const [model] = models;
    const rows = (await plainPage(request.db, model!, filter, window, plain)) as Row[];
    return {
      refs: new Map([[model!, rows.map((row) => row.ref)]]),
      rows: new Map(rows.map((row) => [row.ref, row])),
    };
  }
  const refs = new Map(
    await Promise.all(
      [...models].map(
        async (model) => [model, await versionPageRefs(request.db, model, filter, window)] as const,
      ),
    ),
  );
  const all = [...refs.values()].flat();
  const found =
    all.length === 0
      ? []
      : ((await request.reader.modelVersion.findMany({
          ...selection,
          where: { ref: { in: all } },
        })) as unknown as Row[]);
  return { refs, rows: new Map(found.map((row) => [row.ref, row])) };
}

/**
 * Loaders per request (the context object) and page (selection, arguments, window), by model id.
 * Nothing is kept past a batch: a later mutation of the same operation changes versions.
 */
const loaders = new WeakMap<object, Map<string, DataLoader<string, object[]>>>();

/**
 * One model's page of versions, loaded with `selection` (the Prisma select/include Pothos built for
 * the operation). Calls made for the same request, selection, arguments and window in the same turn
 * (one per model of a list) share one Prisma query, after each model's refs are found.
 */
export function versionPage<Row extends { ref: number }>(
  request: { readonly db: Database; readonly reader: Db },
  modelId: string,
  selection: object,
  filter: VersionPageFilter,
  window: VersionPageWindow,
): Promise<Row[]> {
  // Read past Prisma, so not checked by the reader's guard (../../db/guardDecodedArguments.ts).
  if (window.cursor !== undefined && cursorMistyped("ModelVersion", window.cursor))
    return Promise.reject(new MistypedCursorError());
  const key = JSON.stringify([selection, filter, window]);
  let pages = loaders.get(request);
  if (pages === undefined) loaders.set(request, (pages = new Map<string, DataLoader<string, object[]>>()));
  let loader = pages.get(key);
  if (loader === undefined) {
    loader = new DataLoader(
      async (models) => {
        const { refs, rows } = await versionPages<Row>(request, new Set(models), selection, filter, window);
        return models.map((model) => (refs.get(model) ?? []).flatMap((ref) => rows.get(ref) ?? []));
      },
      { cache: false },
    );
    pages.set(key, loader);
  }
  return loader.load(modelId) as Promise<Row[]>;
}
