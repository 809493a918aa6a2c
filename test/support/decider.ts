// given(events).when(command).then(events | ErrorClass, fields): every domain rule reads as a
// scenario, with no database. The state is folded with the domain's own `evolve`.
import { expect } from "vitest";
import { DomainError } from "../../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { decide } from "../../src/domain/registeredModel/decide.ts";
import type { Decision } from "../../src/domain/registeredModel/decide.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { fold } from "../../src/domain/registeredModel/state.ts";

type ErrorClass<E extends DomainError> = abstract new (...args: any[]) => E;
type ErrorFields<E> = { [K in Exclude<keyof E, "stack" | "name" | "cause">]?: unknown };

export interface Then {
  /** The command's decision is exactly these events. */
  then(expected: readonly RegisteredModelEvent[]): void;
  /** The command is refused with this error class; the listed fields (matchers allowed) must match. */
  then<E extends DomainError>(errorClass: ErrorClass<E>, fields?: ErrorFields<E>): void;
  readonly decision: Decision;
}

function describeDecision(decision: Decision): string {
  return decision instanceof DomainError ? `${decision.name}: ${decision.message}` : JSON.stringify(decision);
}

export function given(events: readonly RegisteredModelEvent[]) {
  const state = fold(events);
  return {
    state,
    when(command: RegisteredModelCommand): Then {
      const decision = decide(command, state);
      return {
        decision,
        then(
          expected: readonly RegisteredModelEvent[] | ErrorClass<DomainError>,
          fields?: Record<string, unknown>,
        ) {
          if (Array.isArray(expected)) {
            expect(decision, `expected events, got ${describeDecision(decision)}`).toBeInstanceOf(Array);
            expect(decision).toEqual(expected);
            return;
          }
          const errorClass = expected as ErrorClass<DomainError>;
          expect(decision, `expected ${errorClass.name}, got ${describeDecision(decision)}`).toBeInstanceOf(
            errorClass,
          );
          if (fields === undefined) return;
          const actual = Object.fromEntries(
            Object.keys(fields).map((key) => [key, (decision as unknown as Record<string, unknown>)[key]]),
          );
          expect(actual).toEqual(fields);
        },
      };
    },
  };
}
