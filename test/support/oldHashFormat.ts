// Upgrade tests write their "before" data with today's command path into a database at an older
// migration. Since migration 20261211000000_event_row today's code stores the event hash as its 32
// bytes, while the older schema holds 64 hex characters (and refuses anything else). This runs such
// a write with the older schema's checks lifted, then turns the hashes into the hex text the
// registry of that time would have written, and puts the checks back as they were.
//
// Since migration 20261212000000_event_time today's code also stores SQLite's `occurred_at` as
// integer milliseconds, where older schemas hold ISO text as Prisma's adapter writes it
// (2026-12-01T00:00:01.000+00:00): writeWithOldTimeFormat turns them back, and
// writeWithOldHashFormat (for schemas older than both) does too.
//
// Since migration 20261214000000_event_type today's code stores an event's type as the code of its
// name in `event_types`, which older schemas do not have: withOldEventTypes (which both helpers
// apply) gives the older schema that table for the write, then puts the names back and drops it.
//
// Since migration 20261215000000_event_actor today's code stores an event's actor as the id of its
// row in `event_actors` (column actor_ref) instead of four columns: withOldEventActors (which every
// helper here applies, innermost) gives the older schema that table and column for the write, then
// puts the four values back and drops them.
//
// Since migration 20261216000000_version_ref today's code keys versions by an integer `ref`:
// withOldVersionRefs (./oldVersionRefs.ts), applied inside withOldEventActors, handles that.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";
import { withOldVersionRefs } from "./oldVersionRefs.ts";

const PG_CHECK = `ALTER TABLE "events" ADD CONSTRAINT "events_hash_present"
  CHECK ("hash" IS NOT NULL AND "hash" ~ '^[0-9a-f]{64}$')`;

/** SQLite: every type code in `events.type` (stored as text there) as its name; drops `event_types`. */
function typesAsNames(db: BetterSqlite3.Database): void {
  db.exec(`UPDATE events SET type = (SELECT t.name FROM event_types t WHERE t.code = events.type)
    WHERE EXISTS (SELECT 1 FROM event_types t WHERE t.code = events.type)`);
  db.exec("DROP TABLE event_types");
}

async function pgAdmin(config: DatabaseConfig & { provider: "postgresql" }, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/**
 * Runs `write` (today's code) into a registry older than 20261214000000_event_type. SQLite: the
 * codes are written into the TEXT column as text and turned back into names by the caller's
 * cleanup (typesAsNames, with the UPDATE trigger lifted). PostgreSQL: the column holds integers
 * for the write (the log must be empty before it), then names again.
 */
async function withOldEventTypes(config: DatabaseConfig, write: () => Promise<void>): Promise<void> {
  const inner = write;
  write = () => withOldEventActors(config, inner);
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    try {
      db.exec("CREATE TABLE event_types (code INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
    } finally {
      db.close();
    }
    await write();
    return;
  }
  await pgAdmin(
    config,
    `CREATE TABLE event_types (code SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
     ALTER TABLE events ALTER COLUMN type TYPE INTEGER USING type::integer`,
  );
  try {
    await write();
  } finally {
    await pgAdmin(
      config,
      `CREATE FUNCTION pg_temp.type_name(integer) RETURNS text LANGUAGE sql AS 'SELECT name FROM event_types WHERE code = $1';
       ALTER TABLE events ALTER COLUMN type TYPE TEXT USING pg_temp.type_name(type);
       DROP TABLE event_types`,
    );
  }
}

const EVENT_ACTORS = `CREATE TABLE event_actors (id INTEGER PRIMARY KEY, actor TEXT NOT NULL, actor_id TEXT,
  actor_kind TEXT, actor_credential TEXT)`;
const EVENT_ACTORS_KEY = `CREATE UNIQUE INDEX event_actors_key ON event_actors (actor, COALESCE(actor_id, x''),
  COALESCE(actor_kind, x''), COALESCE(actor_credential, x''))`;
const ACTOR_COLUMNS = ["actor", "actor_id", "actor_kind", "actor_credential"];

/**
 * Runs `write` (today's code) into a registry older than 20261215000000_event_actor. SQLite: the
 * events table is set aside (renamed, with its indexes and triggers) for a table of today's actor
 * layout, whose rows are then copied back with their actors' four values. PostgreSQL: the table
 * gets an `actor_ref` column for the write (the four columns nullable meanwhile), then the four
 * values are put back from it (ALTER ... TYPE, which fires no row trigger) and it is dropped.
 */
export async function withOldEventActors(config: DatabaseConfig, write: () => Promise<void>): Promise<void> {
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    let columns: string[];
    try {
      columns = (db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[])
        .map((c) => c.name)
        .filter((name) => !ACTOR_COLUMNS.includes(name));
      db.exec(`${EVENT_ACTORS}; ${EVENT_ACTORS_KEY};
        ALTER TABLE events RENAME TO events_old_layout;
        CREATE TABLE events (${columns.map((c) => (c === "position" ? "position INTEGER PRIMARY KEY" : c)).join(", ")},
          actor_ref INTEGER NOT NULL, UNIQUE (stream_id, revision))`);
    } finally {
      db.close();
    }
    try {
      await withOldVersionRefs(config, write);
    } finally {
      const after = new BetterSqlite3(config.file);
      try {
        after.exec(`INSERT INTO events_old_layout (${[...columns, ...ACTOR_COLUMNS].join(", ")})
          SELECT ${columns.map((c) => `e.${c}`).join(", ")}, ${ACTOR_COLUMNS.map((c) => `a.${c}`).join(", ")}
          FROM events e JOIN event_actors a ON a.id = e.actor_ref ORDER BY e.position;
          DROP TABLE events; ALTER TABLE events_old_layout RENAME TO events; DROP TABLE event_actors`);
      } finally {
        after.close();
      }
    }
    return;
  }
  await pgAdmin(
    config,
    `CREATE TABLE event_actors (id SERIAL PRIMARY KEY, actor TEXT NOT NULL, actor_id TEXT, actor_kind TEXT,
       actor_credential JSONB);
     CREATE UNIQUE INDEX event_actors_key ON event_actors (actor, actor_id, actor_kind, actor_credential) NULLS NOT DISTINCT;
     ALTER TABLE events ADD COLUMN actor_ref INTEGER, ALTER COLUMN actor DROP NOT NULL`,
  );
  try {
    await withOldVersionRefs(config, write);
  } finally {
    const types: Record<string, string> = {
      actor: "TEXT",
      actor_id: "TEXT",
      actor_kind: "TEXT",
      actor_credential: "JSONB",
    };
    await pgAdmin(
      config,
      `${ACTOR_COLUMNS.map(
        (c) =>
          `CREATE FUNCTION pg_temp.${c}_of(integer) RETURNS ${types[c]} LANGUAGE sql AS 'SELECT ${c} FROM event_actors WHERE id = $1';`,
      ).join("\n")}
       ALTER TABLE events ${ACTOR_COLUMNS.map((c) => `ALTER COLUMN ${c} TYPE ${types[c]} USING COALESCE(pg_temp.${c}_of(actor_ref), ${c})`).join(", ")};
       ALTER TABLE events ALTER COLUMN actor SET NOT NULL, DROP COLUMN actor_ref;
       DROP TABLE event_actors`,
    );
  }
}

