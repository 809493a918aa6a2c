import { describe, it } from "vitest";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import type { Stage } from "../../src/domain/registeredModel/events.ts";
import { transition } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { modelCreated, transitioned, versionCreated, versionDeleted } from "../support/events.ts";

describe("TransitionModelVersionStage", () => {
  it("moves a version between stages, with a comment", () => {
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "Staging", false, "looks good"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 1, from: "None", to: "Staging", comment: "looks good", archived: [] },
        },
      ]);
    given([modelCreated(), versionCreated(1), transitioned(1, "None", "Production")])
      .when(transition(1, "Archived"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 1, from: "Production", to: "Archived", comment: null, archived: [] },
        },
      ]);
  });

  it("archives the other live versions in the target stage in the same event", () => {
    given([
      modelCreated(),
      versionCreated(1),
      versionCreated(2),
      versionCreated(3),
      versionCreated(4),
      versionCreated(5),
      transitioned(3, "None", "Production"),
      transitioned(1, "None", "Production"),
      transitioned(2, "None", "Staging"),
      transitioned(5, "None", "Production"),
      versionDeleted(5),
    ])
      .when(transition(4, "Production", true))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: {
            version: 4,
            from: "None",
            to: "Production",
            comment: null,
            archived: [
              { version: 1, from: "Production" },
              { version: 3, from: "Production" },
            ],
          },
        },
      ]);
  });

  it("does not archive anything without archiveExistingVersions", () => {
    given([modelCreated(), versionCreated(1), versionCreated(2), transitioned(1, "None", "Production")])
      .when(transition(2, "Production"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 2, from: "None", to: "Production", comment: null, archived: [] },
        },
      ]);
  });

  it("archiveExistingVersions only applies to Staging and Production", () => {
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "Archived", true))
      .then(ValidationError, { field: "archiveExistingVersions" });
  });

  it("refuses deleted versions, unknown versions and unknown stages", () => {
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when(transition(1, "Staging"))
      .then(InvalidStateError, { message: "version 1 of fraud-detector is deleted; restore it first" });
    given([modelCreated()])
      .when(transition(1, "Staging"))
      .then(NotFoundError, { resource: "ModelVersion", key: "fraud-detector v1" });
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "Live" as Stage))
      .then(ValidationError, { field: "stage" });
  });

  it("changes nothing to move a version to the stage it is in, comment or not", () => {
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "None"))
      .then([]);
    given([modelCreated(), versionCreated(1), transitioned(1, "None", "Production")])
      .when(transition(1, "Production", true, "again"))
      .then([]);
    // A pending version is not READY, but staying in None is not a promotion.
    given([modelCreated(), versionCreated(1, { status: "PENDING_REGISTRATION" })])
      .when(transition(1, "None"))
      .then([]);
  });

  it("still archives the others when the version is in the stage already and asked to", () => {
    given([
      modelCreated(),
      versionCreated(1),
      versionCreated(2),
      transitioned(1, "None", "Production"),
      transitioned(2, "None", "Production"),
    ])
      .when(transition(2, "Production", true))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: {
            version: 2,
            from: "Production",
            to: "Production",
            comment: null,
            archived: [{ version: 1, from: "Production" }],
          },
        },
      ]);
  });

  it("only READY versions move to Staging or Production", () => {
    given([modelCreated(), versionCreated(1, { status: "PENDING_REGISTRATION" })])
      .when(transition(1, "Production"))
      .then(InvalidStateError, {
        message: "version 1 is PENDING_REGISTRATION; only READY versions move to Production",
      });
    given([modelCreated(), versionCreated(1, { status: "FAILED_REGISTRATION" })])
      .when(transition(1, "Archived"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 1, from: "None", to: "Archived", comment: null, archived: [] },
        },
      ]);
  });

  it("validates the comment", () => {
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "Staging", false, "c".repeat(5001)))
      .then(ValidationError, { field: "comment" });
    given([modelCreated(), versionCreated(1)])
      .when(transition(1, "Staging", false, "a\u0007b"))
      .then(ValidationError, { field: "comment" });
  });
});
