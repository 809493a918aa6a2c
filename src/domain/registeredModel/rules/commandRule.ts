// The shape of one command's rule: how it decides, and every error it can decide. The dispatcher
// (../decide.ts) holds one rule per command type; the GraphQL result unions are derived from `errors`.
import { NotFoundError } from "../../errors.ts";
import type { DomainError, ErrorClass } from "../../errors.ts";
import type { RegisteredModelCommand } from "../commands.ts";
import type { RegisteredModelEvent } from "../events.ts";
import type { RegisteredModelState } from "../state.ts";

/**
 * The events a command appends, or why it is refused. No events: the command would change nothing
 * (a retry, or a repeat), so it succeeds and nothing is recorded.
 */
export type Decision = RegisteredModelEvent[] | DomainError;

export interface CommandRule<C extends RegisteredModelCommand> {
  /**
   * Every DomainError class `decide` may return for this command, so a client can be told exactly
   * which failures to handle (a test runs hostile commands to keep this honest).
   */
  readonly errors: readonly ErrorClass[];
  readonly decide: (command: C, state: RegisteredModelState) => Decision;
  /**
   * What the client wrote, when the server derived part of the command (e.g. inspection results
   * from file bytes): only this is refused for text a database cannot store. Default: all data.
   */
  readonly clientInput?: (command: C) => unknown;
}

/**
 * A rule for a model that must be live: on a deleted or absent model the command is NotFound (a
 * deleted model is only restored), before the rule itself runs. NotFoundError joins its errors.
 */
export function onLiveModel<C extends RegisteredModelCommand>(rule: CommandRule<C>): CommandRule<C> {
  return {
    ...rule,
    errors: [NotFoundError, ...rule.errors.filter((e) => e !== NotFoundError)],
    decide: (command, state) =>
      state.status === "live"
        ? rule.decide(command, state)
        : new NotFoundError("RegisteredModel", state.name),
  };
}
