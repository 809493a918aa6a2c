// Shorthands for running commands through the application in integration tests.
import type { CommandDeps, ModelRef } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { userActor } from "./actors.ts";

/** Metadata of a command run by the core's own tests: a named actor, without access limits. */
export const actor = { actor: userActor("tester"), correlationId: null, rights: SYSTEM_RIGHTS } as const;

export function commandDeps(db: Database): CommandDeps {
  return { db, clock: () => new Date() };
}

export const live = (name: string): ModelRef => ({ kind: "live", name });
export const deletedModel = (name: string): ModelRef => ({ kind: "deleted", name });

/** Runs a command and fails the test with the domain error if it is refused. */
export async function run(
  deps: CommandDeps,
  ref: ModelRef,
  command: RegisteredModelCommand,
  expectedRevision?: number,
) {
  const outcome = await executeCommand(deps, ref, command, actor, expectedRevision);
  if (outcome instanceof Error)
    throw new Error(`${command.type} refused: ${outcome.name}: ${outcome.message}`);
  return outcome;
}

export async function createModelNamed(deps: CommandDeps, modelId: string, name: string) {
  return run(
    deps,
    { kind: "new", modelId },
    { type: "CreateRegisteredModel", data: { modelId, name, description: "", tags: [] } },
  );
}
