// Applies the checked-in SQL migrations (prisma/migrations/<provider>/<name>/migration.sql) and records
// them in `_prisma_migrations` exactly as Prisma does, so `prisma migrate status` agrees with us.
// Prisma's own `migrate deploy` fails on PostgreSQL through driver adapters (see stack notes), hence
// this small runner: one transaction per migration, a failed row stops everything, and concurrent
// starters are serialised (advisory lock on PostgreSQL, an immediate transaction on SQLite).
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { CHAIN_MIGRATION, backfillChainPostgres, backfillChainSqlite } from "../audit/backfillChain.ts";
import type { DatabaseConfig } from "../config.ts";

const MIGRATIONS_ROOT = fileURLToPath(new URL("../../prisma/migrations/", import.meta.url));
/** The key Prisma's migrate engine itself locks on, so we also exclude a concurrent `prisma migrate`. */
const PRISMA_ADVISORY_LOCK = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(provider: DatabaseConfig["provider"]): Migration[] {
  const dir = path.join(MIGRATIONS_ROOT, provider);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Decides which migrations remain, refusing to go on after a failed or edited migration. */
function pending(all: Migration[], applied: AppliedRow[]): Migration[] {
  const live = applied.filter((row) => row.rolled_back_at === null);
  const failed = live.find((row) => row.finished_at === null);
  if (failed)
    throw new MigrationError(
      `migration ${failed.migration_name} failed earlier; fix the database by hand and mark it rolled back before starting again`,
    );
  const done = new Map(live.map((row) => [row.migration_name, row.checksum]));
  for (const migration of all) {
    const checksum = done.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum)
      throw new MigrationError(`migration ${migration.name} was modified after it was applied`);
  }
  return all.filter((m) => !done.has(m.name));
}

export async function migrate(config: DatabaseConfig): Promise<string[]> {
  return config.provider === "sqlite" ? migrateSqlite(config.file) : migratePostgres(config.url);
}

function migrateSqlite(file: string): string[] {
  if (!existsSync(path.dirname(file))) mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // WAL lets the read connection see committed data while a write transaction is open.
    db.pragma("journal_mode = WAL");
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
      "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
      "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
    const run = db.transaction(() => {
      const applied = db
        .prepare(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`)
        .all() as AppliedRow[];
      const todo = pending(listMigrations("sqlite"), applied);
      for (const migration of todo) {
        db.exec(migration.sql);
        if (migration.name === CHAIN_MIGRATION) backfillChainSqlite(db);
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES (?, ?, ?, ?, ?, 1)`,
        ).run(randomUUID(), migration.checksum, Date.now(), migration.name, Date.now());
      }
      return todo.map((m) => m.name);
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
    const applied = await client.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`,
    );
    const todo = pending(listMigrations("postgresql"), applied.rows);
    for (const migration of todo) {
      const id = randomUUID();
      await client.query("BEGIN");
      try {
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
          [id, migration.checksum, migration.name],
        );
        await client.query(migration.sql);
        if (migration.name === CHAIN_MIGRATION) await backfillChainPostgres(client);
        await client.query(
          `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
          [id],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
    }
    return todo.map((m) => m.name);
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]).catch(() => undefined);
    await client.end();
  }
}
