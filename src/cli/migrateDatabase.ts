// `npm run db:migrate`: applies pending migrations as the schema's owner (DATABASE_OWNER_URL on
// PostgreSQL, else DATABASE_URL's role) and, when the server has a role of its own (DATABASE_URL),
// grants that role again exactly what it needs. The server started with such a role never migrates.
import { Command } from "commander";
import { loadConfig } from "../config.ts";
import { ensurePostgresDatabase } from "../db/ensurePostgresDatabase.ts";
import { migrate } from "../db/migrate.ts";
import { parseArguments, runAsMain } from "./runAsMain.ts";

export async function runMigrate(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("db:migrate")
    .description(
      "Apply pending database migrations. On PostgreSQL, as DATABASE_OWNER_URL's role when set, then grant " +
        "DATABASE_URL's role what the server needs (read and append events, maintain projections).",
    )
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const config = loadConfig(env);
  if (config.database.provider === "postgresql")
    await ensurePostgresDatabase(config.database.ownerUrl ?? config.database.url);
  const applied = await migrate(config.database);
  print(applied.length === 0 ? "The schema is current." : `Applied ${applied.join(", ")}.`);
  if (config.database.provider === "postgresql" && config.database.ownerUrl !== undefined)
    print("Granted DATABASE_URL's role its privileges (read and append events, maintain projections).");
  return 0;
}

runAsMain(import.meta.url, runMigrate);
