// Who may act on an open request as its reviewer: a listed user or a member of a listed team, not
// the requester (unless the rule allows it), and once.
import { isListedReviewer } from "../policy.ts";
import type { Reviewer } from "../commands.ts";
import { ReviewerNotEligibleError } from "../errors.ts";
import type { OpenReview } from "../state.ts";

export function ineligibility(review: OpenReview, reviewer: Reviewer): ReviewerNotEligibleError | null {
  if (reviewer.reviewerId === review.requesterId && !review.allowSelfApproval)
    return new ReviewerNotEligibleError(review.requestId, "SELF_APPROVAL");
  if (!isListedReviewer(review.reviewers, reviewer.reviewerId, reviewer.teamIds))
    return new ReviewerNotEligibleError(review.requestId, "NOT_A_REVIEWER");
  if (review.approvals.includes(reviewer.reviewerId))
    return new ReviewerNotEligibleError(review.requestId, "ALREADY_REVIEWED");
  return null;
}
