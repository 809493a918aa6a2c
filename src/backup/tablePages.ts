// Reading a whole table for a backup without holding it in memory: its rows in primary-key order, a
// page at a time (keyset pagination), from the backup's snapshot transaction. Shared by the copies
// of tables the event log cannot reproduce (src/usage, src/mlflow/tracking).
import type { SqlTx, SqlValue } from "../db/sql.ts";

export const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(", ");

/** Every row of a table in key order, a page at a time. */
export async function* tablePages(
  tx: SqlTx,
  table: string,
  key: readonly string[],
  columns: readonly string[],
  pageSize = 5_000,
): AsyncGenerator<Record<string, unknown>[]> {
  let after: SqlValue[] | null = null;
  for (;;) {
    const where: string = after === null ? "" : `WHERE (${quoted(key)}) > (${key.map(() => "?").join(", ")})`;
    const rows: Record<string, unknown>[] = await tx.query<Record<string, unknown>>(
      `SELECT ${quoted(columns)} FROM "${table}" ${where} ORDER BY ${quoted(key)} LIMIT ${pageSize}`,
      after ?? [],
    );
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = key.map((c) => last[c] as SqlValue);
  }
}
