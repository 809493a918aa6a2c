// Since migration 20261220000000_event_stream today's append on SQLite writes `event_rows`, naming
// the stream by its ref in `event_streams`, and reads events through the `events` view, where older
// schemas have an `events` table holding the stream id (and the correlation id as text).
// withOldEventStreams lends an older SQLite schema that layout for a write by today's code (the
// events already there included), then puts the new events back into the older table, so that the
// database is as the registry of that time left it. PostgreSQL keeps its table: nothing to lend.
// Applied by ./oldVersionChildren.ts around every write it wraps, around ./oldVersionRows.ts.
import type BetterSqlite3 from "better-sqlite3";
import type { DatabaseConfig } from "../../src/config.ts";
import { withLentLayout } from "./schemaShims.ts";

const SET_ASIDE = "events_before_streams";
/** Today's append stores a UUID correlation id as its 16 bytes: read back as text, as the migration's view does. */
const CORRELATION_ID_TEXT = `CASE WHEN typeof(r.correlation_id) = 'blob' THEN lower(substr(hex(r.correlation_id), 1, 8)
  || '-' || substr(hex(r.correlation_id), 9, 4) || '-' || substr(hex(r.correlation_id), 13, 4) || '-'
  || substr(hex(r.correlation_id), 17, 4) || '-' || substr(hex(r.correlation_id), 21, 12)) ELSE r.correlation_id END`;

function lendEventStreams(db: BetterSqlite3.Database): ((db: BetterSqlite3.Database) => void) | null {
  const kind = db.prepare("SELECT type FROM sqlite_master WHERE name = 'events'").get() as
    { type: string } | undefined;
  if (kind?.type !== "table") return null;
  const columns = db.prepare("SELECT name, type FROM pragma_table_info('events')").all() as {
    name: string;
    type: string;
  }[];
  const stored = columns.map((c) => (c.name === "stream_id" ? "stream_ref" : c.name));
  const read = columns.map((c) =>
    c.name === "stream_id"
      ? "s.id AS stream_id"
      : c.name === "correlation_id"
        ? `${CORRELATION_ID_TEXT} AS correlation_id`
        : `r.${c.name}`,
  );
  db.exec(`CREATE TABLE event_streams (ref INTEGER NOT NULL PRIMARY KEY, id TEXT NOT NULL UNIQUE);
    INSERT INTO event_streams (id) SELECT stream_id FROM events GROUP BY stream_id ORDER BY MIN(position);
    ALTER TABLE events RENAME TO ${SET_ASIDE};
    CREATE TABLE event_rows (${columns
      .map((c) =>
        c.name === "position"
          ? "position INTEGER PRIMARY KEY"
          : c.name === "stream_id"
            ? "stream_ref INTEGER NOT NULL"
            : `${c.name} ${c.type}`,
      )
      .join(", ")}, UNIQUE (stream_ref, revision));
    INSERT INTO event_rows (${stored.join(", ")})
      SELECT ${columns.map((c) => (c.name === "stream_id" ? "s.ref" : `e.${c.name}`)).join(", ")}
      FROM ${SET_ASIDE} e JOIN event_streams s ON s.id = e.stream_id ORDER BY e.position;
    CREATE VIEW events AS SELECT ${read.join(", ")} FROM event_rows r LEFT JOIN event_streams s ON s.ref = r.stream_ref`);
  const names = columns.map((c) => c.name).join(", ");
  return (after) =>
    after.exec(`INSERT INTO ${SET_ASIDE} (${names}) SELECT ${names} FROM events
        WHERE position > (SELECT COALESCE(MAX(position), 0) FROM ${SET_ASIDE}) ORDER BY position;
      DROP VIEW events; DROP TABLE event_rows; DROP TABLE event_streams;
      ALTER TABLE ${SET_ASIDE} RENAME TO events`);
}

export const withOldEventStreams = (config: DatabaseConfig, write: () => Promise<void>): Promise<void> =>
  withLentLayout(config, lendEventStreams, write);
