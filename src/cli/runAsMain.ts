// Shared tail of the CLI entry points: when the file is the process's entry, run the command with
// the real arguments, environment and stdout, and exit with its code (2 on an unexpected error).
import { pathToFileURL } from "node:url";

export type CliCommand = (
  argv: string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
) => Promise<number>;

export function runAsMain(moduleUrl: string, command: CliCommand): void {
  const entry = process.argv[1];
  if (entry === undefined || moduleUrl !== pathToFileURL(entry).href) return;
  command(process.argv.slice(2), process.env, (line) => console.log(line)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(2);
    },
  );
}
