// Applies the checked-in SQL migrations (prisma/migrations/<provider>/<name>/migration.sql) and records
// them in `_prisma_migrations` exactly as Prisma does, so `prisma migrate status` agrees with us.
// Prisma's own `migrate deploy` fails on PostgreSQL through driver adapters (see stack notes), hence
// this small runner: one transaction per migration, a failed row stops everything, and concurrent
// starters are serialised (advisory lock on PostgreSQL, an immediate transaction on SQLite).
// On PostgreSQL the migrations may run as an owner role (DATABASE_OWNER_URL) while the server connects
// as an application role (DATABASE_URL) that can only read and append events: after every run the
// owner grants that role exactly its privileges again, so tables added by a migration are covered.
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
const INSUFFICIENT_PRIVILEGE = "42501";

/** The first line of a SQLite migration that must run with foreign keys off (see migrateSqlite). */
const FOREIGN_KEYS_OFF = "-- registro:foreign-keys-off\n";

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

export interface MigrateOptions {
  /** Stop after this migration (tests of upgrades start from a database as an older release left it). */
  readonly through?: string;
}

/** Applies the pending migrations (on PostgreSQL as the owner role when one is configured). */
export async function migrate(config: DatabaseConfig, options: MigrateOptions = {}): Promise<string[]> {
  return config.provider === "sqlite"
    ? migrateSqlite(config.file, options)
    : migratePostgres(
        config.ownerUrl ?? config.url,
        config.ownerUrl === undefined ? null : config.url,
        options,
      );
}

function upTo(migrations: Migration[], { through }: MigrateOptions): Migration[] {
  return through === undefined ? migrations : migrations.filter((m) => m.name <= through);
}

export interface SchemaReadiness {
  /** Migrations this call applied. */
  readonly applied: string[];
  /**
   * PostgreSQL: the server's role owns the event table (or is a superuser), so it could disable the
   * immutability triggers or drop the table; false on SQLite, where the file's owner can do anything anyway.
   */
  readonly serverRoleOwnsEvents: boolean;
}

/**
 * What the server and the CLIs run before opening the database. With an owner URL, or when the
 * server's role owns the schema (one role, as before roles existed), it migrates; a narrower role
 * never attempts DDL: it goes on when the schema is current and otherwise stops with what to run.
 */
export async function prepareSchema(config: DatabaseConfig): Promise<SchemaReadiness> {
  if (config.provider === "sqlite") return { applied: await migrate(config), serverRoleOwnsEvents: false };
  if (config.ownerUrl === undefined) {
    const standing = await roleStanding(config.url);
    if (!standing.ownsEvents) {
      if (standing.pending.length > 0)
        throw new MigrationError(
          `the database needs migrations (${standing.pending.join(", ")}) and DATABASE_URL's role does not own its tables; ` +
            "run `npm run db:migrate` with DATABASE_OWNER_URL set to the owner role (docs/audit.md, Database roles on PostgreSQL), then start again",
        );
      return { applied: [], serverRoleOwnsEvents: false };
    }
  }
  const applied = await migrate(config);
  return { applied, serverRoleOwnsEvents: (await roleStanding(config.url)).ownsEvents };
}

/**
 * Whether the role of `url` owns the event table (a member of its owner, or a superuser; before the
 * table exists: whether this role may create it), and which migrations are still pending, read
 * without any DDL.
 */
async function roleStanding(url: string): Promise<{ ownsEvents: boolean; pending: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const owns = await client.query<{ owns: boolean }>(
      `SELECT coalesce((SELECT pg_has_role(c.relowner, 'MEMBER') FROM pg_class c WHERE c.oid = to_regclass('events')),
                       has_schema_privilege(current_schema(), 'CREATE'))
         OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS owns`,
    );
    const ownsEvents = owns.rows[0]?.owns === true;
    const known = await client.query<{ present: boolean }>(
      `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present`,
    );
    const applied =
      known.rows[0]?.present === true
        ? (
            await client.query<AppliedRow>(
              `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`,
            )
          ).rows
        : [];
    return { ownsEvents, pending: pending(listMigrations("postgresql"), applied).map((m) => m.name) };
  } finally {
    await client.end();
  }
}

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Gives the application role exactly what the server needs on the owner's tables, revoking anything
 * else it held: events, event_types and event_actors SELECT and INSERT only (their sequences for INSERT), the
 * migration history SELECT only (to see the schema is current), every other table SELECT, INSERT,
 * UPDATE, DELETE. Never TRUNCATE, REFERENCES or TRIGGER, and never ownership, so it cannot ALTER,
 * DROP or disable the triggers of the event table. Runs in one transaction: no gap without grants.
 */
