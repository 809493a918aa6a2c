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

export async function tamper(config: DatabaseConfig, work: (t: Tamperer) => Promise<void>): Promise<void> {
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    try {
      db.exec(`DROP TRIGGER IF EXISTS "events_refuse_update"; DROP TRIGGER IF EXISTS "events_refuse_delete"`);
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
