// Cursors are decoded from text a client sends back (Relay's `after`/`before`): Pothos turns them
// into the values of the connection's cursor fields, but does not check their types, and Prisma
// refuses a cursor of the wrong type with an error the API would report as internal (a string where
// the field is an integer, a number where it is text, an integer past 32 bits). Cursors issued
// before a connection's cursor field changed (a version's id before its integer `ref`, #18) are of
// the wrong type too. This checks every cursor in a query's arguments, nested includes and selects
// included, against the types of the model's fields.
import { getDatamodel } from "./generated/sqlite/pothos-types.ts";

type Model = ReturnType<typeof getDatamodel>["datamodel"]["models"][string];
type Field = Model["fields"][number];

/** A cursor whose values do not fit its list's cursor fields: not a cursor this list returned. */
export class MistypedCursorError extends Error {
  constructor() {
    super("the cursor was not returned by this list (cursors are opaque: pass back one the list gave)");
    this.name = "MistypedCursorError";
  }
}

const MODELS = getDatamodel().datamodel.models;
const INT_MAX = 2_147_483_647;

/** What the checks need of a model: its fields by name, its compound keys by the name Prisma gives them. */
interface ModelShape {
  readonly fields: ReadonlyMap<string, Field>;
  readonly compounds: ReadonlyMap<string, readonly string[]>;
}
const shapes = new Map<string, ModelShape | null>();
function shapeOf(name: string): ModelShape | null {
  let shape = shapes.get(name);
  if (shape === undefined) {
    const model = MODELS[name];
    shape =
      model === undefined
        ? null
        : {
            fields: new Map(model.fields.map((f) => [f.name, f])),
            compounds: new Map(
              [...(model.primaryKey ? [model.primaryKey] : []), ...model.uniqueIndexes].map((key) => [
                key.name ?? key.fields.join("_"),
                key.fields,
              ]),
            ),
          };
    shapes.set(name, shape);
  }
  return shape;
}

/** Whether `value` can be a value of a scalar field of this Prisma type. */
function fitsType(type: string, value: unknown): boolean {
  switch (type) {
    case "Int":
      return typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= INT_MAX;
    case "BigInt":
      return typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value));
    case "Float":
      return typeof value === "number" && Number.isFinite(value);
    case "String":
      return typeof value === "string";
    case "Boolean":
      return typeof value === "boolean";
    case "DateTime":
      return (
        (value instanceof Date && !Number.isNaN(value.getTime())) ||
        (typeof value === "string" && !Number.isNaN(Date.parse(value)))
      );
    default:
      return true;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);

/**
 * Whether a cursor (a unique input of model `name`) holds a value of the wrong type in one of the
 * model's scalar fields or compound keys. Other keys are left to Prisma.
 */
export function cursorMistyped(name: string, cursor: unknown): boolean {
  const shape = shapeOf(name);
  if (shape === null) return false;
  if (!isRecord(cursor)) return true;
  for (const [key, value] of Object.entries(cursor)) {
    const field = shape.fields.get(key);
    if (field?.kind === "scalar") {
      if (!fitsType(field.type, value)) return true;
      continue;
    }
    const compound = shape.compounds.get(key);
    if (compound === undefined) continue;
    if (!isRecord(value) || Object.keys(value).length !== compound.length) return true;
    for (const part of compound) {
      const partField = shape.fields.get(part);
      if (!Object.hasOwn(value, part) || (partField !== undefined && !fitsType(partField.type, value[part])))
        return true;
    }
  }
  return false;
}

/** Whether any cursor in the arguments of a query on model `name` (or in its nested reads) is mistyped. */
export function argumentsHoldMistypedCursor(name: string | undefined, args: unknown, depth = 0): boolean {
  if (name === undefined || !isRecord(args) || depth > 16) return false;
  const shape = shapeOf(name);
  if (shape === null) return false;
  if (args.cursor !== undefined && cursorMistyped(name, args.cursor)) return true;
  for (const nested of [args.include, args.select]) {
    if (!isRecord(nested)) continue;
    for (const [key, value] of Object.entries(nested)) {
      const relation = shape.fields.get(key);
      if (relation?.kind === "object" && argumentsHoldMistypedCursor(relation.type, value, depth + 1))
        return true;
    }
  }
  return false;
}
