// The last line before the read side's queries: a lookup with text PostgreSQL cannot hold (NUL, an
// unpaired surrogate) fails there with an internal error, while SQLite answers "nothing". Inputs
// are checked long before this (the domain, GraphQL arguments); what can still arrive here is text
// decoded from an opaque argument, such as a global id or a cursor. It is refused the same way on
// both providers, as a ValidationError the API layers report like any other.
import { ValidationError } from "../domain/errors.ts";
import { checkTextDeep } from "../domain/validation.ts";
import type { PrismaClient } from "./generated/sqlite/client.ts";

/** The field named when text hidden inside an argument (an id, a cursor) is refused. */
export const DECODED_ARGUMENT_FIELD = "arguments";

export function guardUnstorableText<C extends Pick<PrismaClient, "$extends">>(client: C): C {
  return client.$extends({
    query: {
      $allOperations({ args, query }) {
        if (checkTextDeep("", args) !== null)
          throw new ValidationError(
            DECODED_ARGUMENT_FIELD,
            "an id, cursor or name decodes to text no database can store (NUL or an unpaired UTF-16 surrogate)",
          );
        return query(args);
      },
    },
  }) as unknown as C;
}
