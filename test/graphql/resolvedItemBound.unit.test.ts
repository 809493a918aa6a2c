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
import { RateLimiter } from "../../src/http/rateLimit.ts";

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
const run = async (source: string, contextValue: unknown = {}) =>
  await execute({ schema, document: parse(source), contextValue });

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

  it("charges the caller's rate limit as lists resolve and stops a query once it is spent, with 429", async () => {
    const limits = new RateLimiter({ perSecond: 0.001, burst: 1_000 }, () => 0);
    const rateCharge = limits.chargeTo("a");
    // 10 + 10 × 50 = 510 units: within the bucket.
    expect((await run("{ items(n: 10) { children(n: 50) { id } } }", { rateCharge })).errors).toBeUndefined();
    // 490 left: 10 + 10 × 50 again empties it part way.
    const result = await run("{ items(n: 10) { children(n: 50) { id } } }", { rateCharge });
    const collapsed = collapseOverBound(result, "query");
    expect(collapsed.data).toBeUndefined();
    expect(collapsed.errors).toHaveLength(1);
    const retryAfter = collapsed.errors![0]!.extensions.retryAfter;
    expect(retryAfter).toBeGreaterThan(0);
    expect(collapsed.errors![0]!.extensions).toEqual({
      code: "RATE_LIMITED",
      retryAfter,
      http: { status: 429, headers: { "retry-after": String(retryAfter) } },
    });
    // A mutation keeps its data (its change was made) with the error once.
    const mutation = collapseOverBound(
      await run("mutation { touch(n: 3) { id } }", { rateCharge }),
      "mutation",
    );
    expect(mutation.data).not.toBeUndefined();
    expect(mutation.errors!.filter((e) => e.extensions.code === "RATE_LIMITED")).toHaveLength(1);
  });

  it("charges a subscription's events without stopping them", async () => {
    const limits = new RateLimiter({ perSecond: 0.001, burst: 10 }, () => 0);
    const rateCharge = limits.chargeTo("a");
    const events = new GraphQLSchema({
      query: new GraphQLObjectType({ name: "Query", fields: { items } }),
      subscription: new GraphQLObjectType({ name: "Subscription", fields: { items } }),
    });
    const result = await execute({
      schema: boundResolvedItems(events),
      document: parse("subscription { items(n: 50) { id } }"),
      rootValue: {},
      contextValue: { rateCharge },
    });
    expect(result.errors).toBeUndefined();
    expect(limits.take("a")).not.toBeNull();
  });

  it("counts a type's lists once when two schemas share it, or a schema is bound twice", async () => {
    // The subscription test's schema shares Item with this one: its lists were wrapped twice, and
    // 60,200 items counted as 120,200 in whichever test ran after it.
    boundResolvedItems(
      new GraphQLSchema({ query: new GraphQLObjectType({ name: "Query", fields: { items } }) }),
    );
    boundResolvedItems(schema);
    const result = await run("{ items(n: 200) { children(n: 300) { id } } }"); // 60,200
    expect(result.errors).toBeUndefined();
  });

  it("leaves a result without the bound's error as it was", async () => {
    const result = await run("{ items(n: 2) { id } }");
    expect(collapseOverBound(result, "query")).toBe(result);
  });
});
