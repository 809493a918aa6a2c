// Shared tail of the CLI entry points: when the file is the process's entry, run the command with
// the real arguments, environment and stdout, and exit with its code (2 on an unexpected error).
import { pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import type { Command } from "commander";

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

/**
 * Parses a command's arguments (the program must use `exitOverride()`). Returns the exit code when
 * commander has already answered (0 after --help, 2 for a usage error, which it has printed), null
 * when the command should run.
 */
export function parseArguments(program: Command, argv: readonly string[]): number | null {
  try {
    program.parse([...argv], { from: "user" });
    return null;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}
