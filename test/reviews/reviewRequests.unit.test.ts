// Given/when/then for every review rule: protection, opening, approving (and applying), rejecting,
// cancelling, bypassing, and staleness.
import { describe, expect, it } from "vitest";
import {
  InvalidStateError,
  NotFoundError,
  UnsafeArtifactError,
  ValidationError,
} from "../../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { ApprovalRequiredError, ReviewerNotEligibleError } from "../../src/reviews/domain/errors.ts";
import {
  aliasSet,
  artifactAdded,
  modelCreated,
  transitioned,
  versionCreated,
  versionDeleted,
} from "../support/events.ts";
import { transition } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import {
  ALICE,
  BOB,
  CAROL,
  DAVE,
  TEAM,
  approve,
  approved,
  championRule,
  open,
  opened,
  policySet,
  productionRule,
  protectedModel,
  reject,
  toProduction,
} from "./reviewScenarios.ts";

const setAlias = (alias: string, version: number, extra: object = {}): RegisteredModelCommand => ({
  type: "SetRegisteredModelAlias",
  data: { alias, version, ...extra },
});

describe("protected targets", () => {
  it("given Production protected, when a version is moved into it directly, then ApprovalRequiredError", () => {
    given(protectedModel())
      .when(transition(1, "Production"))
      .then(ApprovalRequiredError, { target: toProduction, requiredApprovals: 2, code: "APPROVAL_REQUIRED" });
  });

  it("given Production protected, when a version moves to Staging, then it is not guarded", () => {
    given(protectedModel())
      .when(transition(1, "Staging"))
      .then([transitioned(1, "None", "Staging")]);
  });

  it("given Production protected, when a version moves out of Production, then it is not guarded", () => {
    given(protectedModel(transitioned(1, "None", "Production")))
      .when(transition(1, "Archived"))
      .then([transitioned(1, "Production", "Archived")]);
  });

  it("given prod-* protected, when a matching alias is set or deleted directly, then ApprovalRequiredError", () => {
    const events = [modelCreated(), versionCreated(1), policySet(championRule())];
    given(events).when(setAlias("prod-eu", 1)).then(ApprovalRequiredError, { requiredApprovals: 1 });
    given(events)
      .when(setAlias("staging", 1))
      .then([aliasSet("staging", 1)]);
    const removal = given([...events, aliasSet("prod-eu", 1)]).when({
      type: "DeleteRegisteredModelAlias",
      data: { alias: "prod-eu" },
    });
    removal.then(ApprovalRequiredError);
    // No review request removes an alias: the error says what does instead of pointing to one.
    expect((removal.decision as Error).message).toMatch(/removing it takes an administrator's bypassReason/);
    expect((removal.decision as Error).message).not.toMatch(/requestReview/);
  });

  it("given Production protected, when an admin bypasses with a reason, then the bypass is recorded with the change", () => {
    given(protectedModel())
      .when({
        ...transition(1, "Production"),
        data: { ...transition(1, "Production").data, bypassReason: "incident 42" },
      })
      .then([
        { type: "ReviewPolicyBypassed", data: { version: 1, target: toProduction, reason: "incident 42" } },
        transitioned(1, "None", "Production"),
      ]);
  });

  it("when a bypass reason is blank, then ValidationError", () => {
    given(protectedModel())
      .when({
        ...transition(1, "Production"),
        data: { ...transition(1, "Production").data, bypassReason: "  " },
      })
      .then(ValidationError, { field: "bypassReason" });
  });
});

describe("OpenReviewRequest", () => {
  it("given Production protected, when alice requests it for a READY version, then the request records the rule", () => {
    given(protectedModel())
      .when(open("r1", 1))
      .then([opened("r1", 1)]);
  });

  it("when the target is not protected, then InvalidStateError", () => {
    given(protectedModel())
      .when(open("r1", 1, { kind: "STAGE", stage: "Staging", archiveExistingVersions: false }))
      .then(InvalidStateError);
  });

  it("when the version is not READY, deleted or missing, then it is refused", () => {
    given([
      modelCreated(),
      versionCreated(1, { status: "PENDING_REGISTRATION" }),
      policySet(productionRule()),
    ])
      .when(open("r1", 1))
      .then(InvalidStateError);
    given(protectedModel(versionDeleted(1)))
      .when(open("r1", 1))
      .then(InvalidStateError);
    given(protectedModel()).when(open("r1", 7)).then(NotFoundError);
  });

  it("given an open request for the same version and target, when another is opened, then InvalidStateError", () => {
    given(protectedModel(opened("r1", 1)))
      .when(open("r2", 1))
      .then(InvalidStateError);
  });

  it("when the version already is in the stage, then InvalidStateError", () => {
    given([
      modelCreated(),
      versionCreated(1),
      transitioned(1, "None", "Production"),
      policySet(productionRule()),
    ])
      .when(open("r1", 1))
      .then(InvalidStateError);
  });

  it("when the reason is blank or too long, then ValidationError", () => {
    const blank = open("r1", 1);
    given(protectedModel())
      .when({ ...blank, data: { ...(blank.data as object), reason: " " } } as RegisteredModelCommand)
      .then(ValidationError, { field: "reason" });
    given(protectedModel())
      .when({
        ...blank,
        data: { ...(blank.data as object), reason: "x".repeat(5001) },
      } as RegisteredModelCommand)
      .then(ValidationError, { field: "reason" });
  });
});

describe("ApproveReviewRequest", () => {
  it("given an open request, when bob approves, then it is approved and still open", () => {
    given(protectedModel(opened("r1", 1)))
      .when(approve("r1", BOB))
      .then([approved("r1", BOB)]);
  });

  it("given bob approved, when carol approves, then the request is applied with the direct change's events", () => {
    given(protectedModel(opened("r1", 1), approved("r1", BOB)))
      .when(approve("r1", CAROL))
      .then([
        approved("r1", CAROL),
        { type: "ReviewRequestApplied", data: { requestId: "r1" } },
        transitioned(1, "None", "Production"),
      ]);
  });

  it("given bob approved and has since lost the right to, when carol approves, then it stays open until another standing approval", () => {
    given(protectedModel(opened("r1", 1), approved("r1", BOB)))
      .when(approve("r1", CAROL, [], "ok", [BOB]))
      .then([approved("r1", CAROL)]);
    const withTeam = productionRule({
      reviewers: [...productionRule().reviewers, { kind: "TEAM", id: TEAM }],
    });
    given(protectedModel(opened("r1", 1, toProduction, withTeam), approved("r1", BOB), approved("r1", CAROL)))
      .when(approve("r1", DAVE, [TEAM], "ok", [BOB]))
      .then([
        approved("r1", DAVE),
        { type: "ReviewRequestApplied", data: { requestId: "r1" } },
        transitioned(1, "None", "Production"),
      ]);
  });

  it("given bob approved, when carol approves after her own standing lapsed, then her approval is recorded and does not apply it", () => {
    given(protectedModel(opened("r1", 1), approved("r1", BOB)))
      .when(approve("r1", CAROL, [], "ok", [CAROL]))
      .then([approved("r1", CAROL)]);
  });

  it("when the requester approves their own request, then SELF_APPROVAL", () => {
    const rule = productionRule({
      reviewers: [
        { kind: "PRINCIPAL", id: ALICE },
        { kind: "PRINCIPAL", id: BOB },
      ],
    });
    given(protectedModel(opened("r1", 1, toProduction, rule)))
      .when(approve("r1", ALICE))
      .then(ReviewerNotEligibleError, { reason: "SELF_APPROVAL", code: "REVIEWER_NOT_ELIGIBLE" });
  });

  it("given self-approval allowed, when the listed requester approves, then it counts", () => {
    const rule = productionRule({
      requiredApprovals: 1,
      allowSelfApproval: true,
      reviewers: [{ kind: "PRINCIPAL", id: ALICE }],
    });
    const decision = given([
      modelCreated(),
      versionCreated(1),
      policySet(rule),
      opened("r1", 1, toProduction, rule),
    ]).when(approve("r1", ALICE)).decision;
    expect(decision).toContainEqual(transitioned(1, "None", "Production"));
  });

  it("when someone not listed approves, then NOT_A_REVIEWER; a member of a listed team may", () => {
    given(protectedModel(opened("r1", 1)))
      .when(approve("r1", DAVE))
      .then(ReviewerNotEligibleError, { reason: "NOT_A_REVIEWER" });
    const rule = productionRule({ requiredApprovals: 2, reviewers: [{ kind: "TEAM", id: TEAM }] });
    given(protectedModel(opened("r1", 1, toProduction, rule)))
      .when(approve("r1", DAVE, [TEAM]))
      .then([approved("r1", DAVE)]);
  });

  it("given bob approved, when bob approves again, then ALREADY_REVIEWED", () => {
    given(protectedModel(opened("r1", 1), approved("r1", BOB)))
      .when(approve("r1", BOB))
      .then(ReviewerNotEligibleError, { reason: "ALREADY_REVIEWED" });
  });

  it("given a closed request, when it is approved, then InvalidStateError", () => {
    given(
      protectedModel(opened("r1", 1), {
        type: "ReviewRequestCancelled",
        data: { requestId: "r1", reason: "no" },
      }),
    )
      .when(approve("r1", BOB))
      .then(InvalidStateError);
  });

  it("given the last approval, when the direct change is refused (unsafe artifacts), then the approval is refused and nothing is recorded", () => {
    const events = [
      modelCreated(),
      versionCreated(1, { status: "PENDING_REGISTRATION" }),
      artifactAdded("model.pkl"),
      { type: "ModelVersionFinalized", data: { version: 1 } } as const,
      policySet(productionRule()),
      opened("r1", 1),
      approved("r1", BOB),
    ];
    given(events).when(approve("r1", CAROL)).then(UnsafeArtifactError);
  });

  it("given an alias request, when its one approval comes from a team member, then the alias is set", () => {
    const events = [modelCreated(), versionCreated(1), policySet(championRule())];
    const target = { kind: "ALIAS", alias: "prod-eu" } as const;
    given([...events, opened("r1", 1, target, championRule())])
      .when(approve("r1", DAVE, [TEAM]))
      .then([
        approved("r1", DAVE),
        { type: "ReviewRequestApplied", data: { requestId: "r1" } },
        aliasSet("prod-eu", 1),
      ]);
  });

  it("given an applied request that archives another version, then requests overtaken by it become stale", () => {
    const target = { kind: "STAGE", stage: "Production", archiveExistingVersions: true } as const;
    const toStaging = { kind: "STAGE", stage: "Staging", archiveExistingVersions: false } as const;
    const one = productionRule({ requiredApprovals: 1 });
    const staging = productionRule({ stage: "Staging", requiredApprovals: 1 });
    const events = [
      modelCreated(),
      versionCreated(1),
      versionCreated(2),
      transitioned(1, "None", "Production"),
      policySet(one, staging),
      opened("r1", 2, target, one),
      opened("r2", 1, toStaging, staging),
    ];
    given(events)
      .when(approve("r1", BOB))
      .then([
        approved("r1", BOB),
        { type: "ReviewRequestApplied", data: { requestId: "r1" } },
        {
          type: "ModelVersionStageTransitioned",
          data: {
            version: 2,
            from: "None",
            to: "Production",
            comment: null,
            archived: [{ version: 1, from: "Production" }],
          },
        },
        {
          type: "ReviewRequestStaled",
          data: { requestId: "r2", reason: "version 1 was archived by another route" },
        },
      ]);
  });
});

describe("RejectReviewRequest and CancelReviewRequest", () => {
  it("given an open request, when carol rejects it with a comment, then it closes", () => {
    given(protectedModel(opened("r1", 1)))
      .when(reject("r1", CAROL, "metrics regress"))
      .then([
        {
          type: "ReviewRequestRejected",
          data: { requestId: "r1", reviewerId: CAROL, comment: "metrics regress" },
        },
      ]);
  });

  it("when a rejection has no comment, or comes from someone not listed, then it is refused", () => {
    given(protectedModel(opened("r1", 1)))
      .when(reject("r1", CAROL, ""))
      .then(ValidationError, { field: "comment" });
    given(protectedModel(opened("r1", 1)))
      .when(reject("r1", DAVE))
      .then(ReviewerNotEligibleError, { reason: "NOT_A_REVIEWER" });
  });

  it("when the requester rejects their own request, then SELF_APPROVAL, worded for a review", () => {
    given(protectedModel(opened("r1", 1)))
      .when(reject("r1", ALICE, "changed my mind"))
      .then(ReviewerNotEligibleError, {
        reason: "SELF_APPROVAL",
        message: expect.stringMatching(
          /may not review \(approve or reject\) their own request; they may cancel it/,
        ),
      });
  });

  it("given an open request, when it is cancelled with a reason, then it closes; a closed one cannot be", () => {
    const cancel = {
      type: "CancelReviewRequest",
      data: { requestId: "r1", reason: "wrong version" },
    } as const;
    given(protectedModel(opened("r1", 1)))
      .when(cancel)
      .then([{ type: "ReviewRequestCancelled", data: cancel.data }]);
    given(protectedModel(opened("r1", 1), { type: "ReviewRequestApplied", data: { requestId: "r1" } }))
      .when(cancel)
      .then(InvalidStateError);
  });
});

describe("staleness", () => {
  const staled = (requestId: string, reason: string): RegisteredModelEvent => ({
    type: "ReviewRequestStaled",
    data: { requestId, reason },
  });

  it("given an open request, when its version is deleted, then the request becomes stale in the same decision", () => {
    given(protectedModel(opened("r1", 1)))
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then([versionDeleted(1), staled("r1", "version 1 was deleted")]);
  });

  it("given an open request, when the model is deleted, then it becomes stale", () => {
    const decision = given(protectedModel(opened("r1", 1))).when({
      type: "DeleteRegisteredModel",
      data: {},
    } as never).decision;
    expect(decision).toContainEqual(staled("r1", "the model was deleted"));
  });

  it("given a stage request, when an admin moves the version by another route, then it becomes stale", () => {
    const bypass = {
      ...transition(1, "Production"),
      data: { ...transition(1, "Production").data, bypassReason: "hotfix" },
    };
    const decision = given(protectedModel(opened("r1", 1))).when(bypass).decision;
    expect(decision).toContainEqual(staled("r1", "version 1 moved to Production by another route"));
  });

  it("given an alias request, when the alias is set by another route, then it becomes stale", () => {
    const target = { kind: "ALIAS", alias: "prod-eu" } as const;
    const events = [
      modelCreated(),
      versionCreated(1),
      versionCreated(2),
      policySet(championRule()),
      opened("r1", 1, target, championRule()),
    ];
    const decision = given(events).when(setAlias("prod-eu", 2, { bypassReason: "rollback" })).decision;
    expect(decision).toContainEqual(staled("r1", "alias prod-eu was set to version 2 by another route"));
  });

  it("given two requests, when one is applied, then the applied one is never staled and an unrelated one stays open", () => {
    const target = { kind: "ALIAS", alias: "prod-eu" } as const;
    const rule = productionRule();
    const events = [
      modelCreated(),
      versionCreated(1),
      policySet(rule, championRule()),
      opened("r1", 1, toProduction, rule),
      opened("r2", 1, target, championRule()),
      approved("r1", BOB),
    ];
    const decision = given(events).when(approve("r1", CAROL)).decision;
    expect(Array.isArray(decision) && decision.some((e) => e.type === "ReviewRequestStaled")).toBe(false);
  });

  it("given a version moving within unprotected stages, then an open Production request for another version is untouched", () => {
    given([...protectedModel(opened("r1", 1)), versionCreated(2)])
      .when(transition(2, "Staging"))
      .then([transitioned(2, "None", "Staging")]);
  });
});

describe("RestoreModelVersion", () => {
  const restore: RegisteredModelCommand = { type: "RestoreModelVersion", data: { version: 1 } };
  const restored: RegisteredModelEvent = { type: "ModelVersionRestored", data: { version: 1 } };

  it("given a deleted version in Production and Production protected since, when it is restored, then it comes back Archived", () => {
    given([
      modelCreated(),
      versionCreated(1),
      transitioned(1, "None", "Production"),
      versionDeleted(1),
      policySet(productionRule()),
    ])
      .when(restore)
      .then([
        restored,
        {
          type: "ModelVersionStageTransitioned",
          data: {
            version: 1,
            from: "Production",
            to: "Archived",
            comment:
              "restored out of Production, which the review policy protects: moving it back takes a review",
            archived: [],
          },
        },
      ]);
  });

  it("given a deleted version in an unprotected stage, when it is restored, then it keeps its stage", () => {
    given(protectedModel(transitioned(1, "None", "Staging"), versionDeleted(1)))
      .when(restore)
      .then([restored]);
    given([modelCreated(), versionCreated(1), transitioned(1, "None", "Production"), versionDeleted(1)])
      .when(restore)
      .then([restored]);
  });
});
