// The schema builder and its plugins. It defines no types: each type lives in ./types with the
// queries and mutations that return it, and schema.ts imports them all.
import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import { GraphQLError, GraphQLScalarType, isObjectType } from "graphql";
import type { GraphQLResolveInfo } from "graphql";
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from "graphql-scalars";
import type PrismaTypes from "../db/generated/sqlite/pothos-types.ts";
import { getDatamodel } from "../db/generated/sqlite/pothos-types.ts";
import type { UploadValue } from "../artifacts/uploadTokens.ts";
import type { GraphQLContext } from "./context.ts";

/** The most ids `nodes(ids:)` takes in one call. */
export const MAX_NODE_IDS = 100;

/** Whether a global id (as Pothos decoded it) names a type that implements Node. */
function namesNodeType(id: { readonly typename: string }, info: GraphQLResolveInfo): boolean {
  const type = info.schema.getType(id.typename);
  return isObjectType(type) && type.getInterfaces().some((face) => face.name === "Node");
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    /** Registered in ./types/artifact.ts. */
    SafeInt: { Input: number; Output: number };
    Upload: { Input: UploadValue; Output: never };
  };
}>({
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  prisma: {
    client: (ctx) => ctx.reader,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
    maxConnectionSize: 500,
    defaultConnectionSize: 50,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodesOnConnection: { description: "The items of this page, without cursors." },
    nodeQueryOptions: {
      description: "Fetches any object by its global id.",
      args: { id: { description: "Global id of the object." } },
      // An id naming a type that is no Node names no object: null, as for an object that does not
      // exist. Pothos answered it as an internal error. (An id that does not decode is refused.)
      resolve: (_root, args, _context, info, resolveNode) =>
        namesNodeType(args.id, info) ? resolveNode(args.id) : null,
    },
    nodesQueryOptions: {
      description: `Fetches several objects by their global ids (at most ${MAX_NODE_IDS}).`,
      args: { ids: { description: "Global ids of the objects." } },
      resolve: async (_root, args, _context, info, resolveNodes) => {
        // Each id is a lookup of its own: 100,000 of them held the server for seconds.
        if (args.ids.length > MAX_NODE_IDS)
          throw new GraphQLError(`nodes takes at most ${MAX_NODE_IDS} ids, not ${args.ids.length}`, {
            extensions: { code: "BAD_USER_INPUT", field: "ids" },
          });
        const all = args.ids;
        const named = all.map((id) => namesNodeType(id, info));
        // Pothos resolves `args.ids`: only the ids of Node types go to it, the others answer null.
        args.ids = all.filter((_, i) => named[i]);
        const found = await resolveNodes(args.ids);
        let next = 0;
        return all.map((_, i) => (named[i] ? (found[next++] ?? null) : null));
      },
    },
    nodeTypeOptions: { description: "An object with a global id, refetchable with `node(id:)`." },
    idFieldOptions: { description: "Global id (opaque), usable with `node(id:)`." },
    pageInfoTypeOptions: { description: "Relay pagination state of a connection." },
    hasNextPageFieldOptions: { description: "Whether more items follow the last one returned." },
    hasPreviousPageFieldOptions: { description: "Whether items precede the first one returned." },
    startCursorFieldOptions: { description: "Cursor of the first item returned." },
    endCursorFieldOptions: {
      description: "Cursor of the last item returned; pass it as `after` for the next page.",
    },
    firstArgOptions: {
      description: "Return at most this many items from the start (default 50, at most 500).",
    },
    lastArgOptions: { description: "Return at most this many items from the end." },
    afterArgOptions: { description: "Return items after this cursor." },
    beforeArgOptions: { description: "Return items before this cursor." },
    cursorFieldOptions: { description: "Opaque cursor of this item for `after`/`before`." },
    nodeFieldOptions: { description: "The item." },
    edgesFieldOptions: { description: "Items with their cursors." },
    pageInfoFieldOptions: { description: "Pagination state." },
    defaultConnectionTypeOptions: { description: "A page of items (Relay connection)." },
    defaultEdgeTypeOptions: { description: "An item of a page with its cursor." },
  },
  errors: { directResult: true },
});

// Each custom scalar says how it travels and what a TypeScript client should map it to (the mapping
// docs/graphql.md lists for GraphQL Code Generator), and links its specification where one exists.
/**
 * A date from year 1 on: RFC 3339 allows year 0000, which PostgreSQL's timestamps refuse as out of
 * range (a client's `at` or filter date answered as an internal error on PostgreSQL).
 */
function fromYearOne(date: Date): Date {
  if (date.getUTCFullYear() < 1)
    throw new GraphQLError(`DateTime cannot represent a date before the year 1: ${date.toISOString()}`);
  return date;
}

const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  parseValue: (value) => fromYearOne(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast, variables) => fromYearOne(DateTimeResolver.parseLiteral(ast, variables)),
});

builder.addScalarType("DateTime", DateTime, {
  description:
    "A date and time in UTC as an RFC 3339 string, e.g. `2026-12-02T10:15:30.000Z` (TypeScript: `string`; parse with `new Date(…)`). Inputs with an offset are converted to UTC.",
  specifiedByURL: "https://scalars.graphql.org/andimarek/date-time",
});
builder.addScalarType("JSON", JSONResolver, {
  description: "Any JSON value (TypeScript: `unknown`).",
  specifiedByURL: "https://www.rfc-editor.org/rfc/rfc8259",
});
builder.addScalarType("JSONObject", JSONObjectResolver, {
  description: "A JSON object (TypeScript: `Record<string, unknown>`).",
  specifiedByURL: "https://www.rfc-editor.org/rfc/rfc8259",
});

builder.queryType({ description: "Reads of the registry's current state and its history." });
builder.mutationType({
  description: "Every change to the registry; each appends events to a model's history.",
});
builder.subscriptionType({
  description:
    "Live notifications of committed changes, in log order, resumable with a cursor (graphql-ws on /graphql, or SSE).",
});
