// `npm run projections:rebuild`: replays the event log into shadow tables and swaps them in, while a
// running server keeps working. Migrates first, so it also works on a database that has not been
// opened by the server yet. Exit codes: 0 rebuilt; 1 failed (nothing changed); 2 rebuilt, but some
// streams' hash chains are broken (each is listed on stderr and projected up to its last verified event).
import { Command } from "commander";
import { loadConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import { prepareSchema } from "../db/migrate.ts";
import { describeDatabase } from "./describeDatabase.ts";
import { describeBreak } from "../audit/chainVerifier.ts";
import { rebuildProjections } from "../projections/rebuild.ts";

async function run(): Promise<void> {
  const config = loadConfig();
  await prepareSchema(config.database);
  const db = openDatabase(config.database);
  try {
    const started = performance.now();
    // The rebuild creates and swaps tables: on PostgreSQL that is the owner's right when the server
    // runs as a narrower role (docs/audit.md#database-roles-on-postgresql).
    const database = config.database;
    const connection =
      database.provider === "postgresql" && database.ownerUrl !== undefined
        ? { ...database, url: database.ownerUrl }
        : database;
    const { streams, events, skippedEvents, breaks } = await rebuildProjections(db, { connection });
    const elapsed = Math.round(performance.now() - started);
    console.log(
      `Rebuilt projections from ${events} events in ${streams} streams (${describeDatabase(config.database)}) in ${elapsed} ms`,
    );
    if (breaks.length > 0) {
      console.error(
        `${breaks.length} stream(s) with a broken hash chain, projected up to their last verified event (${skippedEvents} event(s) left out):`,
      );
      for (const b of breaks) console.error(`  ${describeBreak(b)}`);
      process.exitCode = 2;
    }
  } finally {
    await db.close();
  }
}

const program = new Command()
  .name("projections:rebuild")
  .description(
    "Replay the event log into new projection tables and swap them in, without stopping a running server; " +
      "verifies every stream's hash chain on the way (exit code 2 when some are broken). " +
      "Configured by the environment like the server (DATA_DIR, DATABASE_URL).",
  )
  .action(run);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`projections:rebuild failed: ${message}`);
  process.exitCode = 1;
});
