// Pothos' relay plugin resolves every global `id` with an async function, so every object of a Node
// type (a model, a version, an event) has a field that returns a promise, and graphql-js completes
// each such object through promiseForObject: a promise, a microtask and a copy of the object per
// item. A page of 500 versions paid that 500 times (docs/performance.md, "Read path"). The id is
// known without waiting (it is a column of the row), so this replaces each Node type's id resolver
// with a synchronous one that encodes the same global id.
import { encodeGlobalID } from "@pothos/plugin-relay";
import { isObjectType } from "graphql";
import type { GraphQLSchema } from "graphql";

/** A Node type's id, as its definition gives it to Pothos (before encoding), from the parent object. */
export type NodeIdOf = (parent: never) => string | number | bigint;

/**
 * Makes the `id` of every type implementing Node synchronous, from `ids` (by GraphQL type name).
 * A Node type missing from `ids` is a mistake that would silently keep the slow path: it throws.
 */
export function synchronousNodeIds(
  schema: GraphQLSchema,
  ids: Readonly<Record<string, NodeIdOf>>,
): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === "Node")) continue;
    const idOf = Object.hasOwn(ids, type.name) ? (ids[type.name] as (parent: unknown) => unknown) : undefined;
    if (idOf === undefined) throw new Error(`Node type ${type.name} has no synchronous id`);
    const field = type.getFields().id;
    if (field === undefined) throw new Error(`Node type ${type.name} has no id field`);
    const name = type.name;
    field.resolve = (parent) => encodeGlobalID(name, String(idOf(parent)));
  }
  return schema;
}
