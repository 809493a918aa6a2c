// The JavaScript step of migration 20261204000000_event_chain: events written before the chain
// existed get their hashes, stream by stream in revision order, inside the migration's transaction
// (run as the database owner: the immutability trigger is lifted for exactly these updates and
// restored before the transaction commits). Pages keep memory constant over any log size.
import type BetterSqlite3 from "better-sqlite3";
import pgModule from "pg";
import type pg from "pg";
import { pgTypes } from "../db/sql.ts";
import { chainedFromSqlRow } from "../store/eventStore.ts";
import type { ChainSqlRow } from "../store/eventStore.ts";
import { eventHash } from "./eventHash.ts";

export const CHAIN_MIGRATION = "20261204000000_event_chain";

const PAGE = 1000;
const SELECT_PAGE = `SELECT position, stream_id, revision, type, schema_version, data, actor, actor_id, actor_kind,
  actor_credential, occurred_at, correlation_id, causation_id, hash FROM events`;

/** Hashes one page of rows in (stream, revision) order, carrying the previous hash across pages. */
function hashPage(
  rows: readonly ChainSqlRow[],
  carried: { streamId: string | null; hash: string | null },
): { position: number; hash: string }[] {
  return rows.map((row) => {
    const event = chainedFromSqlRow(row);
    const previous = event.streamId === carried.streamId ? carried.hash : null;
    const hash = eventHash(event, previous);
    carried.streamId = event.streamId;
    carried.hash = hash;
    return { position: event.position, hash };
  });
}

const SQLITE_UPDATE_TRIGGER = `CREATE TRIGGER "events_refuse_update" BEFORE UPDATE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END`;

export function backfillChainSqlite(db: BetterSqlite3.Database): number {
  db.exec(`DROP TRIGGER "events_refuse_update"`);
  const page = db.prepare(
    `${SELECT_PAGE} WHERE (stream_id > ? OR (stream_id = ? AND revision > ?)) ORDER BY stream_id, revision LIMIT ${PAGE}`,
  );
  const update = db.prepare("UPDATE events SET hash = ? WHERE position = ?");
  const carried = { streamId: null as string | null, hash: null as string | null };
  let after = { streamId: "", revision: 0 };
  let hashed = 0;
  for (;;) {
    const rows = page.all(after.streamId, after.streamId, after.revision) as ChainSqlRow[];
    for (const { position, hash } of hashPage(rows, carried)) update.run(hash, position);
    hashed += rows.length;
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) break;
    after = { streamId: last.stream_id, revision: Number(last.revision) };
  }
  db.exec(SQLITE_UPDATE_TRIGGER);
  return hashed;
}

export async function backfillChainPostgres(client: pg.Client): Promise<number> {
  await client.query(`ALTER TABLE "events" DISABLE TRIGGER "events_refuse_update_delete"`);
  const carried = { streamId: null as string | null, hash: null as string | null };
  let after = { streamId: "", revision: 0 };
  let hashed = 0;
  for (;;) {
    const { rows } = await client.query<ChainSqlRow>({
      text: `${SELECT_PAGE} WHERE (stream_id, revision) > ($1, $2) ORDER BY stream_id, revision LIMIT ${PAGE}`,
      values: [after.streamId, after.revision],
      // occurred_at is a UTC timestamp without zone: read it as UTC, as the server does.
      types: pgTypes(pgModule.types),
    });
    const hashes = hashPage(rows, carried);
    if (hashes.length > 0)
      await client.query(
        `UPDATE events SET hash = h.hash FROM unnest($1::bigint[], $2::text[]) AS h(position, hash) WHERE events.position = h.position`,
        [hashes.map((h) => h.position), hashes.map((h) => h.hash)],
      );
    hashed += rows.length;
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) break;
    after = { streamId: last.stream_id, revision: Number(last.revision) };
  }
  await client.query(`ALTER TABLE "events" ENABLE TRIGGER "events_refuse_update_delete"`);
  await client.query(`ALTER TABLE "events" VALIDATE CONSTRAINT "events_hash_present"`);
  return hashed;
}