async function grantApplicationRole(client: pg.Client, role: string): Promise<void> {
  const grantee = quoteIdentifier(role);
  const tables = await client.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user`,
  );
  const sequences = await client.query<{ name: string }>(
    `SELECT sequencename AS name FROM pg_sequences WHERE schemaname = current_schema() AND sequenceowner = current_user`,
  );
  await client.query("BEGIN");
  try {
    const schema = (await client.query<{ name: string }>("SELECT current_schema() AS name")).rows[0]?.name;
    if (schema === undefined) throw new MigrationError("no current schema to grant on");
    await client.query(`GRANT USAGE ON SCHEMA ${quoteIdentifier(schema)} TO ${grantee}`);
    for (const { name } of tables.rows) {
      const table = quoteIdentifier(name);
      const privileges =
        name === "events" || name === "event_types" || name === "event_actors"
          ? "SELECT, INSERT"
          : name === "_prisma_migrations"
            ? "SELECT"
            : "SELECT, INSERT, UPDATE, DELETE";
      await client.query(`REVOKE ALL ON ${table} FROM ${grantee}`);
      await client.query(`GRANT ${privileges} ON ${table} TO ${grantee}`);
    }
    for (const { name } of sequences.rows) {
      await client.query(`REVOKE ALL ON SEQUENCE ${quoteIdentifier(name)} FROM ${grantee}`);
      await client.query(`GRANT USAGE ON SEQUENCE ${quoteIdentifier(name)} TO ${grantee}`);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

/** The role a connection string logs in as (the URL may omit it, or a pooler may map it). */
async function loginRole(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string }>("SELECT current_user AS role");
    const role = rows[0]?.role;
    if (role === undefined) throw new MigrationError("could not read the role of DATABASE_URL");
    return role;
  } finally {
    await client.end();
  }
}

function migrateSqlite(file: string, options: MigrateOptions): string[] {
  if (!existsSync(path.dirname(file))) mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // WAL lets the read connection see committed data while a write transaction is open.
    db.pragma("journal_mode = WAL");
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
      "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
      "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
    // Read (and hashed) once; which of them are pending is asked again inside the transaction, where
    // a concurrent starter can no longer apply any.
    const migrations = listMigrations("sqlite");
    const todoOf = () => {
      const applied = db
        .prepare(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`)
        .all() as AppliedRow[];
      return upTo(pending(migrations, applied), options);
    };
    // A migration that rebuilds a table others refer to must run with foreign keys off: DROP TABLE
    // would otherwise delete every referencing row (ON DELETE CASCADE). The pragma cannot change
    // inside a transaction, so it is off for the whole run, and every foreign key is checked before
    // the run commits (SQLite's documented way of changing a table's definition).
    const foreignKeysOff = todoOf().some((m) => m.sql.startsWith(FOREIGN_KEYS_OFF));
    if (foreignKeysOff) db.pragma("foreign_keys = OFF");
    const run = db.transaction(() => {
      const todo = todoOf();
      for (const migration of todo) {
        db.exec(migration.sql);
        if (migration.name === CHAIN_MIGRATION) backfillChainSqlite(db);
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES (?, ?, ?, ?, ?, 1)`,
        ).run(randomUUID(), migration.checksum, Date.now(), migration.name, Date.now());
      }
      if (foreignKeysOff) {
        const broken = db.pragma("foreign_key_check") as { table: string; parent: string }[];
        if (broken.length > 0)
          throw new MigrationError(
            `migrations left ${broken.length} rows whose foreign key has no parent (first: ${broken[0]!.table} -> ${broken[0]!.parent})`,
          );
      }
      return todo.map((m) => m.name);
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

/** `appUrl`: the server's connection when it differs from the owner's, whose role gets its grants. */
async function migratePostgres(
  url: string,
  appUrl: string | null,
  options: MigrateOptions,
): Promise<string[]> {
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
    const todo = upTo(pending(listMigrations("postgresql"), applied.rows), options);
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
        const hint =
          (error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE
            ? "; this role may not change the schema: run `npm run db:migrate` with DATABASE_OWNER_URL set to the owner role (docs/audit.md)"
            : "";
        throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}${hint}`);
      }
    }
    if (appUrl !== null) {
      const [owner, app] = await Promise.all([
        client.query<{ role: string }>("SELECT current_user AS role").then((r) => r.rows[0]?.role),
        loginRole(appUrl),
      ]);
      if (app !== owner) await grantApplicationRole(client, app);
    }
    return todo.map((m) => m.name);
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]).catch(() => undefined);
    await client.end();
  }
}
