// `npm run audit:checkpoint [-- --export FILE] [--json]`: signs a checkpoint of the event log now
// (the latest one when the log has not advanced since), and writes it as a self-contained JSON file
// to keep outside the database. Exit code 0, 1 when the log is empty, 2 on usage errors.
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";
import { loadConfig } from "../../config.ts";
import { openDatabase } from "../../db/database.ts";
import { migrate } from "../../db/migrate.ts";
import { lastPosition } from "../../store/eventStore.ts";
import { createCheckpoint, exportCheckpoint, latestCheckpoint } from "../checkpoints.ts";
import { loadOrCreateSigningKey } from "../signingKey.ts";
import { describeDatabase } from "../../cli/describeDatabase.ts";

export async function runAuditCheckpoint(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("audit:checkpoint")
    .description(
      "Sign a checkpoint of the event log now and optionally export it. " +
        "Configured by the environment like the server (DATA_DIR, DATABASE_URL, AUDIT_SIGNING_KEY_FILE).",
    )
    .option("--export <file>", "write the checkpoint as self-contained JSON to this file")
    .option("--json", "print the checkpoint as JSON")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const options = program.opts<{ export?: string; json?: boolean }>();
  const config = loadConfig(env);
  await migrate(config.database);
  const db = openDatabase(config.database);
  try {
    // An empty log has nothing to sign, and no key is made for it.
    if ((await lastPosition(db.reader)) === 0) {
      print(
        `audit:checkpoint: the event log of ${describeDatabase(config.database)} is empty; nothing to sign.`,
      );
      return 1;
    }
    const key = loadOrCreateSigningKey(config.audit.signingKeyFile);
    const made = await createCheckpoint(db, key, new Date());
    const checkpoint = made?.checkpoint ?? (await latestCheckpoint(db));
    if (checkpoint === null) throw new Error("no checkpoint was stored for a log that has events");
    const text = exportCheckpoint(checkpoint);
    if (options.export !== undefined) writeFileSync(options.export, text);
    if (options.json) print(text.trimEnd());
    else {
      print(
        `${made?.created ? "Signed" : "Latest"} checkpoint at position ${checkpoint.position}: root ${checkpoint.root}, ${checkpoint.streamCount} streams, key ${checkpoint.keyFingerprint} (${describeDatabase(config.database)}).`,
      );
      if (made === null) print("The log has not advanced since that checkpoint; no new one was needed.");
      if (options.export !== undefined)
        print(`Exported to ${options.export}: keep it apart from the database and the signing key.`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

runAsMain(import.meta.url, runAuditCheckpoint);
