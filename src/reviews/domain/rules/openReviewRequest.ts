// Rule: open a review request to change a protected target (EDIT, checked in modelAccess.ts).
import { DomainError, InvalidStateError, NotFoundError, ValidationError } from "../../../domain/errors.ts";
import { onLiveModel } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../../domain/registeredModel/rules/commandRule.ts";
import { liveVersion } from "../../../domain/registeredModel/rules/liveVersion.ts";
import { STAGES } from "../../../domain/stages.ts";
import { checkAlias, checkStorableText } from "../../../domain/validation.ts";
import type { OpenReviewRequest } from "../commands.ts";
import type { ReviewTarget } from "../events.ts";
import { describeTarget, protectingRule } from "../policy.ts";
import { checkReason } from "./reviewText.ts";

const sameTarget = (a: ReviewTarget, b: ReviewTarget): boolean =>
  a.kind === "STAGE" ? b.kind === "STAGE" && a.stage === b.stage : b.kind === "ALIAS" && a.alias === b.alias;

function checkTarget(target: ReviewTarget): ValidationError | null {
  if (target.kind === "ALIAS") return checkAlias("alias", target.alias);
  if ((target.kind as string) !== "STAGE")
    return new ValidationError("target", "must be a stage or an alias");
  if (!STAGES.includes(target.stage))
    return new ValidationError("stage", `must be one of ${STAGES.join(", ")}`);
  if (target.archiveExistingVersions && target.stage !== "Staging" && target.stage !== "Production")
    return new ValidationError("archiveExistingVersions", "only applies to Staging or Production");
  return null;
}

export const openReviewRequest: CommandRule<OpenReviewRequest> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  // The requester and the request id are the server's; the client wrote the rest.
  clientInput: (command) => ({
    version: command.data.version,
    target: command.data.target,
    reason: command.data.reason,
  }),
  decide(command, state) {
    const { requestId, target, reason, requesterId } = command.data;
    // The id is the server's, but it keys the request for good: it must be one.
    if (requestId.length === 0 || requestId.length > 128 || checkStorableText("requestId", requestId))
      return new ValidationError("requestId", "is not a request id");
    const invalid = checkTarget(target) ?? checkReason("reason", reason, true);
    if (invalid) return invalid;
    const version = liveVersion(state, command.data.version);
    if (version instanceof DomainError) return version;
    if (version.status !== "READY")
      return new InvalidStateError(
        `version ${version.version} is ${version.status}; only READY versions are reviewed`,
      );
    const rule = protectingRule(state.reviewPolicy, target);
    if (rule === null)
      return new InvalidStateError(
        `${describeTarget(target)} is not protected by the model's review policy: change it directly`,
      );
    const holds =
      target.kind === "STAGE"
        ? version.stage === target.stage
        : Object.hasOwn(state.aliases, target.alias) && state.aliases[target.alias] === version.version;
    if (holds)
      return new InvalidStateError(`version ${version.version} already has ${describeTarget(target)}`);
    const duplicate = Object.values(state.openReviews).find(
      (r) => r.version === version.version && sameTarget(r.target, target),
    );
    if (duplicate)
      return new InvalidStateError(
        `review request ${duplicate.requestId} for version ${version.version} and ${describeTarget(target)} is already open`,
      );
    const stored: ReviewTarget =
      target.kind === "STAGE"
        ? { kind: "STAGE", stage: target.stage, archiveExistingVersions: target.archiveExistingVersions }
        : { kind: "ALIAS", alias: target.alias };
    return [
      {
        type: "ReviewRequestOpened",
        data: {
          requestId,
          version: version.version,
          target: stored,
          reason,
          requesterId,
          requiredApprovals: rule.requiredApprovals,
          reviewers: [...rule.reviewers],
          allowSelfApproval: rule.allowSelfApproval,
        },
      },
    ];
  },
});
