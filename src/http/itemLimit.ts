// Depth, aliases and tokens bound the shape of an operation, not what it asks for: connections
// nested in each other multiply. `versions(first: 100) { nodes { model { versions(first: 100) … } } }`
// three levels deep is 174 bytes and a million versions (16 MB, 2 s and 230 MB of heap on SQLite).
// Before an operation runs, this counts the objects it could return at most: each selected object
// field counts once per item of every page above it, a page being `first` or `last` (or the field's
// default, 50) wherever a field takes them, with variables as execution coerces them (defaults
// included); `nodes(ids:)` counts its ids. Other lists without pagination count as one item each:
// their length is what the registry holds, not what the request asks (a model's aliases, a
// version's tags); a path that passes one of them twice, a cycle that would multiply unseen, is
// refused. Over the limit the operation does not run.
import {
  GraphQLError,
  Kind,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isInterfaceType,
  isObjectType,
} from "graphql";
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  SelectionSetNode,
  ValueNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { returnsObjectList } from "../graphql/resolvedItemBound.ts";

/** The page size a connection answers without `first`/`last`, and the most it answers (builder.ts). */
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/** Thrown inside the walk once the count passes the limit: nothing more needs counting. */
class OverLimit extends Error {}
/** Thrown inside the walk when a path passes a list without pagination a second time. */
export class ListCycle extends Error {
  constructor(list: string) {
    super(
      `The operation nests ${list}, a list without pagination, inside itself: such cycles multiply what they return by the list's length at every turn. Select the lists beside each other instead of inside each other.`,
    );
  }
}

/**
 * A list of objects whose length the request does not set: not a connection's page (its `first`
 * or `last`, its `nodes` and `edges`), not `nodes(ids:)`. Introspection's lists are the schema's,
 * of a size fixed by it (GraphiQL's introspection query walks types → fields → type → …).
 */
function unpaginatedList(
  field: GraphQLField<unknown, unknown> | undefined,
  parent: GraphQLNamedType,
): boolean {
  if (field === undefined || parent.name.startsWith("__") || !returnsObjectList(field)) return false;
  if (field.args.some((arg) => arg.name === "first" || arg.name === "last" || arg.name === "ids"))
    return false;
  return !parent.name.endsWith("Connection");
}
/** Thrown inside the walk when a variable a page size reads does not coerce: execution refuses it. */
class UncoercedVariable extends Error {}

/** A variable's value as execution coerces it (its default included), by the variable's name. */
type Variables = (name: string) => unknown;

/** An argument's value: a literal, or a variable's value after coercion. */
function argumentValue(node: ValueNode, variables: Variables): unknown {
  if (node.kind === Kind.VARIABLE) return variables(node.name.value);
  if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
  if (node.kind === Kind.LIST) return node.values;
  return undefined;
}

/**
 * Items of one page of `field`: its `first`/`last` (the larger when both); for `nodes(ids:)`, the
 * number of ids; else 1 for any other field.
 */
function pageSize(
  node: FieldNode,
  field: GraphQLField<unknown, unknown> | undefined,
  variables: Variables,
): number {
  const paged = field?.args.some((arg) => arg.name === "first" || arg.name === "last") ?? false;
  let size: number | null = null;
  for (const argument of node.arguments ?? []) {
    const name = argument.name.value;
    if (name !== "ids" && name !== "first" && name !== "last") continue;
    const value = argumentValue(argument.value, variables);
    if (name === "ids") {
      if (Array.isArray(value)) size = Math.max(size ?? 0, value.length);
    } else if (typeof value === "number" && Number.isFinite(value))
      size = Math.max(size ?? 0, Math.min(MAX_PAGE, Math.max(0, Math.floor(value))));
  }
  if (size !== null) return size;
  if (!paged) return 1;
  const declared = field?.args.find((arg) => arg.name === "first")?.defaultValue;
  return typeof declared === "number" ? Math.min(MAX_PAGE, declared) : DEFAULT_PAGE;
}

