// Shared glue for mutation resolvers: run the command, turn a domain error into the typed union
// member (the errors plugin catches the thrown instance), and hand back what payloads resolve from.
import { executeCommand } from "../application/executeCommand.ts";
import type { ModelRef } from "../application/executeCommand.ts";
import { DomainError } from "../domain/errors.ts";
import type { RegisteredModelCommand } from "../domain/registeredModel/commands.ts";
import type { GraphQLContext } from "./context.ts";

export interface CommandPayload {
  readonly modelId: string;
  /** The version the mutation was about, when it was about one. */
  readonly version: number | null;
  readonly positions: readonly number[];
  /** Versions archived by the same stage transition. */
  readonly archivedVersions: readonly number[];
}

export async function runCommand(
  ctx: GraphQLContext,
  ref: ModelRef,
  command: RegisteredModelCommand,
  expectedRevision: number | null | undefined,
  version: number | null = null,
): Promise<CommandPayload> {
  const outcome = await executeCommand(ctx.commands, ref, command, ctx, expectedRevision ?? undefined);
  if (outcome instanceof DomainError) throw outcome;
  const created = outcome.events.find((e) => e.type === "ModelVersionCreated");
  const transitioned = outcome.events.find((e) => e.type === "ModelVersionStageTransitioned");
  return {
    modelId: outcome.modelId,
    version: created?.type === "ModelVersionCreated" ? created.data.version : version,
    positions: outcome.events.map((e) => e.position),
    archivedVersions:
      transitioned?.type === "ModelVersionStageTransitioned"
        ? transitioned.data.archived.map((a) => a.version)
        : [],
  };
}
