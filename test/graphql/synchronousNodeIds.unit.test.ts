// Global ids resolve without a promise (graphql-js then completes a node without promiseForObject),
// encoded exactly as Pothos' relay plugin encodes and decodes them.
import { decodeGlobalID } from "@pothos/plugin-relay";
import {
  GraphQLID,
  GraphQLInterfaceType,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  isObjectType,
} from "graphql";
import type { GraphQLResolveInfo } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../../src/graphql/schema.ts";
import { synchronousNodeIds } from "../../src/graphql/synchronousNodeIds.ts";

const nodeTypes = Object.values(schema.getTypeMap()).filter(
  (type): type is GraphQLObjectType =>
    isObjectType(type) && type.getInterfaces().some((i) => i.name === "Node"),
);

const parents: Record<string, object> = {
  RegisteredModel: { id: "6c1f3c9e-2f7a-4d7e-9a51-1b2c3d4e5f60", name: "fraud" },
  ModelVersion: { id: "6c1f3c9e-2f7a-4d7e-9a51-1b2c3d4e5f60:12", version: 12 },
  RegistryEvent: { position: 4711 },
};

describe("the schema's global ids", () => {
  it("covers every Node type", () => {
    expect(nodeTypes.map((t) => t.name).sort()).toEqual(Object.keys(parents).sort());
  });

  it.each(Object.keys(parents))("%s: resolves its id at once, as Pothos decodes it", (name) => {
    const resolve = (schema.getType(name) as GraphQLObjectType).getFields().id!.resolve!;
    const id = resolve(parents[name], {}, {}, {} as GraphQLResolveInfo);
    expect(typeof id).toBe("string");
    const raw = name === "RegistryEvent" ? "4711" : (parents[name] as { id: string }).id;
    expect(decodeGlobalID(id as string)).toEqual({ typename: name, id: raw });
  });
});

describe("synchronousNodeIds", () => {
  const Node = new GraphQLInterfaceType({
    name: "Node",
    fields: { id: { type: new GraphQLNonNull(GraphQLID) } },
  });
  const Thing = new GraphQLObjectType({
    name: "Thing",
    interfaces: [Node],
    fields: { id: { type: new GraphQLNonNull(GraphQLID) }, name: { type: GraphQLString } },
  });
  const query = new GraphQLObjectType({ name: "Query", fields: { thing: { type: Thing } } });

  it("refuses a Node type it has no id for, instead of leaving its ids slow", () => {
    expect(() => synchronousNodeIds(new GraphQLSchema({ query, types: [Thing] }), {})).toThrow(
      "Node type Thing has no synchronous id",
    );
  });
});
