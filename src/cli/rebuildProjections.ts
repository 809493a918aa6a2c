// `npm run projections:rebuild`: replays the event log into freshly emptied projection tables.
// Migrates first, so it also works on a database that has not been opened by the server yet.
import { Command } from "commander";
import { loadConfig } from "../config.ts";
import type { DatabaseConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import { prepareSchema } from "../db/migrate.ts";
import { rebuildProjections } from "../projections/rebuild.ts";

/** Where the rebuild ran, without credentials that a PostgreSQL URL may carry. */
function describeDatabase(config: DatabaseConfig): string {
  if (config.provider === "sqlite") return `SQLite ${config.file}`;
  const url = new URL(config.url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}

async function run(): Promise<void> {
  const config = loadConfig();
  await prepareSchema(config.database);
  const db = openDatabase(config.database);
  try {
    const started = performance.now();
    const { streams, events } = await rebuildProjections(db);
    const elapsed = Math.round(performance.now() - started);
    console.log(
      `Rebuilt projections from ${events} events in ${streams} streams (${describeDatabase(config.database)}) in ${elapsed} ms`,
    );
  } finally {
    await db.close();
  }
}

const program = new Command()
  .name("projections:rebuild")
  .description(
    "Delete every projection row and replay the event log into them, in one transaction. " +
      "Configured by the environment like the server (DATA_DIR, DATABASE_URL).",
  )
  .action(run);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`projections:rebuild failed: ${message}`);
  process.exitCode = 1;
});
