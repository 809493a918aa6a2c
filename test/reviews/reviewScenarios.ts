// Event and command builders for review scenarios: alice requests, bob and carol review.
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import type { ReviewRule, ReviewTarget } from "../../src/reviews/domain/events.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { modelCreated, versionCreated } from "../support/events.ts";

export const ALICE = "alice-id";
export const BOB = "bob-id";
export const CAROL = "carol-id";
export const DAVE = "dave-id";
export const TEAM = "ml-leads";

export const productionRule = (data: Partial<ReviewRule> = {}): ReviewRule => ({
  stage: "Production",
  requiredApprovals: 2,
  reviewers: [
    { kind: "PRINCIPAL", id: BOB },
    { kind: "PRINCIPAL", id: CAROL },
  ],
  allowSelfApproval: false,
  ...data,
});

export const championRule = (data: Partial<ReviewRule> = {}): ReviewRule => ({
  aliasPattern: "prod-*",
  requiredApprovals: 1,
  reviewers: [{ kind: "TEAM", id: TEAM }],
  allowSelfApproval: false,
  ...data,
});

export const policySet = (...rules: ReviewRule[]): RegisteredModelEvent => ({
  type: "ModelReviewPolicySet",
  data: { rules },
});

export const toProduction: ReviewTarget = {
  kind: "STAGE",
  stage: "Production",
  archiveExistingVersions: false,
};

export function opened(
  requestId: string,
  version: number,
  target: ReviewTarget = toProduction,
  rule: ReviewRule = productionRule(),
  requesterId = ALICE,
): RegisteredModelEvent {
  return {
    type: "ReviewRequestOpened",
    data: {
      requestId,
      version,
      target,
      reason: "better recall",
      requesterId,
      requiredApprovals: rule.requiredApprovals,
      reviewers: [...rule.reviewers],
      allowSelfApproval: rule.allowSelfApproval,
    },
  };
}

export const approved = (requestId: string, reviewerId: string, comment = "ok"): RegisteredModelEvent => ({
  type: "ReviewRequestApproved",
  data: { requestId, reviewerId, comment },
});

/** A model with version 1 READY and Production protected (2 approvals by bob or carol). */
export const protectedModel = (...more: RegisteredModelEvent[]): RegisteredModelEvent[] => [
  modelCreated(),
  versionCreated(1),
  policySet(productionRule()),
  ...more,
];

export const open = (
  requestId: string,
  version: number,
  target: ReviewTarget = toProduction,
  requesterId = ALICE,
): RegisteredModelCommand => ({
  type: "OpenReviewRequest",
  data: { requestId, version, target, reason: "better recall", requesterId },
});

export const approve = (
  requestId: string,
  reviewerId: string,
  teamIds: string[] = [],
  comment = "ok",
  lapsedApprovers: string[] = [],
): RegisteredModelCommand => ({
  type: "ApproveReviewRequest",
  data: { requestId, comment, reviewerId, teamIds, lapsedApprovers },
});

export const reject = (requestId: string, reviewerId: string, comment = "not yet", teamIds: string[] = []) =>
  ({
    type: "RejectReviewRequest",
    data: { requestId, comment, reviewerId, teamIds },
  }) as RegisteredModelCommand;
