// Expected failures of the review rules, exposed as typed GraphQL errors.
import { DomainError } from "../../domain/errors.ts";
import type { ReviewTarget } from "./events.ts";

/**
 * The target (a protected stage or alias) changes only through an approved review request, or an
 * admin's bypass with a reason.
 */
export class ApprovalRequiredError extends DomainError {
  readonly code = "APPROVAL_REQUIRED";
  constructor(
    readonly target: ReviewTarget,
    readonly requiredApprovals: number,
    /** The refused change removes the alias: no review request can do that (requests point it at a version). */
    removal = false,
  ) {
    const what = target.kind === "STAGE" ? `stage ${target.stage}` : `alias ${target.alias}`;
    const next = removal
      ? "removing it takes an administrator's bypassReason, or a policy that no longer protects it"
      : "open a review request with requestReview";
    super(
      `${what} is protected by the model's review policy (${requiredApprovals} approval${requiredApprovals === 1 ? "" : "s"} needed): ${next}`,
    );
    this.name = "ApprovalRequiredError";
  }
}

export type NotEligibleReason = "SELF_APPROVAL" | "NOT_A_REVIEWER" | "ALREADY_REVIEWED";

/** The caller may not approve or reject this request. */
export class ReviewerNotEligibleError extends DomainError {
  readonly code = "REVIEWER_NOT_ELIGIBLE";
  constructor(
    readonly requestId: string,
    readonly reason: NotEligibleReason,
  ) {
    super(
      reason === "SELF_APPROVAL"
        ? `review request ${requestId}: the requester may not review (approve or reject) their own request; they may cancel it`
        : reason === "ALREADY_REVIEWED"
          ? `review request ${requestId}: you have already approved it`
          : `review request ${requestId}: you are not one of its reviewers`,
    );
    this.name = "ReviewerNotEligibleError";
  }
}
