// Throwaway databases for the benchmarks: a SQLite file in a temporary folder, or a fresh PostgreSQL
// database on BENCH_POSTGRES_URL (default: the local server), dropped afterwards.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { DatabaseConfig } from "../src/config.ts";
import { migrate } from "../src/db/migrate.ts";
import { dropDatabaseWhenIdle } from "../test/support/databases.ts";

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  readonly config: DatabaseConfig;
  /** What a server process needs to open it. */
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A new, empty database of the provider; migrated unless the benchmark measures migrating it. */
export async function createBenchDatabase(
  provider: DatabaseConfig["provider"],
  options: { migrated?: boolean } = {},
): Promise<BenchDatabase> {
  const migrated = options.migrated ?? true;
  // The server keeps its blob store in a data folder, even with its database elsewhere.
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-bench-"));
  if (provider === "sqlite") {
    const config: DatabaseConfig = { provider, file: path.join(dataDir, "registro.db") };
    if (migrated) await migrate(config);
    return {
      config,
      env: { DATA_DIR: dataDir },
      drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const name = `registro_bench_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const config: DatabaseConfig = { provider, url: url.toString() };
  if (migrated) await migrate(config);
  return {
    config,
    env: { DATABASE_URL: url.toString(), DATA_DIR: dataDir },
    async drop() {
      await dropDatabaseWhenIdle(POSTGRES_URL, name);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
