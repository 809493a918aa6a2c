import { describe, expect, it } from "vitest";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { LIMITS } from "../../src/domain/validation.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { createModel } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { modelCreated } from "../support/events.ts";

const deleted: RegisteredModelEvent = { type: "RegisteredModelDeleted", data: { name: "fraud-detector" } };

describe("CreateRegisteredModel", () => {
  it("creates a model with its description and tags", () => {
    given([])
      .when(
        createModel("fraud-detector", {
          description: "flags card fraud",
          tags: [{ key: "team", value: "risk" }],
        }),
      )
      .then([
        {
          type: "RegisteredModelCreated",
          data: {
            modelId: "model-1",
            name: "fraud-detector",
            description: "flags card fraud",
            tags: { team: "risk" },
          },
        },
      ]);
  });

  it("refuses a stream that already exists, even when the model is deleted", () => {
    given([modelCreated()])
      .when(createModel("other"))
      .then(InvalidStateError, { message: expect.stringContaining("model-1") });
    given([modelCreated(), deleted]).when(createModel("other")).then(InvalidStateError);
  });

  it("validates name, description and tags", () => {
    given([]).when(createModel("")).then(ValidationError, { field: "name" });
    // A URL path cannot name them: /models/.. is the models list, /models/./compare the model "compare".
    for (const dots of [".", ".."])
      given([]).when(createModel(dots)).then(ValidationError, { field: "name" });
    given([]).when(createModel("...")).then([expect.anything()]);
    given([])
      .when(createModel("a", { description: "x".repeat(65_537) }))
      .then(ValidationError, { field: "description" });
    given([])
      .when(
        createModel("a", {
          tags: [
            { key: "k", value: "1" },
            { key: "k", value: "2" },
          ],
        }),
      )
      .then(ValidationError, { field: "tags.1.key" });
  });
});

describe("RenameRegisteredModel", () => {
  it("renames, recording both names", () => {
    given([modelCreated("old")])
      .when({ type: "RenameRegisteredModel", data: { newName: "new" } })
      .then([{ type: "RegisteredModelRenamed", data: { from: "old", to: "new" } }]);
  });

  it("changes nothing to rename to the current name; refuses invalid names, naming the field", () => {
    given([modelCreated("same")])
      .when({ type: "RenameRegisteredModel", data: { newName: "same" } })
      .then([]);
    given([modelCreated()])
      .when({ type: "RenameRegisteredModel", data: { newName: "a/b" } })
      .then(ValidationError, { field: "newName" });
    given([modelCreated()])
      .when({ type: "RenameRegisteredModel", data: { newName: ".." } })
      .then(ValidationError, { field: "newName" });
  });

  it("refuses to rename a deleted or absent model", () => {
    given([modelCreated(), deleted])
      .when({ type: "RenameRegisteredModel", data: { newName: "x" } })
      .then(NotFoundError, { resource: "RegisteredModel", key: "fraud-detector" });
    given([])
      .when({ type: "RenameRegisteredModel", data: { newName: "x" } })
      .then(NotFoundError, { resource: "RegisteredModel" });
  });
});

describe("UpdateRegisteredModel", () => {
  it("updates the description, including to empty", () => {
    given([modelCreated()])
      .when({ type: "UpdateRegisteredModel", data: { description: "v2" } })
      .then([{ type: "RegisteredModelDescriptionUpdated", data: { description: "v2" } }]);
    given([modelCreated("fraud-detector", { description: "v1" })])
      .when({ type: "UpdateRegisteredModel", data: { description: "" } })
      .then([{ type: "RegisteredModelDescriptionUpdated", data: { description: "" } }]);
  });

  it("changes nothing when the description is the one it has", () => {
    given([modelCreated()])
      .when({ type: "UpdateRegisteredModel", data: { description: "" } })
      .then([]);
    given([modelCreated(), { type: "RegisteredModelDescriptionUpdated", data: { description: "v2" } }])
      .when({ type: "UpdateRegisteredModel", data: { description: "v2" } })
      .then([]);
  });

  it("refuses a description over 65536 characters", () => {
    given([modelCreated()])
      .when({ type: "UpdateRegisteredModel", data: { description: "x".repeat(65_537) } })
      .then(ValidationError, { field: "description" });
  });
});

