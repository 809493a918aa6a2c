// `npm run backup -- --to DIR`: an online backup of the registry configured by the environment
// (DATA_DIR, DATABASE_URL, ARTIFACT_DIR), taken while it keeps serving (docs/backup.md).
import { Command } from "commander";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";
import { loadConfig } from "../../config.ts";
import { formatBytes } from "../../artifacts/units.ts";
import { BackupRefusedError, backup } from "../backup.ts";

export async function runBackup(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("backup")
    .description(
      "Write a consistent backup (events up to one position, their blobs, the signed audit checkpoints, a manifest) to a new folder while the registry keeps running. Configured by the environment like the server (DATA_DIR, DATABASE_URL, ARTIFACT_DIR).",
    )
    .requiredOption("--to <dir>", "the backup folder to create (must not exist, or be empty)")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const { to } = program.opts<{ to: string }>();
  const config = loadConfig(env);
  const started = performance.now();
  try {
    const summary = await backup({
      database: config.database,
      blobDir: config.artifacts.dir,
      blobStore: config.artifacts.store,
      to,
    });
    const elapsed = Math.round(performance.now() - started);
    print(
      `Backed up ${summary.events} events of ${summary.streams} stream${summary.streams === 1 ? "" : "s"} up to log position ${summary.position}, ` +
        `${summary.checkpoints} signed audit checkpoint${summary.checkpoints === 1 ? "" : "s"}, and ${summary.blobs} artifact blobs (${formatBytes(summary.blobBytes)}), to ${summary.dir} in ${elapsed} ms`,
    );
    print(
      `manifest.json sha256 ${summary.manifestSha256} (keep it apart from the backup to detect a rewritten one)`,
    );
    return 0;
  } catch (error) {
    if (error instanceof BackupRefusedError) {
      print(`backup refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

runAsMain(import.meta.url, runBackup);
