// `npm run audit:verify-export -- FILE`: checks an NDJSON audit export (GET /audit/export) on its
// own: every event's hash recomputed from its line, and the chain link between consecutive
// revisions of a stream wherever both are in the file. Exit 0 when it holds, 1 when not (a file
// without events, such as a failed download, included).
import { Command } from "commander";
import { verifyExportFile } from "../verifyExport.ts";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";

export async function runVerifyAuditExport(
  argv: readonly string[],
  _env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("audit:verify-export")
    .description("Verify the hashes and chain links of an NDJSON audit export.")
    .argument("<file>", "an export made with GET /audit/export?format=ndjson")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const [file] = program.processedArgs as [string];
  const result = await verifyExportFile(file);
  for (const problem of result.problems)
    print(problem.line === 0 ? problem.message : `line ${problem.line}: ${problem.message}`);
  const verdict = result.problems.length === 0 ? "OK" : "FAILED";
  print(
    `${verdict}: ${result.events} events, ${result.links} chain links between consecutive revisions checked` +
      (result.problems.length === 0 ? "" : `, ${result.problems.length} problems`),
  );
  return result.problems.length === 0 ? 0 : 1;
}

runAsMain(import.meta.url, runVerifyAuditExport);