describe("model tags", () => {
  it("sets a tag (new or overwritten)", () => {
    given([modelCreated("m", { tags: { team: "risk" } })])
      .when({ type: "SetRegisteredModelTag", data: { key: "team", value: "payments" } })
      .then([{ type: "RegisteredModelTagSet", data: { key: "team", value: "payments" } }]);
  });

  it("changes nothing to set a tag to the value it has", () => {
    given([modelCreated("m", { tags: { team: "risk" } })])
      .when({ type: "SetRegisteredModelTag", data: { key: "team", value: "risk" } })
      .then([]);
  });

  it("validates key and value", () => {
    given([modelCreated()])
      .when({ type: "SetRegisteredModelTag", data: { key: "", value: "v" } })
      .then(ValidationError, { field: "key" });
    given([modelCreated()])
      .when({ type: "SetRegisteredModelTag", data: { key: "k", value: "v".repeat(5001) } })
      .then(ValidationError, { field: "value" });
  });

  it(`holds at most ${LIMITS.maxTagsPerEntity} tags: a new key past them is refused, a held one still changes`, () => {
    const tags = Object.fromEntries(
      Array.from({ length: LIMITS.maxTagsPerEntity }, (_, i) => [`k${i}`, "v"]),
    );
    given([modelCreated("m", { tags })])
      .when({ type: "SetRegisteredModelTag", data: { key: "one-more", value: "v" } })
      .then(ValidationError, { field: "key" });
    given([modelCreated("m", { tags })])
      .when({ type: "SetRegisteredModelTag", data: { key: "k7", value: "w" } })
      .then([{ type: "RegisteredModelTagSet", data: { key: "k7", value: "w" } }]);
  });

  it("deletes an existing tag; deleting a missing one changes nothing", () => {
    given([modelCreated("m", { tags: { team: "risk" } })])
      .when({ type: "DeleteRegisteredModelTag", data: { key: "team" } })
      .then([{ type: "RegisteredModelTagDeleted", data: { key: "team" } }]);
    given([
      modelCreated("m", { tags: { team: "risk" } }),
      { type: "RegisteredModelTagDeleted", data: { key: "team" } },
    ])
      .when({ type: "DeleteRegisteredModelTag", data: { key: "team" } })
      .then([]);
  });

  it("refuses tag changes on a deleted model", () => {
    given([modelCreated(), deleted])
      .when({ type: "SetRegisteredModelTag", data: { key: "k", value: "v" } })
      .then(NotFoundError, { resource: "RegisteredModel" });
  });
});

describe("DeleteRegisteredModel / RestoreRegisteredModel", () => {
  it("deletes a live model and restores it", () => {
    given([modelCreated()]).when({ type: "DeleteRegisteredModel", data: {} }).then([deleted]);
    given([modelCreated(), deleted])
      .when({ type: "RestoreRegisteredModel", data: {} })
      .then([{ type: "RegisteredModelRestored", data: { name: "fraud-detector" } }]);
  });

  it("refuses to delete twice or to restore a live model", () => {
    given([modelCreated(), deleted])
      .when({ type: "DeleteRegisteredModel", data: {} })
      .then(NotFoundError, { resource: "RegisteredModel" });
    given([modelCreated()])
      .when({ type: "RestoreRegisteredModel", data: {} })
      .then(InvalidStateError, { message: expect.stringContaining("not deleted") });
  });

  it("cannot restore a model that never existed", () => {
    given([])
      .when({ type: "RestoreRegisteredModel", data: {} })
      .then(NotFoundError, { resource: "RegisteredModel" });
  });

  it("restores under the name it had when deleted, after a rename", () => {
    given([
      modelCreated("a"),
      { type: "RegisteredModelRenamed", data: { from: "a", to: "b" } },
      { type: "RegisteredModelDeleted", data: { name: "b" } },
    ])
      .when({ type: "RestoreRegisteredModel", data: {} })
      .then([{ type: "RegisteredModelRestored", data: { name: "b" } }]);
  });
});
