// Shared glue for mutation resolvers: run the command, turn a domain error into the typed union
// member (the errors plugin catches the thrown instance), and hand back what payloads resolve from.
import { executeCommand } from "../application/executeCommand.ts";
import type { ModelRef } from "../application/executeCommand.ts";
import { DomainError } from "../domain/errors.ts";
import type { RegisteredModelCommand } from "../domain/registeredModel/commands.ts";
import type { Event, ModelVersion, RegisteredModel } from "../db/generated/sqlite/client.ts";
import type { StreamViews } from "../projections/streamViews.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { GraphQLContext } from "./context.ts";

export interface CommandPayload {
  readonly modelId: string;
  /** The version the mutation was about, when it was about one. */
  readonly version: number | null;
  readonly positions: readonly number[];
  /** Versions archived by the same stage transition. */
  readonly archivedVersions: readonly number[];
  /** The projection rows as the command left them (committed), so payloads need not read them back. */
  readonly views: StreamViews;
  readonly events: readonly RecordedEvent[];
}

/**
 * Pothos' prisma plugin passes a `query` holding the relations the selection needs. With none, the
 * committed view the command already holds answers the selection, sparing a database read per
 * mutation (a view has every column of its row).
 */
export const needsNoRelations = (query: object) => Object.keys(query).length === 0;

/**
 * A mutation payload's `events`: the appended events as recorded when the selection needs no
 * relations, else read back (with what the selection needs) in log order.
 */
export function appendedEvents(
  query: object,
  events: readonly RecordedEvent[],
  ctx: GraphQLContext,
): Event[] | Promise<Event[]> {
  return needsNoRelations(query)
    ? (events as unknown as Event[])
    : ctx.reader.event.findMany({
        ...query,
        where: { position: { in: events.map((e) => e.position) } },
        orderBy: { position: "asc" },
      });
}

export const versionRowFromView = (
  payload: CommandPayload,
  version: number | null,
): ModelVersion | undefined =>
  (payload.views.versions.get(version ?? 0) ?? undefined) as unknown as ModelVersion | undefined;

// The view lacks only the columns the database generates for text filters, which no field reads.
export const modelRowFromView = (payload: CommandPayload): RegisteredModel | undefined =>
  (payload.views.model ?? undefined) as RegisteredModel | undefined;

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
    views: outcome.views,
    events: outcome.events,
  };
}
