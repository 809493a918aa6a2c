// A retried command must not be refused for having worked the first time: over random sequences,
// every accepted command of a kind that can be repeated decides nothing ([]) when repeated at once.
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.ts";
import type {
  RegisteredModelCommand,
  RegisteredModelCommandType,
} from "../../src/domain/registeredModel/commands.ts";
import { decide } from "../../src/domain/registeredModel/decide.ts";
import { evolve, fold } from "../../src/domain/registeredModel/state.ts";
import type { RegisteredModelState } from "../../src/domain/registeredModel/state.ts";
import { COMMAND_TYPES } from "../support/commands.ts";
import { seededRandom } from "../support/random.ts";
import { MODEL_NAMES, randomHostileCommand } from "../support/randomCommands.ts";

/**
 * Commands whose every run has an effect, by nature (docs/graphql.md, "Retries are safe"): creation,
 * a new version, an artifact at a path, a fresh inspection, and deleting or restoring the model
 * (the application addresses those by a name that no longer resolves after they ran).
 */
const NOT_REPEATABLE: ReadonlySet<RegisteredModelCommandType> = new Set([
  "CreateRegisteredModel",
  "CreateModelVersion",
  "AddModelVersionArtifact",
  "InspectModelVersionArtifacts",
  "DeleteRegisteredModel",
  "RestoreRegisteredModel",
  // A review request is opened once (its id is new), approved once per reviewer, closed once.
  "OpenReviewRequest",
  "ApproveReviewRequest",
  "RejectReviewRequest",
  "CancelReviewRequest",
]);

describe("a repeated command", () => {
  it("decides nothing the second time, over 40 random sequences of 250 commands", () => {
    const repeated = new Map<RegisteredModelCommandType, number>();
    for (let seed = 1; seed <= 40; seed++) {
      const rng = seededRandom(seed);
      let state: RegisteredModelState = fold([
        {
          type: "RegisteredModelCreated",
          data: { modelId: "m", name: rng.pick(MODEL_NAMES), description: "", tags: {} },
        },
      ]);
      for (let step = 0; step < 250; step++) {
        const command: RegisteredModelCommand =
          state.status === "deleted"
            ? { type: "RestoreRegisteredModel", data: {} }
            : randomHostileCommand(rng, state.lastVersion, false);
        const decision = decide(command, state);
        if (decision instanceof DomainError) continue;
        for (const event of decision) state = evolve(state, event);
        if (NOT_REPEATABLE.has(command.type) || decision.length === 0) continue;
        const again = decide(command, state);
        expect(again, `seed ${seed}, step ${step}: ${JSON.stringify(command)}`).toEqual([]);
        repeated.set(command.type, (repeated.get(command.type) ?? 0) + 1);
      }
    }
    // Every repeatable kind was repeated after it took effect.
    expect([...repeated.keys()].sort()).toEqual(COMMAND_TYPES.filter((t) => !NOT_REPEATABLE.has(t)).sort());
  });
});
