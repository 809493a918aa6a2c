// Per-test-file databases on both providers. PostgreSQL suites use TEST_POSTGRES_URL (default: the
// local server); when it is unreachable they are skipped with a visible notice, unless
// REQUIRE_POSTGRES=1 (as in CI), which turns the skip into a failure.
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { textTimes } from "./timeColumns.ts";

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const REQUIRE_POSTGRES = process.env.REQUIRE_POSTGRES === "1";

let reachable: Promise<boolean> | null = null;

export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** The providers a suite should run on: SQLite always, PostgreSQL when reachable or required. */
export async function providers(): Promise<DatabaseConfig["provider"][]> {
  if (await postgresReachable()) return ["sqlite", "postgresql"];
  if (REQUIRE_POSTGRES)
    throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL at ${POSTGRES_URL} is unreachable`);
  console.warn(`\n  ⚠ PostgreSQL at ${POSTGRES_URL} is unreachable: PostgreSQL suites are SKIPPED\n`);
  return ["sqlite"];
}

export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** Drops the database (PostgreSQL) or deletes its folder (SQLite). */
  destroy(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates an empty database of the given provider with no migration applied (upgrade tests). */
export async function createBlankTestDatabase(provider: DatabaseConfig["provider"]): Promise<TestDatabase> {
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(tmpdir(), "registro-test-"));
    const config: DatabaseConfig = { provider: "sqlite", file: path.join(dir, "registro.db") };
    return { config, destroy: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const name = `registro_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const config: DatabaseConfig = { provider: "postgresql", url: withDatabase(POSTGRES_URL, name) };
  return { config, destroy: () => dropDatabaseWhenIdle(POSTGRES_URL, name) };
}

/**
 * Creates an empty, migrated database of the given provider. On SQLite, `destroy` first checks that
 * whatever the test wrote left no time as text (./timeColumns.ts): every write path any test
 * reaches is checked that way, not only those a dedicated test knows of.
 */
export async function createTestDatabase(provider: DatabaseConfig["provider"]): Promise<TestDatabase> {
  const test = await createBlankTestDatabase(provider);
  await migrate(test.config);
  const config = test.config;
  if (config.provider !== "sqlite") return test;
  return {
    config,
    async destroy() {
      const text = existsSync(config.file) ? textTimes(config.file) : [];
      await test.destroy();
      if (text.length > 0)
        throw new Error(`times stored as text instead of integer milliseconds: ${text.join(", ")}`);
    },
  };
}

/** A migrated, opened database; `close` also destroys it. */
export async function openTestDatabase(
  provider: DatabaseConfig["provider"],
): Promise<{ db: Database; config: DatabaseConfig; close: () => Promise<void> }> {
  const test = await createTestDatabase(provider);
  const db = openDatabase(test.config);
  return {
    db,
    config: test.config,
    async close() {
      await db.close();
      await test.destroy();
    },
  };
}

/**
 * Drops a scratch database once its connections are gone. pg's Pool.end() resolves before its
 * sockets have closed; dropping WITH (FORCE) right away kills those closing connections, whose FATAL
 * error then surfaces as an uncaught exception in the process. Wait (briefly) for them to go first;
 * FORCE only handles stragglers. Tests and benchmarks share it.
 */
export async function dropDatabaseWhenIdle(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (let waited = 0; waited < 5000; waited += 50) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
