// One page of a live model's versions for `model-versions/search` when the filter is exact
// equalities on the name, run_id, source_path and tags (see pageInDatabase), read past Prisma with
// the raw reader (../db/sql.ts): three statements whose text never depends on the page (the page's
// tags are found through the same conditions, not an IN list of its ids), so each is prepared once.
// Through Prisma the same page cost about 20 times the database's own time in query planning and
// row mapping. Only for callers who may read every model: the scoped reader's narrowing is Prisma's.
import type { Database } from "../db/database.ts";
import { groupTagsAndAliases, rowDate } from "../db/sql.ts";
import type { SqlValue, VersionAliasRow, VersionTagRow } from "../db/sql.ts";
import type { VersionRow } from "./mlflowJson.ts";
import type { Equality } from "./searchFilter.ts";

type OrderField = "name" | "version" | "createdAt" | "updatedAt";

const COLUMNS: Record<Exclude<OrderField, "name">, string> = {
  version: "v.version",
  createdAt: "v.created_at",
  updatedAt: "v.updated_at",
};

interface PageRow {
  ref: number | string | bigint;
  version: number;
  stage: string;
  status: string;
  source: string;
  run_id: string | null;
  description: string;
  created_at: string | Date;
  updated_at: string | Date;
  created_by: string;
}

/**
 * Rows `offset` to `offset + limit` of the live model `name`'s live versions matching `equalities`
 * (the name's own is implied), in `sortBy` order (the name orders nothing here), ties by id.
 */
export async function versionPageSql(
  db: Database,
  name: string,
  equalities: readonly Equality[],
  sortBy: readonly { field: OrderField; descending: boolean }[],
  offset: number,
  limit: number,
): Promise<VersionRow[]> {
  const conditions = [
    "v.model_id = (SELECT m.id FROM registered_models m WHERE m.name = ? AND m.deleted = ?)",
    "v.deleted = ?",
  ];
  const params: SqlValue[] = [name, false, false];
  for (const c of equalities) {
    if (c.on === "name") {
      if (c.value !== name) return [];
    } else if (c.on === "run_id" || c.on === "source_path") {
      conditions.push(c.on === "run_id" ? "v.run_id = ?" : "v.source = ?");
      params.push(c.value);
    } else if (c.on === "tag") {
      conditions.push(
        "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.version_ref = v.ref AND t.key = ? AND t.value = ?)",
      );
      params.push(c.key, c.value);
    } else return [];
  }
  const order = [
    ...sortBy.flatMap((o) =>
      o.field === "name" ? [] : [`${COLUMNS[o.field]} ${o.descending ? "DESC" : "ASC"}`],
    ),
    // Never decides (the order ends with the version number, unique in the one model): the integer
    // key keeps the order total as the id did, without reading the id (not indexed since #18).
    "v.ref ASC",
  ].join(", ");
  const page = `SELECT v.ref FROM model_versions v WHERE ${conditions.join(" AND ")} ORDER BY ${order} LIMIT ? OFFSET ?`;
  const pageParams = [...params, limit, offset];
  const [rows, tags, aliases] = await Promise.all([
    db.query<PageRow>(
      `SELECT v.ref, v.version, v.stage, v.status, v.source, v.run_id, v.description, v.created_at, v.updated_at, v.created_by
         FROM model_versions v WHERE ${conditions.join(" AND ")} ORDER BY ${order} LIMIT ? OFFSET ?`,
      pageParams,
    ),
    db.query<VersionTagRow>(
      `SELECT t.version_ref, t.key, t.value FROM model_version_tags t
        WHERE t.version_ref IN (${page}) ORDER BY t.version_ref, t.key`,
      pageParams,
    ),
    db.query<VersionAliasRow>(
      `SELECT a.version, a.alias FROM model_aliases a JOIN registered_models m ON m.id = a.model_id
        WHERE m.name = ? AND m.deleted = ? ORDER BY a.alias`,
      [name, false],
    ),
  ]);
  const { tagsOf, aliasesOf } = groupTagsAndAliases(tags, aliases);
  return rows.map((row) => ({
    version: Number(row.version),
    stage: row.stage,
    status: row.status,
    source: row.source,
    runId: row.run_id,
    description: row.description,
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    createdBy: row.created_by,
    tags: tagsOf.get(Number(row.ref)) ?? [],
    aliases: aliasesOf.get(Number(row.version)) ?? [],
  }));
}
