import { describe, expect, it } from "vitest";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { aliasSet, modelCreated, versionCreated, versionDeleted } from "../support/events.ts";
import { recorded } from "../support/recorded.ts";

describe("applyEvents", () => {
  it("folds a batch into the model and every version it touches, creating versions on the way", () => {
    const after = applyEvents(emptyStreamViews("model-1"), [
      recorded(modelCreated("fraud"), 1),
      recorded(versionCreated(1), 2),
      recorded(versionCreated(2), 3),
      recorded(aliasSet("champion", 2), 4),
      recorded(
        {
          type: "ModelVersionStageTransitioned",
          data: {
            version: 2,
            from: "None",
            to: "Production",
            comment: null,
            archived: [{ version: 1, from: "None" }],
          },
        },
        5,
      ),
      recorded(versionDeleted(1), 6),
    ]);
    expect(after.streamId).toBe("model-1");
    expect(after.model).toMatchObject({
      name: "fraud",
      revision: 6,
      lastVersion: 2,
      aliases: { champion: 2 },
    });
    expect([...after.versions.keys()].sort()).toEqual([1, 2]);
    expect(after.versions.get(1)).toMatchObject({ stage: "Archived", deleted: true });
    expect(after.versions.get(2)).toMatchObject({ stage: "Production", deleted: false });
  });

  it("does not change the views it starts from", () => {
    const start = applyEvents(emptyStreamViews("m"), [recorded(modelCreated("a"), 1, "m")]);
    applyEvents(start, [recorded(versionCreated(1), 2, "m")]);
    expect(start.versions.size).toBe(0);
    expect(start.model?.revision).toBe(1);
  });
});
