// Drives the application with a long random sequence over a handful of model names: creates (some
// clashing or invalid), renames, deletes and restores across streams, and the stream commands of
// randomStreamCommand. Many commands are refused; that is part of the point. Every refusal must be
// one of the errors the command declares (commandErrors), or the run fails.
import { DEFAULT_ACCESS_POLICY, SYSTEM_RIGHTS, accessRights } from "../../src/access/modelAccess.ts";
import type { AccessRights } from "../../src/access/modelAccess.ts";
import type { RegistryRole } from "../../src/access/principal.ts";
import type { CommandDeps, ModelRef } from "../../src/application/executeCommand.ts";
import { commandErrors, executeCommand } from "../../src/application/executeCommand.ts";
import { DomainError } from "../../src/domain/errors.ts";
import type {
  RegisteredModelCommand,
  RegisteredModelCommandType,
} from "../../src/domain/registeredModel/commands.ts";
import type { Random } from "./random.ts";
import { MODEL_NAMES, randomHostileCommand, randomStreamCommand, withHostileText } from "./randomCommands.ts";
import { userActor } from "./actors.ts";

/** Callers other than the registry itself, for hostile runs: read-only, editing by default, private. */
function randomRights(rng: Random): AccessRights {
  const role = rng.pick<RegistryRole>(["MEMBER", "MEMBER", "VIEWER", "AUDITOR"]);
  const principal = {
    id: `user-${rng.int(1, 3)}`,
    kind: "USER",
    displayName: "u",
    email: null,
    role,
    teamIds: [],
  } as const;
  const credential = rng.chance(0.3)
    ? ({ kind: "token", tokenId: "t", scopes: ["read"] } as const)
    : ({ kind: "local" } as const);
  const defaultPermission = rng.pick([null, "READ", "EDIT"] as const);
  return accessRights({ principal, credential }, { ...DEFAULT_ACCESS_POLICY, defaultPermission });
}

const live = (name: string): ModelRef => ({ kind: "live", name });

function registration(
  rng: Random,
  ref: ModelRef,
  version: number,
  hostile: boolean,
): { ref: ModelRef; command: RegisteredModelCommand }[] {
  const paths = ["model.onnx", "config.json", "tokenizer/vocab.txt"].slice(0, rng.int(0, 3));
  // A client uploading a file twice, or giving up with a reason no database stores.
  if (hostile && paths.length > 0 && rng.chance(0.3)) paths.push(paths[0]!);
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
    : {
        type: "FailModelVersionRegistration",
        data: { version, reason: hostile && rng.chance(0.5) ? "gave up\u0000" : null },
      };
  return [...adds, { ref, command: end }];
}

export interface RandomRunStats {
  accepted: number;
  refused: Record<string, number>;
  /** Refusals by command type and error class name. */
  refusedBy: Partial<Record<RegisteredModelCommandType, Record<string, number>>>;
  eventTypes: Record<string, number>;
}

export interface RandomRunOptions {
  /**
   * Also send what a hostile or unlucky client would: text no database stores, odd version
   * numbers, names that cannot exist, stale expected revisions, callers without the permission.
   */
  readonly hostile?: boolean;
}

export async function runRandomCommands(
  deps: CommandDeps,
  rng: Random,
  count: number,
  prefix = "m",
  options: RandomRunOptions = {},
): Promise<RandomRunStats> {
  const lastVersion = new Map<string, number>();
  // Names believed live / deleted, so most commands address a model that can accept them.
  const liveNames = new Set<string>();
  const deletedNames = new Set<string>();
  const stats: RandomRunStats = { accepted: 0, refused: {}, refusedBy: {}, eventTypes: {} };
  const hostile = options.hostile === true;
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
      if (hostile && rng.chance(0.1)) command = withHostileText(rng, command);
    } else if (roll < 19) {
      if (deletedNames.size > 0 && rng.chance(0.8)) name = rng.pick([...deletedNames]);
      ref = { kind: "deleted", name };
      command = { type: "RestoreRegisteredModel", data: {} };
    } else {
      if (liveNames.size > 0 && rng.chance(0.9)) name = rng.pick([...liveNames]);
      if (hostile && rng.chance(0.03)) name = rng.pick(["no\u0000such", "never-created"]);
      ref = { kind: "live", name };
      command = hostile
        ? randomHostileCommand(rng, lastVersion.get(name) ?? 2, true)
        : randomStreamCommand(rng, lastVersion.get(name) ?? 2);
      // Restores are rarer than deletes here; halve deletes so models stay live long enough to evolve.
      if (command.type === "DeleteRegisteredModel" && rng.chance(0.5))
        command = randomStreamCommand(rng, lastVersion.get(name) ?? 2);
    }
    const rights = hostile && rng.chance(0.15) ? randomRights(rng) : SYSTEM_RIGHTS;
    const expectedRevision = hostile && rng.chance(0.1) ? rng.int(0, 12) : undefined;
    const outcome = await executeCommand(
      deps,
      ref,
      command,
      { actor: userActor(`user-${rng.int(1, 3)}`), correlationId: `c-${i}`, rights },
      expectedRevision,
    );
    if (outcome instanceof DomainError) {
      const declared = commandErrors(command.type);
      if (!declared.some((e) => outcome instanceof e))
        throw new Error(
          `command ${i}, ${command.type} returned ${outcome.name} (${outcome.message}), which it does not declare (${declared.map((e) => e.name).join(", ")})`,
        );
      stats.refused[outcome.name] = (stats.refused[outcome.name] ?? 0) + 1;
      const byType = (stats.refusedBy[command.type] ??= {});
      byType[outcome.name] = (byType[outcome.name] ?? 0) + 1;
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
        queued.push(...registration(rng, live(outcome.views.model.name), event.data.version, hostile));
      // A deleted version is restored now and then (a random restore rarely meets a deleted version).
      if (event.type === "ModelVersionDeleted" && outcome.views.model && rng.chance(0.3))
        queued.push({
          ref: live(outcome.views.model.name),
          command: { type: "RestoreModelVersion", data: { version: event.data.version } },
        });
      // A new policy is soon put to use: a request for the newest version (if it is READY it opens).
      if (event.type === "ModelReviewPolicySet" && outcome.views.model && rng.chance(0.5))
        queued.push({
          ref: live(outcome.views.model.name),
          command: {
            type: "OpenReviewRequest",
            data: {
              requestId: `policy-request-${i}`,
              version: Math.max(1, outcome.views.model.lastVersion),
              target: { kind: "STAGE", stage: "Production", archiveExistingVersions: false },
              reason: "promote the newest",
              requesterId: "alice",
            },
          },
        });
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
