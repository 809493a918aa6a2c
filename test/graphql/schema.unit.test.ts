import { readFileSync } from "node:fs";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
} from "graphql";
import { describe, expect, it } from "vitest";
import {
  POSSIBLE_TYPES_PATH,
  SDL_PATH,
  printedPossibleTypes,
  printedSchema,
} from "../../src/cli/printSchema.ts";
import { schema } from "../../src/graphql/schema.ts";

describe("GraphQL schema", () => {
  it("matches the checked-in schema/schema.graphql (run `npm run schema:print` after changing it)", () => {
    expect(readFileSync(SDL_PATH, "utf8")).toBe(printedSchema());
  });

  it("ships the possible types of every interface and union (schema/possible-types.json)", () => {
    expect(readFileSync(POSSIBLE_TYPES_PATH, "utf8")).toBe(printedPossibleTypes());
    const shipped = JSON.parse(printedPossibleTypes()) as Record<string, string[]>;
    // The shapes caches need: every typed error behind Error, every node type behind Node.
    expect(shipped.Error).toEqual(expect.arrayContaining(["NotFoundError", "PermissionDeniedError"]));
    expect(shipped.Node).toEqual(["ModelVersion", "RegisteredModel", "RegistryEvent"]);
    expect(shipped.CreateRegisteredModelResult).toContain("RegisteredModelPayload");
  });

  it("documents every public type, field, argument and enum value", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || ["String", "Int", "Float", "Boolean", "ID"].includes(type.name))
        continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          if ("args" in field)
            for (const arg of field.args)
              if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type))
        for (const v of type.getValues()) if (!v.description) missing.push(`${type.name}.${v.name}`);
      if (isUnionType(type) && !type.description) missing.push(type.name);
    }
    expect(missing).toEqual([]);
  });

  it("exposes one mutation per command, each returning a union with the shared Error interface", () => {
    const mutations = schema.getMutationType()!.getFields();
    for (const name of [
      "createRegisteredModel",
      "renameRegisteredModel",
      "updateRegisteredModel",
      "deleteRegisteredModel",
      "restoreRegisteredModel",
      "setRegisteredModelTag",
      "deleteRegisteredModelTag",
      "createModelVersion",
      "updateModelVersion",
      "logModelVersionMetrics",
      "setModelVersionTag",
      "deleteModelVersionTag",
      "transitionModelVersionStage",
      "setRegisteredModelAlias",
      "deleteRegisteredModelAlias",
      "deleteModelVersion",
      "restoreModelVersion",
    ]) {
      const field = mutations[name];
      expect(field, name).toBeDefined();
      const union = getNamedType(field!.type);
      expect(isUnionType(union), name).toBe(true);
      if (!isUnionType(union)) continue;
      const names = union.getTypes().map((t) => t.name);
      for (const error of [
        "NotFoundError",
        "AlreadyExistsError",
        "ValidationError",
        "ConcurrencyError",
        "InvalidStateError",
      ])
        expect(names, name).toContain(error);
      expect(field!.args.map((a) => a.name)).toEqual(["input"]);
    }
  });
});
