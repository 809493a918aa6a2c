// The last line before the read side's queries, for values decoded from an opaque argument (a
// global id, a cursor), which the checks long before this (the domain, GraphQL arguments) never saw:
// - text PostgreSQL cannot hold (NUL, an unpaired surrogate), which fails there with an internal
//   error while SQLite answers "nothing";
// - a cursor whose values do not have its fields' types (./cursorTypes.ts), which Prisma refuses
//   with an internal error on both.
// Both are refused the same way on both providers: the text as a ValidationError the API layers
// report like any other, the cursor as a MistypedCursorError (GraphQL's INVALID_CURSOR).
import { ValidationError } from "../domain/errors.ts";
import { checkTextDeep } from "../domain/validation.ts";
import { MistypedCursorError, argumentsHoldMistypedCursor } from "./cursorTypes.ts";
import type { PrismaClient } from "./generated/sqlite/client.ts";

/** The field named when text hidden inside an argument (an id, a cursor) is refused. */
export const DECODED_ARGUMENT_FIELD = "arguments";

export function guardDecodedArguments<C extends Pick<PrismaClient, "$extends">>(client: C): C {
  return client.$extends({
    query: {
      $allOperations({ model, args, query }) {
        if (checkTextDeep("", args) !== null)
          throw new ValidationError(
            DECODED_ARGUMENT_FIELD,
            "an id, cursor or name decodes to text no database can store (NUL or an unpaired UTF-16 surrogate)",
          );
        if (argumentsHoldMistypedCursor(model, args)) throw new MistypedCursorError();
        return query(args);
      },
    },
  }) as unknown as C;
}
