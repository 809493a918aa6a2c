// What an attacker with the database owner's rights can do: lift the events table's immutability
// triggers and change rows directly. Statements use `?` placeholders on both providers.
import { storedHash } from "../../src/store/eventCodec.ts";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";
import { eventHash } from "../../src/audit/eventHash.ts";
import { COLUMNS, EVENTS, chainedFromSqlRow } from "../../src/store/eventStore.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";
import { pgTypes } from "../../src/db/sql.ts";

export interface Tamperer {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * SQLite: the immutability triggers lifted. Since migration 20261220000000_event_stream `events`
 * is a view over `event_rows` (the stream id interned in `event_streams`): its refusing INSTEAD OF
 * triggers become ones that carry a change through to the row, so that statements naming `events`
 * read the same on both databases. An older schema (an `events` table) only loses its triggers.
 */
const LIFT_SQLITE_TRIGGERS = `
  DROP TRIGGER IF EXISTS "events_refuse_update"; DROP TRIGGER IF EXISTS "events_refuse_delete";
  DROP TRIGGER IF EXISTS "event_rows_refuse_update"; DROP TRIGGER IF EXISTS "event_rows_refuse_delete"`;
const PASS_THROUGH_VIEW = `
  CREATE TRIGGER IF NOT EXISTS "tamper_update" INSTEAD OF UPDATE ON "events" BEGIN
    INSERT INTO event_streams (id) VALUES (NEW.stream_id) ON CONFLICT (id) DO NOTHING;
    UPDATE event_rows SET position = NEW.position,
      stream_ref = (SELECT ref FROM event_streams WHERE id = NEW.stream_id), revision = NEW.revision,
      type = NEW.type, schema_version = NEW.schema_version, data = NEW.data, actor_ref = NEW.actor_ref,
      occurred_at = NEW.occurred_at, correlation_id = NEW.correlation_id, causation_id = NEW.causation_id,
      hash = NEW.hash
    WHERE position = OLD.position;
  END;
  CREATE TRIGGER IF NOT EXISTS "tamper_delete" INSTEAD OF DELETE ON "events" BEGIN
    DELETE FROM event_rows WHERE position = OLD.position;
  END;`;

export async function tamper(config: DatabaseConfig, work: (t: Tamperer) => Promise<void>): Promise<void> {
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    try {
      db.exec(LIFT_SQLITE_TRIGGERS);
      const events = db.prepare("SELECT type FROM sqlite_master WHERE name = 'events'").get() as {
        type: string;
      };
      if (events.type === "view") db.exec(PASS_THROUGH_VIEW);
      await work({
        query: <T>(sql: string, params: unknown[] = []) => {
          const statement = db.prepare(sql);
          return Promise.resolve(
            (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[],
          );
        },
      });
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(`ALTER TABLE "events" DISABLE TRIGGER "events_refuse_update_delete"`);
    await work({
      query: async <T>(sql: string, params: unknown[] = []) => {
        let n = 0;
        const result = await client.query({
          text: sql.replace(/\?/g, () => `$${++n}`),
          values: params,
          types: pgTypes(pg.types),
        });
        return result.rows as T[];
      },
    });
  } finally {
    await client.end();
  }
}

/** As the store reads them: the type as its name (the column holds its code). */
const SELECT_EVENTS = `SELECT position, ${COLUMNS}, hash FROM ${EVENTS}`;

export const streamRows = (t: Tamperer, streamId: string) =>
  t.query<ChainSqlRow>(`${SELECT_EVENTS} WHERE stream_id = ? ORDER BY revision`, [streamId]);

/**
 * Rewrites a stream's first event payload and re-hashes the whole stream consistently: the chain
 * holds again, and only a checkpoint taken before can tell.
 */
export async function rewriteStream(t: Tamperer, streamId: string, data: unknown): Promise<void> {
  let previous: string | null = null;
  for (const row of await streamRows(t, streamId)) {
    const event = chainedFromSqlRow(row);
    const fields = event.revision === 1 ? { ...event, data } : event;
    const hash = eventHash(fields, previous);
    previous = hash;
    await t.query("UPDATE events SET data = ?, hash = ? WHERE position = ?", [
      JSON.stringify(fields.data),
      storedHash(hash),
      event.position,
    ]);
  }
}
