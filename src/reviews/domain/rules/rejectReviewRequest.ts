// Rule: reject an open review request; one rejection closes it. Eligible as for approving.
import { DomainError, InvalidStateError, ValidationError } from "../../../domain/errors.ts";
import { onLiveModel } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { RejectReviewRequest } from "../commands.ts";
import { ReviewerNotEligibleError } from "../errors.ts";
import { openRequest } from "./openRequest.ts";
import { checkReason } from "./reviewText.ts";
import { ineligibility } from "./reviewerEligibility.ts";

export const rejectReviewRequest: CommandRule<RejectReviewRequest> = onLiveModel({
  errors: [ValidationError, InvalidStateError, ReviewerNotEligibleError],
  clientInput: (command) => ({ requestId: command.data.requestId, comment: command.data.comment }),
  decide(command, state) {
    const { requestId, comment } = command.data;
    // A rejection says why.
    const invalid = checkReason("comment", comment, true);
    if (invalid) return invalid;
    const review = openRequest(state, requestId);
    if (review instanceof DomainError) return review;
    const refused = ineligibility(review, command.data);
    if (refused) return refused;
    return [
      { type: "ReviewRequestRejected", data: { requestId, reviewerId: command.data.reviewerId, comment } },
    ];
  },
});
