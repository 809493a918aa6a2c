// Arguments of queries and subscriptions reach the database as lookups and filters. Text no
// database can hold (see unstorableText) cannot match anything stored, and PostgreSQL would answer
// it with an error instead of "nothing": such arguments are refused up front, as a GraphQL error
// with the domain's VALIDATION code and the offending argument as `field`. The reader refuses the
// same text decoded from opaque arguments (global ids, cursors); that ValidationError is reported
// the same way, and a cursor whose values do not fit its list as INVALID_CURSOR, as Pothos reports
// a cursor it cannot decode. Mutations are left to the domain, which answers with a ValidationError
// member of their result union.
import { GraphQLError, isObjectType } from "graphql";
import type { GraphQLFieldResolver, GraphQLResolveInfo, GraphQLSchema } from "graphql";
import { MistypedCursorError } from "../db/cursorTypes.ts";
import { ValidationError } from "../domain/errors.ts";
import { checkTextDeep } from "../domain/validation.ts";

const reported = (error: ValidationError, info: GraphQLResolveInfo) =>
  new GraphQLError(error.message, {
    nodes: info.fieldNodes,
    extensions: { code: error.code, field: error.field },
  });

/**
 * A promise or any other thenable: Prisma's queries are PrismaPromises, which are not instances of
 * Promise, and whose rejections (a cursor or a nested argument the reader refused) were otherwise
 * answered as internal errors.
 */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";

function checked<Source, Context>(
  resolver: GraphQLFieldResolver<Source, Context>,
): GraphQLFieldResolver<Source, Context> {
  return (source, args, context, info) => {
    const invalid = checkTextDeep("", args);
    if (invalid) throw reported(invalid, info);
    const report = (error: unknown) => {
      if (error instanceof MistypedCursorError)
        throw new GraphQLError(error.message, {
          nodes: info.fieldNodes,
          extensions: { code: "INVALID_CURSOR" },
        });
      throw error instanceof ValidationError ? reported(error, info) : error;
    };
    let result: unknown;
    try {
      result = resolver(source, args, context, info);
    } catch (error) {
      return report(error);
    }
    if (isThenable(result)) return Promise.resolve(result).catch(report);
    // `nodes(ids:)` answers a list of separately loaded items.
    if (Array.isArray(result))
      return (result as unknown[]).map((item) =>
        isThenable(item) ? Promise.resolve(item).catch(report) : item,
      );
    return result;
  };
}

/** Wraps every resolver (and subscription source) that takes arguments, outside Mutation. Returns the schema. */
export function guardArguments(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type === mutation || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      if (field.resolve) field.resolve = checked(field.resolve);
      if (field.subscribe) field.subscribe = checked(field.subscribe);
    }
  }
  return schema;
}