export async function writeWithOldHashFormat(
  config: DatabaseConfig,
  write: () => Promise<void>,
): Promise<void> {
  if (config.provider === "sqlite") {
    let db = new BetterSqlite3(config.file);
    const triggers = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)")
      .all("events_require_hash", "events_refuse_update") as { name: string; sql: string }[];
    db.exec('DROP TRIGGER "events_require_hash"');
    db.close();
    try {
      await withOldEventTypes(config, write);
    } finally {
      db = new BetterSqlite3(config.file);
      db.exec('DROP TRIGGER "events_refuse_update"');
      db.exec("UPDATE events SET hash = lower(hex(hash)) WHERE typeof(hash) = 'blob'");
      timesAsText(db);
      typesAsNames(db);
      for (const t of triggers) db.exec(t.sql);
      db.close();
    }
    return;
  }
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  await admin(
    `ALTER TABLE "events" DROP CONSTRAINT "events_hash_present"; ALTER TABLE "events" ALTER COLUMN "hash" TYPE BYTEA USING decode("hash", 'hex')`,
  );
  try {
    await withOldEventTypes(config, write);
  } finally {
    await admin(
      `ALTER TABLE "events" ALTER COLUMN "hash" TYPE TEXT USING encode("hash", 'hex'); ${PG_CHECK}`,
    );
  }
}

/** SQLite: every integer `occurred_at` as the ISO text the registry wrote before 20261212000000_event_time. */
function timesAsText(db: BetterSqlite3.Database): void {
  const rows = db
    .prepare("SELECT position, occurred_at FROM events WHERE typeof(occurred_at) = 'integer'")
    .all() as { position: number; occurred_at: number }[];
  const update = db.prepare("UPDATE events SET occurred_at = ? WHERE position = ?");
  for (const row of rows)
    update.run(new Date(row.occurred_at).toISOString().replace("Z", "+00:00"), row.position);
}

/**
 * Runs `write` into a SQLite registry older than 20261212000000_event_time, leaving its times as
 * text (and its types as names).
 */
export async function writeWithOldTimeFormat(
  config: DatabaseConfig & { provider: "sqlite" },
  write: () => Promise<void>,
): Promise<void> {
  try {
    await withOldEventTypes(config, write);
  } finally {
    rewriteEvents(config.file, (db) => {
      timesAsText(db);
      typesAsNames(db);
    });
  }
}

/** Runs `write` into a registry older than 20261214000000_event_type, leaving its types as names. */
export async function writeWithOldEventTypes(
  config: DatabaseConfig,
  write: () => Promise<void>,
): Promise<void> {
  try {
    await withOldEventTypes(config, write);
  } finally {
    if (config.provider === "sqlite") rewriteEvents(config.file, typesAsNames);
  }
}

/** SQLite: runs `rewrite` on the event rows of this file, its UPDATE trigger lifted meanwhile. */
function rewriteEvents(file: string, rewrite: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(file);
  try {
    const trigger = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_refuse_update'")
      .get() as { sql: string };
    db.exec('DROP TRIGGER "events_refuse_update"');
    rewrite(db);
    db.exec(trigger.sql);
  } finally {
    db.close();
  }
}
