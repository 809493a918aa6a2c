// Upgrade tests start from a database as the release before a migration left it.
import type { DatabaseConfig } from "../../src/config.ts";
import { listMigrations, migrate } from "../../src/db/migrate.ts";
import { createBlankTestDatabase } from "./databases.ts";
import type { TestDatabase } from "./databases.ts";

/** The name of the migration just before `migration` for this provider (which must have both). */
export function migrationBefore(provider: DatabaseConfig["provider"], migration: string): string {
  const names = listMigrations(provider).map((m) => m.name);
  const before = names.filter((name) => name < migration).at(-1);
  if (before === undefined || !names.includes(migration)) throw new Error(`migration ${migration} not found`);
  return before;
}

/** A blank test database migrated up to the migration just before `migration`. */
export async function createDatabaseBefore(
  provider: DatabaseConfig["provider"],
  migration: string,
): Promise<TestDatabase> {
  const test = await createBlankTestDatabase(provider);
  const applied = await migrate(test.config, { through: migrationBefore(provider, migration) });
  if (applied.includes(migration)) throw new Error(`${migration} was applied`);
  return test;
}
