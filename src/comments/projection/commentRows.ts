// The thin writer of model_version_comments, used by the model stream's views (src/projections/
// streamViews.ts) inline, and by the rebuild through them: loads the comments a command or a batch
// of events names, and writes back the ones that changed.
import type { Tx } from "../../db/database.ts";
import { placeholders, rowBool, rowDate, rowDateOrNull, rowInt } from "../../db/sql.ts";
import type { SqlValue } from "../../db/sql.ts";
import type { CommentView } from "./evolve.ts";

/** Columns in insert order (the rebuild inserts rows in this order too). */
export const COMMENT_COLUMNS = [
  "id",
  "model_id",
  "version",
  "author_id",
  "body",
  "created_at",
  "updated_at",
  "edited",
  "deleted",
  "deleted_at",
  "revision",
] as const;

export const commentRow = (c: CommentView): SqlValue[] => [
  c.id,
  c.modelId,
  c.version,
  c.authorId,
  c.body,
  c.createdAt,
  c.updatedAt,
  c.edited,
  c.deleted,
  c.deletedAt,
  c.revision,
];

const text = (value: unknown): string => (typeof value === "string" ? value : String(value));

function commentFromRow(row: Record<string, unknown>): CommentView {
  return {
    id: text(row.id),
    modelId: text(row.model_id),
    version: rowInt(row.version),
    authorId: text(row.author_id),
    body: row.body === null || row.body === undefined ? null : text(row.body),
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    edited: rowInt(row.edited),
    deleted: rowBool(row.deleted),
    deletedAt: rowDateOrNull(row.deleted_at),
    revision: rowInt(row.revision),
  };
}

/** The named comments of one model stream; null marks one known not to exist there. */
export async function loadComments(
  tx: Tx,
  streamId: string,
  ids: readonly string[],
): Promise<Map<string, CommentView | null>> {
  const loaded = new Map<string, CommentView | null>(ids.map((id) => [id, null]));
  if (ids.length === 0) return loaded;
  const rows = await tx.query(
    `SELECT * FROM model_version_comments WHERE model_id = ? AND id IN (${placeholders(ids.length)})`,
    [streamId, ...ids],
  );
  for (const row of rows) loaded.set(text(row.id), commentFromRow(row));
  return loaded;
}

/** Every column but the key (model_id, id). */
const UPDATED_COLUMNS = COMMENT_COLUMNS.filter((c) => c !== "id" && c !== "model_id");
const UPDATE_SQL = `UPDATE model_version_comments SET ${UPDATED_COLUMNS.map((c) => `${c} = ?`).join(", ")}
  WHERE model_id = ? AND id = ?`;

/** Writes the comments whose view changed between two states of a stream's views. */
export async function persistComments(
  tx: Tx,
  before: ReadonlyMap<string, CommentView | null>,
  after: ReadonlyMap<string, CommentView | null>,
): Promise<void> {
  for (const [id, view] of after) {
    const old = before.get(id) ?? null;
    if (view === null || view === old) continue;
    const values = commentRow(view);
    if (old === null)
      await tx.later(
        `INSERT INTO model_version_comments (${COMMENT_COLUMNS.join(", ")}) VALUES (${placeholders(COMMENT_COLUMNS.length)})`,
        values,
      );
    else await tx.later(UPDATE_SQL, [...values.slice(2), view.modelId, id]);
  }
}
