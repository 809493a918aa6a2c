// `npm run audit:verify [-- --json] [--checkpoint FILE]`: recomputes every stream's hash chain,
// verifies every checkpoint stored in the database (signature and root), and, given an exported
// checkpoint kept elsewhere, checks that the log still holds what it signed. Exit code 0 when all
// holds, 1 when anything is broken, 2 on usage errors (or a file that is not a checkpoint).
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";
import { loadConfig } from "../../config.ts";
import { openDatabase } from "../../db/database.ts";
import { describeBreak } from "../chainVerifier.ts";
import { parseCheckpointExport, verifyCheckpoint, verifyStoredCheckpoints } from "../checkpoints.ts";
import type { Checkpoint, CheckpointVerdict, StoredCheckpointsReport } from "../checkpoints.ts";
import { readSigningKey } from "../signingKey.ts";
import type { ChainReport } from "../verifyChains.ts";
import { verifyChains } from "../verifyChains.ts";
import { describeDatabase } from "../../cli/describeDatabase.ts";

interface AuditReport {
  readonly ok: boolean;
  readonly database: string;
  readonly signingKey: { readonly file: string; readonly fingerprint: string | null };
  readonly chains: ChainReport;
  readonly checkpoints: StoredCheckpointsReport;
  readonly exported: (CheckpointVerdict & { readonly file: string; readonly keyFingerprint: string }) | null;
}

function* formatReport(report: AuditReport): Generator<string> {
  const { chains, checkpoints, exported } = report;
  yield `Verified ${chains.events} events in ${chains.streams} streams (${report.database}) in ${chains.elapsedMs} ms.`;
  if (chains.ok) yield "Chains: every stream's chain holds.";
  else {
    yield `Chains: BROKEN in ${chains.brokenStreams} stream(s). First break of each:`;
    for (const b of chains.breaks) yield `  ${describeBreak(b)}`;
    if (chains.brokenStreams > chains.breaks.length)
      yield `  … and ${chains.brokenStreams - chains.breaks.length} more stream(s)`;
  }
  if (report.signingKey.fingerprint === null)
    yield `Signing key: ${report.signingKey.file} not found; stored checkpoints are checked against the keys stored with them, which only shows they are consistent.`;
  if (checkpoints.checked === 0) yield "Checkpoints: none stored yet.";
  else if (checkpoints.ok && checkpoints.latest !== null)
    yield `Checkpoints: ${checkpoints.checked} stored, all verified (${checkpoints.rootsRecomputed} root(s) recomputed); the latest is at position ${checkpoints.latest.position} (root ${checkpoints.latest.root}, ${checkpoints.latest.createdAt.toISOString()}).`;
  else {
    yield `Checkpoints: ${checkpoints.failed} of ${checkpoints.checked} FAILED:`;
    for (const f of checkpoints.failures) for (const p of f.problems) yield `  position ${f.position}: ${p}`;
  }
  if (exported !== null) {
    const what = `${exported.file} (position ${exported.position}, ${exported.streamCount} streams, key ${exported.keyFingerprint})`;
    if (exported.ok) yield `Exported checkpoint ${what}: verified; the log still holds what was signed.`;
    else {
      yield `Exported checkpoint ${what}: MISMATCH:`;
      for (const p of exported.problems) yield `  ${p}`;
    }
  }
  yield report.ok ? "OK" : "FAILED";
}

export async function runAuditVerify(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("audit:verify")
    .description(
      "Recompute every stream's hash chain and verify the stored checkpoints (and an exported one). " +
        "Configured by the environment like the server (DATA_DIR, DATABASE_URL, AUDIT_SIGNING_KEY_FILE).",
    )
    .option("--json", "print the report as JSON")
    .option(
      "--checkpoint <file>",
      "also verify an exported checkpoint (npm run audit:checkpoint -- --export)",
    )
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const options = program.opts<{ json?: boolean; checkpoint?: string; allRoots?: boolean }>();
  const config = loadConfig(env);
  let exportedCheckpoint: Checkpoint | null = null;
  if (options.checkpoint !== undefined) {
    try {
      exportedCheckpoint = parseCheckpointExport(readFileSync(options.checkpoint, "utf8"));
    } catch (error) {
      print(`audit:verify: ${options.checkpoint}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  }
  const key = readSigningKey(config.audit.signingKeyFile);
  const db = openDatabase(config.database);
  try {
    const chains = await verifyChains(db);
    const checkpoints = await verifyStoredCheckpoints(db, {
      trustedFingerprint: key?.fingerprint ?? null,
      allRoots: options.allRoots ?? false,
    });
    // An exported checkpoint carries its own public key: the file kept elsewhere is what is trusted.
    const exported =
      exportedCheckpoint === null
        ? null
        : {
            ...(await verifyCheckpoint(db, exportedCheckpoint)),
            file: options.checkpoint ?? "",
            keyFingerprint: exportedCheckpoint.keyFingerprint,
          };
    const report: AuditReport = {
      ok: chains.ok && checkpoints.ok && (exported?.ok ?? true),
      database: describeDatabase(config.database),
      signingKey: { file: config.audit.signingKeyFile, fingerprint: key?.fingerprint ?? null },
      chains,
      checkpoints,
      exported,
    };
    if (options.json) print(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report)) print(line);
    return report.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

runAsMain(import.meta.url, runAuditVerify);
