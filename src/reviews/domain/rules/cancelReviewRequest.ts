// Rule: cancel an open review request. Who may (its requester, or a manager of the model) is
// decided with every other permission in src/access/modelAccess.ts.
import { DomainError, InvalidStateError, ValidationError } from "../../../domain/errors.ts";
import { onLiveModel } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CancelReviewRequest } from "../commands.ts";
import { openRequest } from "./openRequest.ts";
import { checkReason } from "./reviewText.ts";

export const cancelReviewRequest: CommandRule<CancelReviewRequest> = onLiveModel({
  errors: [ValidationError, InvalidStateError],
  decide(command, state) {
    const { requestId, reason } = command.data;
    const invalid = checkReason("reason", reason, true);
    if (invalid) return invalid;
    const review = openRequest(state, requestId);
    if (review instanceof DomainError) return review;
    return [{ type: "ReviewRequestCancelled", data: { requestId, reason } }];
  },
});
