// The pure projection of review requests: each event's effect on a request's row, and the policy
// on the model's row.
import { describe, expect, it } from "vitest";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { evolveReviewRequestView } from "../../src/reviews/projection/evolve.ts";
import type { ReviewRequestView } from "../../src/reviews/projection/evolve.ts";
import { modelCreated, versionCreated } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";
import { ALICE, BOB, CAROL, approved, opened, policySet, productionRule } from "./reviewScenarios.ts";

const fold = (...events: Parameters<typeof recorded>[0][]) =>
  events.reduce<ReviewRequestView | null>(
    (view, event, i) =>
      evolveReviewRequestView(view, recorded(event, i + 1, "model-1", i === 0 ? "alice" : "bob")),
    null,
  );

describe("evolveReviewRequestView", () => {
  it("opens a request with its target, rule and requester", () => {
    expect(fold(opened("r1", 2))).toEqual({
      id: "r1",
      modelId: "model-1",
      version: 2,
      targetKind: "STAGE",
      stage: "Production",
      archiveExistingVersions: false,
      alias: null,
      reason: "better recall",
      status: "OPEN",
      requesterId: ALICE,
      requestedBy: "alice",
      requiredApprovals: 2,
      reviewers: productionRule().reviewers,
      allowSelfApproval: false,
      approvals: [],
      rejection: null,
      createdAt: minutesAfterT0(0),
      updatedAt: minutesAfterT0(0),
      closedAt: null,
      closedReason: null,
      revision: 1,
    });
  });

  it("adds approvals in order, with who and when, and stays open", () => {
    const view = fold(opened("r1", 2), approved("r1", BOB, "fine"));
    expect(view).toMatchObject({
      status: "OPEN",
      approvals: [{ reviewerId: BOB, reviewer: "bob", comment: "fine", at: minutesAfterT0(1).toISOString() }],
      revision: 2,
    });
  });

  it.each([
    [{ type: "ReviewRequestApplied", data: { requestId: "r1" } }, "APPLIED", null],
    [
      { type: "ReviewRequestCancelled", data: { requestId: "r1", reason: "no longer" } },
      "CANCELLED",
      "no longer",
    ],
    [
      { type: "ReviewRequestStaled", data: { requestId: "r1", reason: "version 2 was deleted" } },
      "STALE",
      "version 2 was deleted",
    ],
    [
      { type: "ReviewRequestRejected", data: { requestId: "r1", reviewerId: CAROL, comment: "slow" } },
      "REJECTED",
      "slow",
    ],
  ] as const)("closes on %o", (event, status, reason) => {
    const view = fold(opened("r1", 2), event);
    expect(view).toMatchObject({ status, closedReason: reason, closedAt: minutesAfterT0(1) });
    if (status === "REJECTED") expect(view?.rejection).toMatchObject({ reviewerId: CAROL, comment: "slow" });
  });

  it("ignores events of a request it never saw (never throws)", () => {
    expect(fold(approved("r9", BOB))).toBeNull();
  });

  it("keeps the policy on the model view and a request per id in the stream views", () => {
    const views = applyEvents(
      emptyStreamViews("model-1"),
      [
        modelCreated(),
        versionCreated(1),
        policySet(productionRule()),
        opened("r1", 1),
        approved("r1", BOB),
      ].map((e, i) => recorded(e, i + 1)),
    );
    expect(views.model?.reviewPolicy).toEqual([productionRule()]);
    expect(views.reviews.get("r1")).toMatchObject({ status: "OPEN", approvals: [{ reviewerId: BOB }] });
  });
});
