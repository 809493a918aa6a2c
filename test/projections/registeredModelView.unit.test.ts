import { describe, expect, it } from "vitest";
import { evolveRegisteredModelView } from "../../src/projections/registeredModels/evolve.ts";
import type { RegisteredModelView } from "../../src/projections/registeredModels/evolve.ts";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { aliasSet, modelCreated, transitioned, versionCreated, versionDeleted } from "../support/events.ts";
import { minutesAfterT0, recorded, T0 } from "../support/recorded.ts";

const fold = (events: RecordedEvent[], from: RegisteredModelView | null = null) =>
  events.reduce(evolveRegisteredModelView, from);
const created = recorded(
  modelCreated("fraud", { description: "d", tags: { team: "risk" } }),
  1,
  "model-1",
  "alice",
);

describe("evolveRegisteredModelView", () => {
  it("creates the view from RegisteredModelCreated and its metadata", () => {
    expect(fold([created])).toEqual({
      id: "model-1",
      name: "fraud",
      description: "d",
      deleted: false,
      deletedAt: null,
      createdAt: T0,
      updatedAt: T0,
      createdBy: "alice",
      revision: 1,
      lastVersion: 0,
      tags: { team: "risk" },
      aliases: {},
      grants: {},
      reviewPolicy: [],
    });
  });

  it("ignores events for a model it has not seen (never throws)", () => {
    expect(fold([recorded({ type: "RegisteredModelRenamed", data: { from: "a", to: "b" } }, 2)])).toBeNull();
  });

  it("follows renames, descriptions and tags, bumping revision and updatedAt but not createdBy", () => {
    const view = fold([
      created,
      recorded(
        { type: "RegisteredModelRenamed", data: { from: "fraud", to: "fraud-v2" } },
        2,
        "model-1",
        "bob",
      ),
      recorded({ type: "RegisteredModelDescriptionUpdated", data: { description: "new" } }, 3),
      recorded({ type: "RegisteredModelTagSet", data: { key: "tier", value: "1" } }, 4),
      recorded({ type: "RegisteredModelTagSet", data: { key: "team", value: "payments" } }, 5),
      recorded({ type: "RegisteredModelTagDeleted", data: { key: "tier" } }, 6),
    ]);
    expect(view).toMatchObject({
      name: "fraud-v2",
      description: "new",
      tags: { team: "payments" },
      revision: 6,
      createdBy: "alice",
    });
    expect(view?.updatedAt).toEqual(minutesAfterT0(5));
    expect(view?.createdAt).toEqual(T0);
  });

  it("marks deletion with its time and clears it on restore", () => {
    const deleted = fold([created, recorded({ type: "RegisteredModelDeleted", data: { name: "fraud" } }, 2)]);
    expect(deleted).toMatchObject({ deleted: true, deletedAt: minutesAfterT0(1) });
    expect(
      fold([recorded({ type: "RegisteredModelRestored", data: { name: "fraud" } }, 3)], deleted),
    ).toMatchObject({
      deleted: false,
      deletedAt: null,
      revision: 3,
    });
  });

  it("tracks aliases, including those removed with their version", () => {
    const view = fold([
      created,
      recorded(versionCreated(1), 2),
      recorded(versionCreated(2), 3),
      recorded(aliasSet("champion", 1), 4),
      recorded(aliasSet("shadow", 1), 5),
      recorded(aliasSet("next", 2), 6),
      recorded(aliasSet("champion", 2, 1), 7),
      recorded({ type: "RegisteredModelAliasDeleted", data: { alias: "next", version: 2 } }, 8),
      recorded(versionDeleted(1, ["shadow"]), 9),
    ]);
    expect(view?.aliases).toEqual({ champion: 2 });
  });

  it("keeps the highest version number ever assigned and counts every event of the stream", () => {
    const view = fold([
      created,
      recorded(versionCreated(1), 2),
      recorded(versionCreated(2), 3),
      recorded(versionDeleted(2), 4),
      recorded(transitioned(1, "None", "Staging"), 5),
    ]);
    expect(view).toMatchObject({ lastVersion: 2, revision: 5, updatedAt: minutesAfterT0(4) });
  });

  it("does not modify the view it is given", () => {
    const before = fold([created])!;
    const snapshot = structuredClone(before);
    evolveRegisteredModelView(
      before,
      recorded({ type: "RegisteredModelTagSet", data: { key: "x", value: "y" } }, 2),
    );
    expect(before).toEqual(snapshot);
  });
});
