// Rule: replace a model's review policy (MANAGE, checked in src/access/modelAccess.ts).
import { ValidationError } from "../../../domain/errors.ts";
import { onLiveModel } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../../domain/registeredModel/rules/commandRule.ts";
import type { SetModelReviewPolicy } from "../commands.ts";
import type { ReviewRule } from "../events.ts";
import { checkRules } from "../policy.ts";

/** The stored shape of a rule: one target key, reviewers without duplicates, no stray fields. */
function normalised(rule: ReviewRule): ReviewRule {
  const seen = new Set<string>();
  const reviewers = rule.reviewers
    .filter((r) => {
      const key = `${r.kind}:${r.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((r) => ({ kind: r.kind, id: r.id }));
  return {
    ...(rule.stage ? { stage: rule.stage } : { aliasPattern: rule.aliasPattern ?? "" }),
    requiredApprovals: rule.requiredApprovals,
    reviewers,
    allowSelfApproval: rule.allowSelfApproval,
  };
}

export const setModelReviewPolicy: CommandRule<SetModelReviewPolicy> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const invalid = checkRules(command.data.rules);
    if (invalid) return invalid;
    const rules = command.data.rules.map(normalised);
    // The same policy again changes nothing.
    if (JSON.stringify(rules) === JSON.stringify(state.reviewPolicy)) return [];
    return [
      {
        type: "ModelReviewPolicySet",
        data: state.reviewPolicy.length > 0 ? { rules, previousRules: [...state.reviewPolicy] } : { rules },
      },
    ];
  },
});
