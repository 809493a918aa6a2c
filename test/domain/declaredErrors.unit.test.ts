// Each rule declares the errors it can return (GraphQL result unions are built from them). Over
// random and hostile commands on random states, `decide` must never return an undeclared error,
// and every declared error must actually occur (a declaration that cannot happen is a lie too).
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.ts";
import { isBlockingVerdict } from "../../src/domain/inspection.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { decide, decisionErrors } from "../../src/domain/registeredModel/decide.ts";
import { evolve, initialState } from "../../src/domain/registeredModel/state.ts";
import type { RegisteredModelState } from "../../src/domain/registeredModel/state.ts";
import { COMMAND_TYPES } from "../support/commands.ts";
import { artifactAdded, artifactInspected, versionCreated } from "../support/events.ts";
import { seededRandom } from "../support/random.ts";
import type { Random } from "../support/random.ts";
import { MODEL_NAMES, randomHostileCommand, withHostileText } from "../support/randomCommands.ts";

/**
 * Given events that add a READY version with a DANGEROUS artifact: random commands reach one only
 * rarely (and how rarely shifts whenever the command mix changes), so sequences are given one now
 * and then, and the safety gate's refusals are sure to be exercised.
 */
function withGatedVersion(state: RegisteredModelState): RegisteredModelState {
  const version = state.lastVersion + 1;
  return [
    versionCreated(version, { status: "READY" }),
    artifactAdded("model.pkl", version),
    artifactInspected("model.pkl", "DANGEROUS", { version }),
  ].reduce(evolve, state);
}

/** A READY version whose artifacts the safety gate blocks (rarely reached by chance alone). */
function gatedVersion(state: RegisteredModelState): number | undefined {
  return Object.values(state.versions).find(
    (v) => !v.deleted && v.status === "READY" && v.artifacts.some((a) => isBlockingVerdict(a.verdict)),
  )?.version;
}

function nextCommand(rng: Random, state: RegisteredModelState): RegisteredModelCommand {
  const gated = state.status === "live" ? gatedVersion(state) : undefined;
  // A protected target is passed by a bypass, so the safety gate behind it is reached too.
  const bypassReason = rng.chance(0.5) ? "incident" : null;
  if (gated !== undefined && rng.chance(0.1))
    return rng.chance(0.4)
      ? { type: "SetRegisteredModelAlias", data: { alias: "champion", version: gated, bypassReason } }
      : rng.chance(0.7)
        ? {
            type: "TransitionModelVersionStage",
            data: {
              version: gated,
              stage: "Production",
              comment: null,
              archiveExistingVersions: false,
              bypassReason,
            },
          }
        : {
            type: "OpenReviewRequest",
            data: {
              requestId: `gated-${rng.int(1, 1e9)}`,
              version: gated,
              target: { kind: "STAGE", stage: "Production", archiveExistingVersions: false },
              reason: "needed",
              requesterId: "alice",
            },
          };
  // Reviews of requests that are open, by reviewers eligible or not.
  const open = Object.values(state.openReviews);
  const review = open.length > 0 && state.status === "live" && rng.chance(0.15) ? rng.pick(open) : undefined;
  if (review !== undefined) {
    const data = {
      requestId: review.requestId,
      comment: "seen",
      reviewerId: rng.pick(["alice", "bob", "carol", review.requesterId]),
      teamIds: rng.chance(0.3) ? ["risk"] : [],
      // The first approver lapsed when there is an odd number (no draw: the sequences stay as they were).
      lapsedApprovers: review.approvals.slice(0, review.approvals.length % 2),
    };
    return rng.chance(0.8) ? { type: "ApproveReviewRequest", data } : { type: "RejectReviewRequest", data };
  }
  // Creation and restoration also on streams where they do not apply.
  if (state.status === "absent" && rng.chance(0.05)) return { type: "RestoreRegisteredModel", data: {} };
  if (state.status === "absent" || rng.chance(0.02)) {
    const create: RegisteredModelCommand = {
      type: "CreateRegisteredModel",
      data: { modelId: "m-1", name: rng.pick(MODEL_NAMES), description: "", tags: [] },
    };
    return rng.chance(0.2) ? withHostileText(rng, create) : create;
  }
  if (state.status === "deleted" ? rng.chance(0.5) : rng.chance(0.01))
    return { type: "RestoreRegisteredModel", data: {} };
  return randomHostileCommand(rng, state.lastVersion, false);
}

describe("the errors each rule declares", () => {
  it("are the only ones decide returns, and each one occurs, over 100 random sequences of 250 commands", () => {
    const seen = new Map<string, Set<string>>();
    for (let seed = 1; seed <= 100; seed++) {
      const rng = seededRandom(seed);
      let state = initialState;
      for (let step = 0; step < 250; step++) {
        if (state.status === "live" && gatedVersion(state) === undefined && rng.chance(0.01))
          state = withGatedVersion(state);
        const command = nextCommand(rng, state);
        const decision = decide(command, state);
        if (!(decision instanceof DomainError)) {
          for (const event of decision) state = evolve(state, event);
          continue;
        }
        const declared = decisionErrors(command.type);
        expect(
          declared.some((e) => decision instanceof e),
          `seed ${seed}, step ${step}: ${command.type} returned ${decision.name} (${decision.message}), declared ${declared.map((e) => e.name).join(", ")}`,
        ).toBe(true);
        const errors = seen.get(command.type) ?? new Set();
        seen.set(command.type, errors.add(decision.name));
      }
    }
    const declared = Object.fromEntries(
      [...seen.keys()].sort().map((type) => [
        type,
        decisionErrors(type as RegisteredModelCommand["type"])
          .map((e) => e.name)
          .sort(),
      ]),
    );
    const observed = Object.fromEntries(
      [...seen.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([type, errors]) => [type, [...errors].sort()]),
    );
    // Every command type was refused at least once.
    expect(Object.keys(observed)).toHaveLength(COMMAND_TYPES.length);
    expect(observed).toEqual(declared);
  });
});
