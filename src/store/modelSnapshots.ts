// Snapshots of folded model streams (table model_state_snapshots), so that an as-of read folds at
// most one snapshot interval of events whatever the stream's length. They are derived data: a
// snapshot is used only while it was folded by the current code (its fold version) and the event it
// ends at still carries the hash it was folded from (checked in the same query, against the event
// table). Since each event's hash chains over every earlier event of the stream, a log rewritten
// below the snapshot changes that hash and the snapshot is ignored, never trusted. Nothing needs
// rebuilding: a stale row is skipped, and overwritten when a later read folds past its revision.
import { hashOf } from "./eventCodec.ts";
import type { Database } from "../db/database.ts";
import { rowDate, rowInt } from "../db/sql.ts";
import {
  MODEL_HISTORY_FOLD_VERSION,
  decodeModelHistory,
  encodeModelHistory,
} from "../domain/registeredModel/history.ts";
import type { ModelHistory } from "../domain/registeredModel/history.ts";

/** Snapshots are kept at revisions that are multiples of this. */
export const SNAPSHOT_INTERVAL = 1000;

export interface ModelSnapshot {
  readonly streamId: string;
  /** Revision, position, time and hash of the last event folded in. */
  readonly revision: number;
  readonly position: number;
  readonly occurredAt: Date;
  /** The latest occurredAt among every event folded in. */
  readonly maxOccurredAt: Date;
  readonly hash: string;
  readonly history: ModelHistory;
}

/** Where an as-of read stops: after the last event at or before a log position, or before the first event recorded after a moment. */
export type SnapshotBound = { readonly position: number } | { readonly at: Date };

interface SnapshotRow {
  revision: number | string;
  position: number | string;
  occurred_at: unknown;
  max_occurred_at: unknown;
  hash: string;
  /** The event's hash as stored (32 bytes), compared here rather than in SQL: the snapshot keeps hex. */
  event_hash: unknown;
  state: string;
}

/** How many stale or unreadable snapshots a read skips before it folds from the start instead. */
const CANDIDATES = 3;

/**
 * The latest valid snapshot of a stream that lies entirely within `bound`: for a position, one that
 * ends at or before it; for a moment, one none of whose events was recorded after it (its
 * maxOccurredAt, not the time of its last event, since the clock may step back within a stream).
 */
export async function latestUsableSnapshot(
  database: Pick<Database, "query">,
  streamId: string,
  bound: SnapshotBound,
): Promise<ModelSnapshot | null> {
  const byPosition = "position" in bound;
  const rows = await database.query<SnapshotRow>(
    `SELECT s.revision, s.position, s.occurred_at, s.max_occurred_at, s.hash, e.hash AS event_hash, s.state
       FROM model_state_snapshots s
       JOIN events e ON e.stream_id = s.stream_id AND e.revision = s.revision
      WHERE s.stream_id = ? AND s.fold_version = ? AND e.position = s.position
        AND ${byPosition ? "s.position <= ?" : "s.max_occurred_at <= ?"}
      ORDER BY s.revision DESC LIMIT ${CANDIDATES}`,
    [streamId, MODEL_HISTORY_FOLD_VERSION, byPosition ? bound.position : bound.at],
  );
  for (const row of rows) {
    if (hashOf(row.event_hash) !== row.hash) continue;
    const history = decodeModelHistory(row.state);
    if (history === null) continue;
    return {
      streamId,
      revision: rowInt(row.revision),
      position: rowInt(row.position),
      occurredAt: rowDate(row.occurred_at),
      maxOccurredAt: rowDate(row.max_occurred_at),
      hash: row.hash,
      history,
    };
  }
  return null;
}

/** Stores snapshots, replacing any row at the same revision (a stale fold version, a hash that no longer matches). */
export async function saveSnapshots(database: Database, snapshots: readonly ModelSnapshot[]): Promise<void> {
  if (snapshots.length === 0) return;
  await database.write(async (tx) => {
    for (const s of snapshots)
      await tx.execute(
        `INSERT INTO model_state_snapshots
           (stream_id, revision, position, occurred_at, max_occurred_at, hash, state, fold_version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream_id, revision) DO UPDATE SET
           position = excluded.position, occurred_at = excluded.occurred_at,
           max_occurred_at = excluded.max_occurred_at, hash = excluded.hash,
           state = excluded.state, fold_version = excluded.fold_version`,
        [
          s.streamId,
          s.revision,
          s.position,
          s.occurredAt,
          s.maxOccurredAt,
          s.hash,
          encodeModelHistory(s.history),
          MODEL_HISTORY_FOLD_VERSION,
        ],
      );
  });
}
