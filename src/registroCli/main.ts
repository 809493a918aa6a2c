// `registro`: the command line of the registry. It speaks only the public API of a running server
// (GraphQL at /graphql, the artifact routes, graphql-ws subscriptions). One file per command under
// commands/; exit codes in exitCodes.ts.
import { Command, CommanderError, Option } from "commander";
import { registerAliasCommand } from "./commands/alias.ts";
import { registerDescribeCommand } from "./commands/describe.ts";
import { registerDiffCommand } from "./commands/diff.ts";
import { registerDownloadCommand } from "./commands/download.ts";
import { registerHistoryCommand } from "./commands/history.ts";
import { registerLoginCommand } from "./commands/login.ts";
import { registerPromoteCommand } from "./commands/promote.ts";
import { registerRegisterCommand } from "./commands/register.ts";
import { registerSearchCommand } from "./commands/search.ts";
import { registerTagCommand } from "./commands/tag.ts";
import { registerTeamsCommand } from "./commands/teams.ts";
import { registerTokensCommand } from "./commands/tokens.ts";
import { registerUsersCommand } from "./commands/users.ts";
import { registerVerifyCommand } from "./commands/verify.ts";
import { registerWatchCommand } from "./commands/watch.ts";
import { contextOf, outputOf } from "./context.ts";
import { CliError, ExitCode } from "./exitCodes.ts";
import { handleInterrupts, interrupt } from "./interrupt.ts";
import { noSuchModel } from "./modelRef.ts";

export function buildProgram(): Command {
  const program = new Command("registro")
    .description("Register, upload, promote and fetch models from a Registro server.")
    .version("0.1.0")
    .addOption(
      new Option("--url <url>", "the server (default: REGISTRO_URL, the login file, http://127.0.0.1:4000)"),
    )
    .addOption(
      new Option("--timeout <seconds>", "deadline of each API call; idle limit of transfers").default(
        undefined,
      ),
    )
    .option("--json", "print one JSON document on stdout (no progress)")
    .option("-q, --quiet", "no progress or notes")
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerRegisterCommand,
    registerDownloadCommand,
    registerPromoteCommand,
    registerAliasCommand,
    registerTagCommand,
    registerDescribeCommand,
    registerHistoryCommand,
    registerSearchCommand,
    registerDiffCommand,
    registerWatchCommand,
    registerVerifyCommand,
    registerLoginCommand,
    registerTokensCommand,
    registerUsersCommand,
    registerTeamsCommand,
  ])
    register(program);
  // Subcommands inherit exitOverride only when added after it; set it on each explicitly.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** A mutation's NotFoundError for a model, said as the read commands say it: with the closest name. */
async function explainMissingModel(program: Command, error: CliError): Promise<CliError> {
  const { resource, key } = error.details ?? {};
  if (error.code !== "NOT_FOUND" || resource !== "RegisteredModel" || typeof key !== "string") return error;
  try {
    const better = await noSuchModel(contextOf(program).client, key);
    return new CliError(better.message, error.exitCode, error.code, error.details);
  } catch {
    return error;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  handleInterrupts();
  // Output piped into a reader that stopped (`registro history m | head`) is not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(ExitCode.ok);
    throw error;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.exitCode === 0
      )
        return ExitCode.ok;
      // Commander has said what is wrong on stderr; a script asking for JSON gets it there too.
      if (argv.includes("--json"))
        process.stdout.write(
          JSON.stringify(
            { error: { code: "USAGE", message: error.message, exitCode: ExitCode.usage } },
            null,
            2,
          ) + "\n",
        );
      return ExitCode.usage;
    }
    const out = outputOf(program);
    if (interrupt.signal.aborted) {
      out.error("interrupted; partial downloads are kept as .part files and resume next time", {
        code: "INTERRUPTED",
        exitCode: 130,
      });
      return 130;
    }
    if (error instanceof CliError) {
      const failure = await explainMissingModel(program, error);
      out.error(failure.message, {
        // The API's details first: the message and code said here are the ones that stand.
        ...failure.details,
        code: failure.code ?? null,
        message: failure.message,
        exitCode: failure.exitCode,
      });
      return failure.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    out.error(message, { code: null, message, exitCode: ExitCode.failure });
    return ExitCode.failure;
  }
}

process.exitCode = await main(process.argv.slice(2));
