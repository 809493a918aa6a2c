// The bound on what lists return while an execution runs, on a schema of its own: counted per
// execution, over the limit one error instead of the data, and a mutation's data kept.
import {
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  execute,
  parse,
} from "graphql";
import { describe, expect, it } from "vitest";
import {
  MAX_RESOLVED_ITEMS,
  boundResolvedItems,
  collapseOverBound,
} from "../../src/graphql/resolvedItemBound.ts";

const Item: GraphQLObjectType = new GraphQLObjectType({
  name: "Item",
  fields: () => ({
    id: { type: GraphQLInt },
    children: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))),
      args: { n: { type: GraphQLInt } },
      // A promise, as the database's lists are.
      resolve: (_item, { n }: { n: number }) =>
        Promise.resolve(Array.from({ length: n }, (_, id) => ({ id }))),
    },
    numbers: {
      type: new GraphQLList(GraphQLInt),
      resolve: () => Array.from({ length: 200_000 }, (_, i) => i),
    },
  }),
});
const items = {
  type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))),
  args: { n: { type: GraphQLInt } },
  resolve: (_root: unknown, { n }: { n: number }) => Array.from({ length: n }, (_, id) => ({ id })),
};
const schema = boundResolvedItems(
  new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: { items } }),
    mutation: new GraphQLObjectType({ name: "Mutation", fields: { touch: items } }),
  }),
);
const run = async (source: string) => await execute({ schema, document: parse(source) });

describe("the bound on what lists return while an execution runs", () => {
  it(`stops an execution past ${MAX_RESOLVED_ITEMS} items and answers one error, without data`, async () => {
    const result = await run("{ items(n: 400) { children(n: 300) { id } } }"); // 400 + 120,000
    expect(result.errors).not.toBeUndefined();
    const collapsed = collapseOverBound(result, "query");
    expect(collapsed.data).toBeUndefined();
    expect(collapsed.errors).toHaveLength(1);
    expect(collapsed.errors![0]!.extensions).toEqual({
      code: "MAX_ITEMS_EXCEEDED",
      limit: MAX_RESOLVED_ITEMS,
      http: { status: 400 },
    });
    expect(collapseOverBound(result, "event").errors![0]!.extensions).not.toHaveProperty("http");
  });

  it("counts each execution on its own, and only lists of objects", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await run("{ items(n: 200) { children(n: 300) { id } } }"); // 60,200
      expect(result.errors).toBeUndefined();
    }
    // 200,000 numbers: a list of scalars is not counted.
    expect((await run("{ items(n: 1) { numbers } }")).errors).toBeUndefined();
  });

  it("keeps a mutation's data, with the error once: its change was made", async () => {
    const result = await run("mutation { touch(n: 400) { children(n: 300) { id } } }");
    const collapsed = collapseOverBound(result, "mutation");
    expect(collapsed.data).not.toBeUndefined();
    expect(collapsed.errors!.filter((e) => e.extensions.code === "MAX_ITEMS_EXCEEDED")).toHaveLength(1);
  });

  it("leaves a result without the bound's error as it was", async () => {
    const result = await run("{ items(n: 2) { id } }");
    expect(collapseOverBound(result, "query")).toBe(result);
  });
});
