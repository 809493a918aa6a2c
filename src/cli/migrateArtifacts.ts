// `npm run artifacts:migrate -- [--from DIR] [--switch]`: copies every blob of a filesystem store
// (by default the folder ARTIFACT_DIR names) into the store the settings name (BLOB_STORE=s3 and
// S3_*), verifying each by reading it back, then checks that every artifact the log references is
// there. With --switch, and only when all of that holds, the database records the new store, so
// instances still configured with the folder are refused at start. Run it once while the registry
// serves (most bytes move), then stop the instances, run it again with --switch (only what arrived
// meanwhile moves), and start them with the new settings (docs/operations.md).
import path from "node:path";
import { Command } from "commander";
import { createBlobStore } from "../artifacts/createBlobStore.ts";
import { FsBlobStore } from "../artifacts/fsBlobStore.ts";
import { migrateBlobs } from "../artifacts/migrateBlobs.ts";
import { formatBytes } from "../artifacts/units.ts";
import { loadConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import { parseArguments, runAsMain } from "./runAsMain.ts";

export async function runMigrateArtifacts(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("artifacts:migrate")
    .description(
      "Copy every artifact blob from a filesystem store into the configured store (BLOB_STORE, S3_*), verify each copy, and with --switch make it the database's store.",
    )
    .option("--from <dir>", "the filesystem store to copy from (default: ARTIFACT_DIR, else DATA_DIR/blobs)")
    .option(
      "--switch",
      "record the configured store as the database's store once every blob is in it and sound",
    )
    .option("--json", "print the report as JSON")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const opts = program.opts<{ from?: string; switch?: boolean; json?: boolean }>();
  const config = loadConfig(env);
  const db = openDatabase(config.database);
  const source = new FsBlobStore(path.resolve(opts.from ?? config.artifacts.dir));
  const target = createBlobStore(config.artifacts);
  try {
    const report = await migrateBlobs(db, source, target, { switchStore: opts.switch === true });
    if (opts.json) print(JSON.stringify(report, null, 2));
    else {
      print(
        report.sameStore
          ? `${report.from} is already the configured store: nothing to copy`
          : `copied ${report.copied} blobs and found ${report.alreadyPresent} already there, ${formatBytes(report.bytes)} verified, from ${report.from} to ${report.to}`,
      );
      for (const failure of report.failed) print(`FAILED ${failure.sha256}: ${failure.reason}`);
      for (const sha256 of report.missing)
        print(`MISSING ${sha256}: referenced by the log but not in ${report.to}`);
      if (report.switched)
        print(`the database now records ${report.to} as its store; restart the instances with its settings`);
      else if (opts.switch)
        print("not switched: fix what is listed above (npm run verify names the artifacts), then run again");
    }
    return report.failed.length === 0 && report.missing.length === 0 ? 0 : 1;
  } finally {
    await target.close();
    await source.close();
    await db.close();
  }
}

runAsMain(import.meta.url, runMigrateArtifacts);
