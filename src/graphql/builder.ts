// The schema builder and its plugins. It defines no types: each type lives in ./types with the
// queries and mutations that return it, and schema.ts imports them all.
import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from "graphql-scalars";
import type PrismaTypes from "../db/generated/sqlite/pothos-types.ts";
import { getDatamodel } from "../db/generated/sqlite/pothos-types.ts";
import type { GraphQLContext } from "./context.ts";

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  prisma: {
    client: (ctx) => ctx.db.reader,
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
    nodesOnConnection: true,
    nodeQueryOptions: { description: "Fetches any object by its global id." },
    nodesQueryOptions: { description: "Fetches several objects by their global ids." },
    nodeTypeOptions: { description: "An object with a global id, refetchable with `node(id:)`." },
    pageInfoTypeOptions: { description: "Relay pagination state of a connection." },
  },
  errors: { directResult: true },
});

builder.addScalarType("DateTime", DateTimeResolver, {});
builder.addScalarType("JSON", JSONResolver, {});
builder.addScalarType("JSONObject", JSONObjectResolver, {});

builder.queryType({ description: "Reads of the registry's current state and its history." });
builder.mutationType({ description: "Every change to the registry; each appends events to a model's history." });
