// The application decides on a *partial* state: only the versions `stateNeeds(command)` names plus
// the live versions in `versionsInStage`, loaded from the projection. This checks, over random
// command sequences, that the partial state always leads `decide` to the full state's answer.
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { decide, reviewNeeds, stateNeeds } from "../../src/domain/registeredModel/decide.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import type { Decision } from "../../src/domain/registeredModel/decide.ts";
import { evolve, initialState } from "../../src/domain/registeredModel/state.ts";
import type { RegisteredModelState, VersionState } from "../../src/domain/registeredModel/state.ts";
import { versionCreated } from "../support/events.ts";
import { seededRandom } from "../support/random.ts";
import type { Random } from "../support/random.ts";
import { MODEL_NAMES, randomStreamCommand } from "../support/randomCommands.ts";

/** What the application loads for `command`: see loadStreamViews + decisionState. */
function partialState(full: RegisteredModelState, command: RegisteredModelCommand): RegisteredModelState {
  const needs = stateNeeds(command);
  const versions: Record<number, VersionState> = {};
  // Only the comment a command names, with its version (see loadStreamViews).
  const comment = needs.comment === undefined ? undefined : full.comments[needs.comment];
  const comments = comment === undefined ? {} : { [comment.id]: comment };
  for (const number of [...needs.versions, ...(comment ? [comment.version] : [])]) {
    const found = full.versions[number];
    if (found) versions[number] = found;
  }
  // A command on a review request also gets the request's version (and stage), as executeCommand loads them.
  const more = reviewNeeds(command, full.openReviews);
  for (const number of more?.versions ?? []) {
    const found = full.versions[number];
    if (found) versions[number] = found;
  }
  for (const stage of [needs.versionsInStage, more?.versionsInStage ?? null]) {
    if (stage === null) continue;
    for (const v of Object.values(full.versions)) {
      if (v.stage === stage && !v.deleted) versions[v.version] = v;
    }
  }
  // Every active deployment when the command needs them, and the pair it names (see executeCommand).
  const deployments = Object.fromEntries(
    Object.entries(full.deployments).filter(
      ([, d]) =>
        (needs.deployments === true && d.active) ||
        (needs.deployment?.environment === d.environment && needs.deployment.version === d.version),
    ),
  );
  return { ...full, versions, comments, deployments };
}

function comparable(decision: Decision) {
  if (!(decision instanceof DomainError)) return { events: decision };
  return { error: decision.constructor.name, message: decision.message, fields: { ...decision } };
}

function nextCommand(rng: Random, state: RegisteredModelState): RegisteredModelCommand {
  if (state.status === "absent")
    return {
      type: "CreateRegisteredModel",
      data: { modelId: "m-1", name: rng.pick(MODEL_NAMES), description: "", tags: [] },
    };
  if (state.status === "deleted" && rng.chance(0.5)) return { type: "RestoreRegisteredModel", data: {} };
  return randomStreamCommand(rng, state.lastVersion);
}

describe("decide on the partial state the application loads", () => {
  it("agrees with decide on the fully folded state, over 40 random sequences of 250 commands", () => {
    const seen = {
      accepted: 0,
      refused: 0,
      archivedOthers: 0,
      aliasMoved: 0,
      aliasesRemovedWithVersion: 0,
      artifactsAdded: 0,
      finalized: 0,
      inspected: 0,
      signatures: 0,
      commentsChanged: 0,
      deploymentsChanged: 0,
    };
    for (let seed = 1; seed <= 40; seed++) {
      const rng = seededRandom(seed);
      let full = initialState;
      for (let step = 0; step < 250; step++) {
        const command = nextCommand(rng, full);
        const expected = decide(command, full);
        const actual = decide(command, partialState(full, command));
        expect(comparable(actual), `seed ${seed}, step ${step}: ${JSON.stringify(command)}`).toEqual(
          comparable(expected),
        );
        if (expected instanceof DomainError) {
          seen.refused++;
          continue;
        }
        seen.accepted++;
        for (const event of expected) {
          if (event.type === "ModelVersionStageTransitioned" && event.data.archived.length > 0)
            seen.archivedOthers++;
          if (event.type === "RegisteredModelAliasSet" && event.data.previousVersion !== null)
            seen.aliasMoved++;
          if (event.type === "ModelVersionDeleted" && event.data.removedAliases.length > 0)
            seen.aliasesRemovedWithVersion++;
          if (event.type === "ModelVersionArtifactAdded") seen.artifactsAdded++;
          if (event.type === "ModelVersionFinalized") seen.finalized++;
          if (event.type === "ModelVersionArtifactInspected") seen.inspected++;
          if (event.type === "ModelVersionSignatureSet") seen.signatures++;
          if (event.type === "ModelVersionDeployed" || event.type === "ModelVersionDeploymentRetired")
            seen.deploymentsChanged++;
          if (event.type === "ModelVersionCommentEdited" || event.type === "ModelVersionCommentDeleted")
            seen.commentsChanged++;
          full = evolve(full, event);
        }
      }
    }
    // The sequences must actually reach the rules where a partial state could go wrong.
    expect(seen.archivedOthers).toBeGreaterThan(20);
    expect(seen.aliasMoved).toBeGreaterThan(20);
    expect(seen.aliasesRemovedWithVersion).toBeGreaterThan(5);
    expect(seen.artifactsAdded).toBeGreaterThan(20);
    expect(seen.finalized).toBeGreaterThan(5);
    expect(seen.inspected).toBeGreaterThan(20);
    expect(seen.signatures).toBeGreaterThan(10);
    expect(seen.commentsChanged).toBeGreaterThan(20);
    expect(seen.deploymentsChanged).toBeGreaterThan(20);
    expect(seen.accepted).toBeGreaterThan(2000);
    expect(seen.refused).toBeGreaterThan(1000);
  });

  it("would catch a state that misses the versions in the target stage", () => {
    // Guards the property above against being vacuous: dropping versionsInStage changes the answer.
    let state = initialState;
    const events: RegisteredModelEvent[] = [
      { type: "RegisteredModelCreated", data: { modelId: "m", name: "m", description: "", tags: {} } },
      versionCreated(1, { source: "s" }),
      versionCreated(2, { source: "s" }),
      {
        type: "ModelVersionStageTransitioned",
        data: { version: 1, from: "None", to: "Production", comment: null, archived: [] },
      },
    ];
    for (const event of events) state = evolve(state, event);
    const command: RegisteredModelCommand = {
      type: "TransitionModelVersionStage",
      data: { version: 2, stage: "Production", comment: null, archiveExistingVersions: true },
    };
    const onlyTarget = { ...state, versions: { 2: state.versions[2]! } };
    expect(comparable(decide(command, onlyTarget))).not.toEqual(comparable(decide(command, state)));
    expect(comparable(decide(command, partialState(state, command)))).toEqual(
      comparable(decide(command, state)),
    );
  });
});
