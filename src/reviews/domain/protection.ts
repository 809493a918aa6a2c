// The guard of protected targets, called by the stage and alias rules before they record a change:
// a change to a target the policy protects needs an approved review (viaReview) or an admin's
// bypass with a reason (recorded as ReviewPolicyBypassed in the same decision).
import { ValidationError } from "../../domain/errors.ts";
import { LIMITS, checkText } from "../../domain/validation.ts";
import { ApprovalRequiredError } from "./errors.ts";
import type { ReviewPolicyBypassed, ReviewRule, ReviewTarget } from "./events.ts";
import { protectingRule } from "./policy.ts";

export function checkBypassReason(reason: string | null | undefined): ValidationError | null {
  if (reason === null || reason === undefined) return null;
  if (reason.trim().length === 0)
    return new ValidationError("bypassReason", "must not be blank: write why the review is bypassed");
  return checkText("bypassReason", reason, LIMITS.commentMaxLength, true);
}

export function guardProtectedTarget(
  policy: readonly ReviewRule[],
  target: ReviewTarget,
  version: number,
  change: { readonly viaReview?: string | null; readonly bypassReason?: string | null },
  removal = false,
): ReviewPolicyBypassed[] | ApprovalRequiredError {
  if (change.viaReview) return [];
  const rule = protectingRule(policy, target);
  if (rule === null) return [];
  const reason = change.bypassReason;
  if (reason === null || reason === undefined)
    return new ApprovalRequiredError(target, rule.requiredApprovals, removal);
  return [{ type: "ReviewPolicyBypassed", data: { version, target, reason } }];
}
