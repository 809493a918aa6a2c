// `npm run restore -- --from DIR`: verifies a backup folder and restores it into the empty database
// configured by the environment (DATA_DIR, DATABASE_URL, ARTIFACT_DIR), of either provider.
import { Command } from "commander";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";
import { loadConfig } from "../../config.ts";
import { DamagedBackupError } from "../manifest.ts";
import { RestoreRefusedError, restore } from "../restore.ts";

export async function runRestore(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("restore")
    .description(
      "Verify a backup folder (manifest, chain, checkpoints, blobs) and restore it into an empty database, then rebuild the projections. Configured by the environment like the server (DATA_DIR, DATABASE_URL, ARTIFACT_DIR).",
    )
    .requiredOption("--from <dir>", "the backup folder written by npm run backup")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const { from } = program.opts<{ from: string }>();
  const config = loadConfig(env);
  const started = performance.now();
  try {
    const summary = await restore({
      from,
      database: config.database,
      blobDir: config.artifacts.dir,
      blobStore: config.artifacts.store,
    });
    const elapsed = Math.round(performance.now() - started);
    const target = config.database.provider === "sqlite" ? `SQLite ${config.database.file}` : "PostgreSQL";
    print(
      `Restored ${summary.events} events of ${summary.streams} stream${summary.streams === 1 ? "" : "s"} up to log position ${summary.position}, ` +
        `${summary.checkpoints} signed audit checkpoint${summary.checkpoints === 1 ? "" : "s"}, and ${summary.blobs} artifact blobs, into ${target} in ${elapsed} ms; projections rebuilt`,
    );
    return 0;
  } catch (error) {
    if (error instanceof DamagedBackupError) {
      print(`restore refused, the backup is damaged: ${error.message}`);
      return 1;
    }
    if (error instanceof RestoreRefusedError) {
      print(`restore refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

runAsMain(import.meta.url, runRestore);
