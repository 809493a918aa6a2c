// `npm run verify`: re-hashes every artifact blob and checks every artifact the log references is
// stored with its recorded size, naming the model, version and path of each damaged or missing one.
// Exits 1 when anything is corrupt or missing (2 on usage errors).
import { Command } from "commander";
import { createBlobStore } from "../artifacts/createBlobStore.ts";
import { checkBlobStore } from "../artifacts/storeIdentity.ts";
import { formatVerifyReport, verifyBlobs } from "../artifacts/verifyBlobs.ts";
import { loadConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import { parseArguments, runAsMain } from "./runAsMain.ts";

export async function runVerify(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("verify")
    .description("Re-hash every stored artifact blob and check that every referenced artifact is present.")
    .option("--json", "print the report as JSON")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const { json } = program.opts<{ json?: boolean }>();
  const config = loadConfig(env);
  const db = openDatabase(config.database);
  const blobs = createBlobStore(config.artifacts);
  try {
    // Another registry's store would look all missing.
    await checkBlobStore(db, blobs);
    const report = await verifyBlobs(db.reader, blobs);
    if (json) print(JSON.stringify(report, null, 2));
    else for (const line of formatVerifyReport(report)) print(line);
    return report.ok ? 0 : 1;
  } finally {
    await blobs.close();
    await db.close();
  }
}

runAsMain(import.meta.url, runVerify);
