// What every command gets: the resolved settings, the GraphQL client, the output, and a signal that
// Ctrl-C aborts (so transfers stop and leave only their `.part` files).
import type { Command } from "commander";
import { createGraphqlClient } from "./graphqlClient.ts";
import { interrupt } from "./interrupt.ts";
import type { GraphqlClient } from "./graphqlClient.ts";
import { Output } from "./output.ts";
import { resolveSettings } from "./settings.ts";
import type { Settings } from "./settings.ts";

export interface GlobalOptions {
  url?: string;
  timeout?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface CommandContext {
  readonly settings: Settings;
  readonly client: GraphqlClient;
  readonly out: Output;
  readonly signal: AbortSignal;
}

export function outputOf(command: Command): Output {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return new Output({ json: globals.json === true, quiet: globals.quiet === true || globals.json === true });
}

export function contextOf(command: Command): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const settings = resolveSettings(globals);
  return {
    settings,
    client: createGraphqlClient(settings),
    out: outputOf(command),
    signal: interrupt.signal,
  };
}
