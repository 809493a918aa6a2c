// `RegisteredModel.versions`: a page of one model's versions. As a Prisma relation (the plugin's
// relatedConnection) the page was a nested `take`, which Prisma cannot express per parent in SQL: it
// read every version of the model, with every column, and cut the page in memory (about 100 ms for a
// model with 10,000 versions). Here each model's page is found by an indexed query on
// (model_id, version) that stops after the page (raw SQL: an id query needs no Prisma planning), and
// the pages of every model of a request's list are then loaded by one Prisma query by id, with the
// fields the operation selects: a list of models still costs the same number of queries as one.
//
// The window is the one Pothos computes for Prisma (take, skip and a cursor row), applied as Prisma
// applies it: ordered by version, starting at the cursor row's version, negative take counting back.
import type { Database, Db } from "../../db/database.ts";
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
  readonly cursor?: { readonly id?: string | undefined } | undefined;
}

type SqlValue = string | number | boolean;

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

/** The ids of one model's versions in the window, in the page's order. */
async function versionPageIds(
  db: Database,
  modelId: string,
  filter: VersionPageFilter,
  window: VersionPageWindow,
): Promise<string[]> {
  const take = window.take ?? 0;
  if (take === 0) return [];
  const backwards = take < 0;
  const descending = (filter.direction ?? "desc") === "desc";
  // Prisma reads a negative take in the reverse order, then restores the page's order.
  const readDescending = descending !== backwards;
  const where = conditions(modelId, filter);
  const cursor = window.cursor?.id;
  if (cursor !== undefined) {
    where.sql += ` AND version ${readDescending ? "<=" : ">="} (SELECT version FROM model_versions WHERE id = ?)`;
    where.params.push(cursor);
  }
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM model_versions WHERE ${where.sql} ORDER BY version ${readDescending ? "DESC" : "ASC"} LIMIT ? OFFSET ?`,
    [...where.params, Math.abs(take), window.skip ?? 0],
  );
  const ids = rows.map((row) => row.id);
  return backwards ? ids.reverse() : ids;
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

interface Batch<Row> {
  readonly models: Set<string>;
  readonly pages: Promise<{ ids: Map<string, string[]>; rows: Map<string, Row> }>;
}

/** Batches pending per request (the context object) and page (selection, arguments, window). */
const pending = new WeakMap<object, Map<string, Batch<unknown>>>();

/**
 * One model's page of versions, loaded with `selection` (the Prisma select/include Pothos built for
 * the operation). Calls made for the same request, selection, arguments and window in the same turn
 * (one per model of a list) share one Prisma query, after each model's ids are found.
 */
export function versionPage<Row extends { id: string }>(
  request: { readonly db: Database; readonly reader: Db },
  modelId: string,
  selection: object,
  filter: VersionPageFilter,
  window: VersionPageWindow,
): Promise<Row[]> {
  const key = JSON.stringify([selection, filter, window]);
  let batches = pending.get(request);
  if (batches === undefined) {
    batches = new Map();
    pending.set(request, batches);
  }
  let batch = batches.get(key) as Batch<Row> | undefined;
  if (batch === undefined) {
    const own = batches;
    const models = new Set<string>();
    // Dispatched once the current turn's resolvers (the other models of the list) have joined.
    const pages = new Promise<void>((resolve) => process.nextTick(resolve)).then(async () => {
      own.delete(key);
      const ids = new Map(
        await Promise.all(
          [...models].map(
            async (model) => [model, await versionPageIds(request.db, model, filter, window)] as const,
          ),
        ),
      );
      const all = [...ids.values()].flat();
      const found =
        all.length === 0
          ? []
          : ((await request.reader.modelVersion.findMany({
              ...selection,
              where: { id: { in: all } },
            })) as unknown as Row[]);
      return { ids, rows: new Map(found.map((row) => [row.id, row])) };
    });
    batch = { models, pages };
    batches.set(key, batch);
  }
  batch.models.add(modelId);
  return batch.pages.then(({ ids, rows }) => (ids.get(modelId) ?? []).flatMap((id) => rows.get(id) ?? []));
}
