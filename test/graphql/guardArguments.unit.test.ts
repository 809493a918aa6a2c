// The argument guard (src/graphql/guardArguments.ts) maps what the reader refuses while a resolver
// runs (text no database can hold, decoded from a cursor or a nested argument; a mistyped cursor) to
// the client's error codes, whether the resolver throws, returns a promise, or returns another
// thenable: Prisma's queries are PrismaPromises, not Promises, and their refusals were answered as
// internal errors.
import { GraphQLObjectType, GraphQLSchema, GraphQLString, graphql } from "graphql";
import { describe, expect, it } from "vitest";
import { MistypedCursorError } from "../../src/db/cursorTypes.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { guardArguments } from "../../src/graphql/guardArguments.ts";

/** A thenable that is not a Promise, as a PrismaPromise is not. */
const thenable = (error: Error): PromiseLike<never> => ({
  then: (_resolved, rejected) => Promise.reject(error).then(undefined, rejected),
});

function schemaAnswering(answer: (error: Error) => unknown): GraphQLSchema {
  return guardArguments(
    new GraphQLSchema({
      query: new GraphQLObjectType({
        name: "Query",
        fields: {
          refused: {
            type: GraphQLString,
            args: { kind: { type: GraphQLString } },
            resolve: (_source, { kind }: { kind: string }) =>
              answer(
                kind === "cursor"
                  ? new MistypedCursorError()
                  : new ValidationError("arguments", "decodes to text no database can store"),
              ),
          },
        },
      }),
    }),
  );
}

describe("the argument guard", () => {
  it.each([
    [
      "throws",
      (error: Error) => {
        throw error;
      },
    ],
    ["rejects a promise", (error: Error) => Promise.reject(error)],
    ["rejects a thenable that is not a promise", thenable],
  ] as const)("maps a refusal when the resolver %s", async (_, answer) => {
    const schema = schemaAnswering(answer);
    for (const [kind, code] of [
      ["text", "VALIDATION"],
      ["cursor", "INVALID_CURSOR"],
    ]) {
      const result = await graphql({ schema, source: `{ refused(kind: "${kind}") }` });
      expect(result.errors?.map((e) => e.extensions.code)).toEqual([code]);
    }
  });
});
