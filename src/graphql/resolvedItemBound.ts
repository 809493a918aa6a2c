// The item bound (../http/itemLimit.ts) counts what an operation could return before it runs, from
// its page sizes; a list without pagination (a model's aliases, a version's tags, artifacts and
// review requests) counts as one item there, since its length is what the registry holds. Through
// the graph's cycles such lists multiply: model → aliases → version → model → aliases… with 20
// aliases, five levels deep within the depth limit, is 3.2 million objects for a query of a few
// hundred bytes. This bound counts the items every list of objects actually returns while an
// execution runs (a query, a mutation, one event of a subscription) and stops it past
// MAX_RESOLVED_ITEMS: every list resolved after that fails, and the result is collapsed into one
// MAX_ITEMS_EXCEEDED error, without data. The same count is charged to the caller's rate limit
// (../http/rateLimit.ts), so repeating such a query costs its client, not only each request.
import {
  GraphQLError,
  defaultFieldResolver,
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isObjectType,
  OperationTypeNode,
} from "graphql";
import type {
  ExecutionResult,
  GraphQLField,
  GraphQLFieldResolver,
  GraphQLResolveInfo,
  GraphQLSchema,
} from "graphql";
import type { GraphQLContext } from "./context.ts";
import { isThenable } from "./guardArguments.ts";

/** Items the lists of one execution may return in all: far above any page the item bound lets through. */
export const MAX_RESOLVED_ITEMS = 100_000;

const CODE = "MAX_ITEMS_EXCEEDED";
const RATE_LIMITED = "RATE_LIMITED";
const MESSAGE = `The operation's lists returned more than ${MAX_RESOLVED_ITEMS} items while it ran (lists without pagination, such as aliases, tags or artifacts, nested in each other): select fewer nested lists`;

/**
 * Items counted per execution. graphql-js coerces the variables into a new object for every
 * execution (subscription events included), so that object tells executions apart where the
 * context (one per WebSocket operation) and the document (cached) do not.
 */
const counted = new WeakMap<object, number>();

function count(value: unknown, info: GraphQLResolveInfo, context: unknown): unknown {
  if (!Array.isArray(value)) return value;
  // The caller's rate limit pays for what its lists return; a query or mutation stops once it is
  // spent, a subscription's event is delivered all the same (and charged once for all the
  // caller's subscriptions that share its execution).
  const refused = (context as Partial<Pick<GraphQLContext, "rateCharge">>).rateCharge?.(value.length);
  if (refused && info.operation.operation !== OperationTypeNode.SUBSCRIPTION)
    throw new GraphQLError(refused.message, {
      nodes: info.fieldNodes,
      extensions: { code: RATE_LIMITED, retryAfter: refused.retryAfterSeconds },
    });
  const key = info.variableValues;
  const total = (counted.get(key) ?? 0) + value.length;
  counted.set(key, total);
  if (total > MAX_RESOLVED_ITEMS)
    throw new GraphQLError(MESSAGE, {
      nodes: info.fieldNodes,
      extensions: { code: CODE, limit: MAX_RESOLVED_ITEMS },
    });
  return value;
}

/** The resolvers countedResolver made: a field already counting is not wrapped again. */
const counting = new WeakSet<GraphQLFieldResolver<never, never>>();

function countedResolver<Source, Context>(
  resolver: GraphQLFieldResolver<Source, Context>,
): GraphQLFieldResolver<Source, Context> {
  if (counting.has(resolver)) return resolver;
  const counted: GraphQLFieldResolver<Source, Context> = (source, args, context, info) => {
    const result = resolver(source, args, context, info);
    return isThenable(result)
      ? Promise.resolve(result).then((value) => count(value, info, context))
      : count(result, info, context);
  };
  counting.add(counted);
  return counted;
}

/** Whether a field returns a list of objects (of an object, interface or union type). */
export function returnsObjectList(field: GraphQLField<unknown, unknown>): boolean {
  const named = getNamedType(field.type);
  return isListType(getNullableType(field.type)) && (isObjectType(named) || isAbstractType(named));
}

/**
 * Wraps the resolver of every field whose type is a list of objects, once: two schemas that share a
 * type (or a schema bound twice) would otherwise count its lists twice. Returns the schema.
 */
export function boundResolvedItems(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields()))
      if (returnsObjectList(field)) field.resolve = countedResolver(field.resolve ?? defaultFieldResolver);
  }
  return schema;
}

/**
 * How an execution stopped by the bound, or by its caller's rate limit, answers.
 * - A query: that one error and no data, with HTTP 400 as the item bound's refusal before execution
 *   (429 and Retry-After for the rate limit; Yoga takes the status off the error).
 * - A subscription's event: the item bound's error without a status (it goes over a stream already
 *   open).
 * - A mutation: its data as far as it got, and the error once. Its change was made (the payload is
 *   read after the command), so it must not look refused: a client would make it again.
 */
export function collapseOverBound(
  result: ExecutionResult,
  kind: "query" | "event" | "mutation",
): ExecutionResult {
  const over = result.errors?.find(
    (error) => error.extensions.code === CODE || error.extensions.code === RATE_LIMITED,
  );
  if (over === undefined) return result;
  const code = over.extensions.code;
  if (kind === "mutation")
    return { ...result, errors: result.errors?.filter((e) => e === over || e.extensions.code !== code) };
  if (code === RATE_LIMITED) {
    const retryAfter = over.extensions.retryAfter;
    const http = { status: 429, headers: { "retry-after": String(retryAfter) } };
    return {
      errors: [
        new GraphQLError(over.message, {
          extensions: { code, retryAfter, ...(kind === "query" ? { http } : {}) },
        }),
      ],
    };
  }
  const extensions = {
    code: CODE,
    limit: MAX_RESOLVED_ITEMS,
    ...(kind === "query" ? { http: { status: 400 } } : {}),
  };
  return { errors: [new GraphQLError(MESSAGE, { extensions })] };
}
