// `npm run artifacts:gc -- --older-than 7d [--delete]`: lists (or, with --delete, removes) blobs no
// artifact event references that are older than the retention period. A dry run is the default.
import { Command, InvalidArgumentError, Option } from "commander";
import { collectGarbage } from "../artifacts/collectGarbage.ts";
import { createBlobStore } from "../artifacts/createBlobStore.ts";
import { checkBlobStore } from "../artifacts/storeIdentity.ts";
import { formatBytes, parseDuration } from "../artifacts/units.ts";
import { loadConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import { parseArguments, runAsMain } from "./runAsMain.ts";

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new InvalidArgumentError("expected a duration such as 30m, 12h, 7d or 2w");
  return ms;
}

export async function runGc(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("artifacts:gc")
    .description(
      "Remove artifact blobs that no artifact event references, once older than the retention period.",
    )
    .addOption(
      new Option(
        "--older-than <duration>",
        "retention: only blobs unreferenced and untouched for this long (never less than 5 minutes: an upload may be attaching them)",
      )
        .argParser(duration)
        .default(duration("7d"), "7d"),
    )
    .option("--delete", "actually delete (the default is a dry run that only lists)")
    .option("--json", "print the report as JSON")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const opts = program.opts<{ olderThan: number; delete?: boolean; json?: boolean }>();
  const config = loadConfig(env);
  const db = openDatabase(config.database);
  const blobs = createBlobStore(config.artifacts);
  try {
    // Another registry's store would look all unreferenced.
    await checkBlobStore(db, blobs);
    const report = await collectGarbage(db.reader, blobs, {
      olderThanMs: opts.olderThan,
      dryRun: !opts.delete,
    });
    if (opts.json) {
      print(JSON.stringify(report, null, 2));
    } else {
      const verb = opts.delete ? "deleted" : "would delete";
      for (const blob of opts.delete ? report.deleted : report.candidates)
        print(
          `${verb} ${blob.sha256} (${formatBytes(blob.size)}, last written ${blob.modifiedAt.toISOString()})`,
        );
      print(
        `${report.referenced} referenced blobs kept; ${report.unreferenced} unreferenced, of which ` +
          `${(opts.delete ? report.deleted : report.candidates).length} ${verb} (${formatBytes(report.bytes)})` +
          (opts.delete
            ? `; ${report.temporaryFilesRemoved} stale temporary files removed`
            : "; dry run, pass --delete to delete"),
      );
      for (const sha256 of report.raced)
        print(`WARNING ${sha256} was referenced while being collected; re-upload it`);
    }
    return report.raced.length === 0 ? 0 : 1;
  } finally {
    await blobs.close();
    await db.close();
  }
}

runAsMain(import.meta.url, runGc);