/**
 * The most objects the operation could return, or `limit + 1` as soon as it is known to exceed
 * `limit`. @skip and @include are not evaluated: both branches count. Each fragment is expanded
 * once per selection set, as execution does, and a page of 0 stops the walk below it, so the walk
 * visits at most `limit` object fields.
 */
export function estimatedItems(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limit: number,
): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  // The variables as execution will see them: a default in the operation (`$n: Int = 500`) counts
  // when the request sends none. Only those a page size reads are coerced (execution coerces all of
  // them again; an input object costs about 10 µs). One that does not coerce fails before anything
  // executes: nothing to count.
  const definitions = operation.variableDefinitions ?? [];
  const coerced = new Map<string, unknown>();
  const values: Variables = (name) => {
    if (!coerced.has(name)) {
      const definition = definitions.filter((d) => d.variable.name.value === name);
      const result = getVariableValues(schema, definition, variables ?? {});
      if (result.errors) throw new UncoercedVariable();
      coerced.set(name, result.coerced[name]);
    }
    return coerced.get(name);
  };
  let total = 0;

  /**
   * `lists`: the lists without pagination on the path from the root to here, by field name and item
   * type (an interface's field and its object types' are one). Such a list is counted as one item
   * (its length is what the registry holds), so a cycle through it (a model's aliases, each alias's
   * version, its model, its aliases…) would multiply unseen: a path that passes one twice is refused.
   * The schema has finitely many such lists, so any path longer than them without repeating one
   * multiplies by a bounded number of them.
   */
  const walk = (
    selectionSet: SelectionSetNode,
    type: GraphQLNamedType | undefined,
    multiplier: number,
    expanded: Set<string>,
    lists: ReadonlySet<string>,
  ): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment === undefined || expanded.has(name)) continue;
        expanded.add(name);
        const narrowed = schema.getType(fragment.typeCondition.name.value);
        walk(fragment.selectionSet, narrowed, multiplier, expanded, lists);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const narrowed = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        walk(selection.selectionSet, narrowed, multiplier, expanded, lists);
      } else if (selection.selectionSet) {
        const field =
          isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
        total += multiplier;
        if (total > limit) throw new OverLimit();
        const named = field ? getNamedType(field.type) : undefined;
        let next = lists;
        if (type !== undefined && named !== undefined && unpaginatedList(field, type)) {
          const list = `${selection.name.value}: [${named.name}]`;
          if (lists.has(list)) throw new ListCycle(`${type.name}.${selection.name.value}`);
          next = new Set(lists).add(list);
        }
        const below = multiplier * pageSize(selection, field, values);
        if (below === 0) continue;
        walk(selection.selectionSet, named, below, new Set(), next);
      }
    }
  };

  try {
    walk(operation.selectionSet, root, 1, new Set(), new Set());
  } catch (error) {
    if (error instanceof OverLimit) return limit + 1;
    if (error instanceof UncoercedVariable) return 0;
    throw error;
  }
  return total;
}

interface OperationArgs {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null | undefined;
  readonly variableValues?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Refuses, before it executes or subscribes, an operation that could return more than `maxItems` objects. */
export function itemLimitPlugin(maxItems: number): Plugin {
  const check = (args: OperationArgs, stop: (result: { errors: readonly GraphQLError[] }) => void) => {
    let items: number;
    try {
      items = estimatedItems(args.schema, args.document, args.operationName, args.variableValues, maxItems);
    } catch (error) {
      if (!(error instanceof ListCycle)) throw error;
      const extensions = { code: "MAX_ITEMS_EXCEEDED", limit: maxItems, http: { status: 400 } };
      stop({ errors: [new GraphQLError(error.message, { extensions })] });
      return;
    }
    if (items <= maxItems) return;
    stop({
      errors: [
        new GraphQLError(
          `The operation could return more than ${maxItems} objects (pages multiply: a connection's \`first\` counts for every item above it). Ask for smaller pages, or split it.`,
          { extensions: { code: "MAX_ITEMS_EXCEEDED", limit: maxItems, http: { status: 400 } } },
        ),
      ],
    });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution);
    },
  };
}
