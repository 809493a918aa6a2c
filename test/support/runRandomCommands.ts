// Drives the application with a long random sequence over a handful of model names: creates (some
// clashing or invalid), renames, deletes and restores across streams, and the stream commands of
// randomStreamCommand. Many commands are refused; that is part of the point.
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import type { CommandDeps, ModelRef } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { DomainError } from "../../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import type { Random } from "./random.ts";
import { MODEL_NAMES, randomStreamCommand } from "./randomCommands.ts";
import { userActor } from "./actors.ts";

const live = (name: string): ModelRef => ({ kind: "live", name });

function registration(
  rng: Random,
  ref: ModelRef,
  version: number,
): { ref: ModelRef; command: RegisteredModelCommand }[] {
  const paths = ["model.onnx", "config.json", "tokenizer/vocab.txt"].slice(0, rng.int(0, 3));
  const adds = paths.map((path) => ({
    ref,
    command: {
      type: "AddModelVersionArtifact" as const,
      data: {
        version,
        path,
        role: "other" as const,
        size: rng.int(1, 1 << 30),
        sha256: "c".repeat(64),
        mediaType: "application/octet-stream",
      },
    },
  }));
  const end: RegisteredModelCommand = rng.chance(0.8)
    ? { type: "FinalizeModelVersion", data: { version } }
    : { type: "FailModelVersionRegistration", data: { version, reason: null } };
  return [...adds, { ref, command: end }];
}

export interface RandomRunStats {
  accepted: number;
  refused: Record<string, number>;
  eventTypes: Record<string, number>;
}

export async function runRandomCommands(
  deps: CommandDeps,
  rng: Random,
  count: number,
  prefix = "m",
): Promise<RandomRunStats> {
  const lastVersion = new Map<string, number>();
  // Names believed live / deleted, so most commands address a model that can accept them.
  const liveNames = new Set<string>();
  const deletedNames = new Set<string>();
  const stats: RandomRunStats = { accepted: 0, refused: {}, eventTypes: {} };
  // Follow-ups of a pending registration (upload its files, then finalize or give up), run next.
  const queued: { ref: ModelRef; command: RegisteredModelCommand }[] = [];
  for (let i = 0; i < count; i++) {
    let name = rng.pick(MODEL_NAMES);
    let ref: ModelRef;
    let command: RegisteredModelCommand;
    const roll = rng.int(0, 99);
    const next = queued.shift();
    if (next) {
      ({ ref, command } = next);
    } else if (roll < 12) {
      const modelId = `${prefix}-${i}`;
      ref = { kind: "new", modelId };
      command = {
        type: "CreateRegisteredModel",
        data: {
          modelId,
          name,
          description: "",
          tags: rng.chance(0.5) ? [{ key: "team", value: "risk" }] : [],
        },
      };
    } else if (roll < 19) {
      if (deletedNames.size > 0 && rng.chance(0.8)) name = rng.pick([...deletedNames]);
      ref = { kind: "deleted", name };
      command = { type: "RestoreRegisteredModel", data: {} };
    } else {
      if (liveNames.size > 0 && rng.chance(0.9)) name = rng.pick([...liveNames]);
      ref = { kind: "live", name };
      command = randomStreamCommand(rng, lastVersion.get(name) ?? 2);
      // Restores are rarer than deletes here; halve deletes so models stay live long enough to evolve.
      if (command.type === "DeleteRegisteredModel" && rng.chance(0.5))
        command = randomStreamCommand(rng, lastVersion.get(name) ?? 2);
    }
    const outcome = await executeCommand(deps, ref, command, {
      actor: userActor(`user-${rng.int(1, 3)}`),
      correlationId: `c-${i}`,
      rights: SYSTEM_RIGHTS,
    });
    if (outcome instanceof DomainError) {
      stats.refused[outcome.name] = (stats.refused[outcome.name] ?? 0) + 1;
      continue;
    }
    stats.accepted++;
    for (const event of outcome.events)
      stats.eventTypes[event.type] = (stats.eventTypes[event.type] ?? 0) + 1;
    for (const event of outcome.events) {
      if (
        event.type === "ModelVersionCreated" &&
        event.data.status === "PENDING_REGISTRATION" &&
        outcome.views.model
      )
        queued.push(...registration(rng, live(outcome.views.model.name), event.data.version));
      if (event.type === "RegisteredModelRenamed") liveNames.delete(event.data.from);
      if (event.type === "RegisteredModelDeleted") {
        liveNames.delete(event.data.name);
        deletedNames.add(event.data.name);
      }
    }
    const model = outcome.views.model;
    if (model && !model.deleted) liveNames.add(model.name);
    if (model) lastVersion.set(model.name, model.lastVersion);
  }
  return stats;
}
