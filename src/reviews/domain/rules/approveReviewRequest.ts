// Rule: approve an open review request. The approval that reaches the required count applies the
// change in the same decision: [Approved, Applied, ...the events the direct change's own rule
// decides on the state after them, with viaReview set]. Approvals of reviewers who have since lost
// the right to give them do not count, the approving reviewer's included; the command says which,
// read where they cannot change before the commit. If the change's rule refuses (e.g. the artifact
// safety gate, or the version is no longer READY), the approval is refused with its error and
// nothing is recorded.
import {
  DomainError,
  InvalidStateError,
  UnsafeArtifactError,
  ValidationError,
} from "../../../domain/errors.ts";
import type { RegisteredModelEvent } from "../../../domain/registeredModel/events.ts";
import { onLiveModel } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule, Decision } from "../../../domain/registeredModel/rules/commandRule.ts";
import {
  setRegisteredModelAlias,
  transitionModelVersionStage,
} from "../../../domain/registeredModel/rules/stagesAndAliases.ts";
import { fold } from "../../../domain/registeredModel/state.ts";
import type { RegisteredModelState } from "../../../domain/registeredModel/state.ts";
import type { ApproveReviewRequest } from "../commands.ts";
import { ApprovalRequiredError, ReviewerNotEligibleError } from "../errors.ts";
import type { OpenReview } from "../state.ts";
import { openRequest } from "./openRequest.ts";
import { checkReason } from "./reviewText.ts";
import { ineligibility } from "./reviewerEligibility.ts";

/** The direct change a request stands for, decided by that change's own rule. */
export function applyReview(review: OpenReview, state: RegisteredModelState): Decision {
  const viaReview = review.requestId;
  return review.target.kind === "STAGE"
    ? transitionModelVersionStage.decide(
        {
          type: "TransitionModelVersionStage",
          data: {
            version: review.version,
            stage: review.target.stage,
            comment: null,
            archiveExistingVersions: review.target.archiveExistingVersions,
            viaReview,
          },
        },
        state,
      )
    : setRegisteredModelAlias.decide(
        {
          type: "SetRegisteredModelAlias",
          data: { alias: review.target.alias, version: review.version, viaReview },
        },
        state,
      );
}

export const approveReviewRequest: CommandRule<ApproveReviewRequest> = onLiveModel({
  // What the direct change can refuse joins the approval's own errors: the safety gate, or a
  // version no longer READY (InvalidState). ApprovalRequired cannot happen with viaReview set.
  errors: [ValidationError, InvalidStateError, ReviewerNotEligibleError, UnsafeArtifactError],
  clientInput: (command) => ({ requestId: command.data.requestId, comment: command.data.comment }),
  decide(command, state) {
    const { requestId, comment } = command.data;
    const invalid = checkReason("comment", comment, false);
    if (invalid) return invalid;
    const review = openRequest(state, requestId);
    if (review instanceof DomainError) return review;
    const refused = ineligibility(review, command.data);
    if (refused) return refused;
    const approved: RegisteredModelEvent = {
      type: "ReviewRequestApproved",
      data: { requestId, reviewerId: command.data.reviewerId, comment },
    };
    // The reviewer's own approval counts unless its standing lapsed since it was authenticated.
    const lapsed = command.data.lapsedApprovers;
    const standing = [...review.approvals, command.data.reviewerId].filter((id) => !lapsed.includes(id));
    if (standing.length < review.requiredApprovals) return [approved];
    const applied: RegisteredModelEvent = { type: "ReviewRequestApplied", data: { requestId } };
    const change = applyReview(review, fold([approved, applied], state));
    if (change instanceof ApprovalRequiredError) return new InvalidStateError(change.message);
    if (change instanceof DomainError) return change;
    return [approved, applied, ...change];
  },
});
