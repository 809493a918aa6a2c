// Keyset pages of the log in (stream id, revision) order: how the chain verification and the
// projection rebuild walk every stream whole, a page at a time, whatever the size of the log.
//
// A page after a cursor is the rest of the cursor's stream, then the streams after it: two
// statements with plain comparisons on the stream id rather than one row-value comparison
// `(stream_id, revision) > (?, ?)`. On SQLite `events` is a view that joins each row's stream id
// back from `event_streams` (migration 20261220000000_event_stream): SQLite plans a range on the
// stream id as a walk of `event_streams_id_key` in order with each stream's rows read through
// `event_rows_stream_ref_revision_key`, already in page order; a row-value comparison, or no
// condition on the stream id at all, reads and sorts the whole log for every page. PostgreSQL reads
// both forms through its `(stream_id, revision)` index.
import type { SqlValue } from "../db/sql.ts";

export interface StreamCursor {
  readonly streamId: string;
  readonly revision: number;
}

export interface StreamOrderPage {
  /** `SELECT <columns> FROM <events>`: the read, without WHERE. */
  readonly select: string;
  /**
   * Conditions every row must also meet (ANDed), with their parameters. A condition on `position`
   * should be written `+position` so that SQLite does not take it as the plan's range.
   */
  readonly filter?: { readonly sql: string; readonly params: readonly SqlValue[] };
  readonly after: StreamCursor | null;
  readonly limit: number;
}

/** The next page: up to `limit` rows after `after` in (stream id, revision) order. */
export async function readInStreamOrder<R>(
  query: (sql: string, params: readonly SqlValue[]) => Promise<R[]>,
  page: StreamOrderPage,
): Promise<R[]> {
  const extra = page.filter === undefined ? "" : ` AND ${page.filter.sql}`;
  const extraParams = page.filter?.params ?? [];
  let rows: R[] = [];
  if (page.after !== null) {
    rows = await query(
      `${page.select} WHERE stream_id = ? AND revision > ?${extra} ORDER BY revision LIMIT ?`,
      [page.after.streamId, page.after.revision, ...extraParams, page.limit],
    );
    if (rows.length >= page.limit) return rows;
  }
  // From the first stream (every id is >= ''), or from the one after the cursor's.
  const following = await query(
    `${page.select} WHERE stream_id ${page.after === null ? ">=" : ">"} ?${extra} ORDER BY stream_id, revision LIMIT ?`,
    [page.after?.streamId ?? "", ...extraParams, page.limit - rows.length],
  );
  return rows.length === 0 ? following : rows.concat(following);
}
