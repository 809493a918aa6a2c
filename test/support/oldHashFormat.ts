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
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";

const PG_CHECK = `ALTER TABLE "events" ADD CONSTRAINT "events_hash_present"
  CHECK ("hash" IS NOT NULL AND "hash" ~ '^[0-9a-f]{64}$')`;

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
      await write();
    } finally {
      db = new BetterSqlite3(config.file);
      db.exec('DROP TRIGGER "events_refuse_update"');
      db.exec("UPDATE events SET hash = lower(hex(hash)) WHERE typeof(hash) = 'blob'");
      timesAsText(db);
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
    await write();
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

/** Runs `write` into a SQLite registry older than 20261212000000_event_time, leaving its times as text. */
export async function writeWithOldTimeFormat(
  config: DatabaseConfig & { provider: "sqlite" },
  write: () => Promise<void>,
): Promise<void> {
  try {
    await write();
  } finally {
    const db = new BetterSqlite3(config.file);
    try {
      const trigger = db
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_refuse_update'")
        .get() as { sql: string };
      db.exec('DROP TRIGGER "events_refuse_update"');
      timesAsText(db);
      db.exec(trigger.sql);
    } finally {
      db.close();
    }
  }
}
