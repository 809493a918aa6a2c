// A model's review policy: validating its rules, and finding the rule that protects a target.
// Alias patterns are matched segment by segment (split on `*`), never by a regex built from input.
import { GRANTEE_KINDS } from "../../domain/modelPermissions.ts";
import { STAGES } from "../../domain/stages.ts";
import { ValidationError } from "../../domain/errors.ts";
import { LIMITS, checkAlias, checkStorableText } from "../../domain/validation.ts";
import type { ReviewRule, ReviewTarget } from "./events.ts";

export const REVIEW_LIMITS = {
  maxRules: 20,
  maxReviewersPerRule: 50,
  maxRequiredApprovals: 10,
  reasonMaxLength: LIMITS.commentMaxLength,
} as const;

// A pattern is an alias whose characters may also be `*` (fixed patterns, not built from input).
const PATTERN_CHARS = /^[A-Za-z0-9_*-]{1,255}$/;
const PATTERN_START = /^[A-Za-z_*]/;

export function checkAliasPattern(field: string, pattern: string): ValidationError | null {
  if (!pattern.includes("*")) return checkAlias(field, pattern);
  if (!PATTERN_CHARS.test(pattern) || !PATTERN_START.test(pattern))
    return new ValidationError(
      field,
      "must be an alias name in which `*` stands for any characters (e.g. `prod-*`)",
    );
  return null;
}

/** Whether `alias` matches `pattern`, where each `*` stands for any (possibly empty) run of characters. */
export function aliasMatches(pattern: string, alias: string): boolean {
  const segments = pattern.split("*");
  if (segments.length === 1) return pattern === alias;
  const first = segments[0] ?? "";
  const last = segments[segments.length - 1] ?? "";
  if (alias.length < first.length + last.length) return false;
  if (!alias.startsWith(first) || !alias.endsWith(last)) return false;
  let at = first.length;
  const end = alias.length - last.length;
  for (const middle of segments.slice(1, -1)) {
    const found = alias.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * The rule protecting a target: the strictest (most approvals) of those that match, so adding a
 * rule never weakens a protection.
 */
export function protectingRule(rules: readonly ReviewRule[], target: ReviewTarget): ReviewRule | null {
  let found: ReviewRule | null = null;
  for (const rule of rules) {
    const matches =
      target.kind === "STAGE"
        ? rule.stage === target.stage
        : rule.aliasPattern !== undefined && aliasMatches(rule.aliasPattern, target.alias);
    if (matches && (found === null || rule.requiredApprovals > found.requiredApprovals)) found = rule;
  }
  return found;
}

/** Refuses a malformed policy: each rule names exactly one stage or one alias pattern, and reviewers. */
export function checkRules(rules: readonly ReviewRule[]): ValidationError | null {
  if (rules.length > REVIEW_LIMITS.maxRules)
    return new ValidationError("rules", `at most ${REVIEW_LIMITS.maxRules} rules`);
  for (const [i, rule] of rules.entries()) {
    const field = `rules.${i}`;
    const hasStage = rule.stage !== undefined && rule.stage !== null;
    const hasPattern = rule.aliasPattern !== undefined && rule.aliasPattern !== null;
    if (hasStage === hasPattern)
      return new ValidationError(field, "give exactly one of stage and aliasPattern");
    if (hasStage && !STAGES.includes(rule.stage))
      return new ValidationError(`${field}.stage`, `must be one of ${STAGES.join(", ")}`);
    if (hasStage && (rule.stage === "None" || rule.stage === "Archived"))
      return new ValidationError(`${field}.stage`, "only Staging and Production can be protected");
    if (hasPattern) {
      const bad = checkAliasPattern(`${field}.aliasPattern`, rule.aliasPattern ?? "");
      if (bad) return bad;
    }
    if (
      !Number.isInteger(rule.requiredApprovals) ||
      rule.requiredApprovals < 1 ||
      rule.requiredApprovals > REVIEW_LIMITS.maxRequiredApprovals
    )
      return new ValidationError(
        `${field}.requiredApprovals`,
        `must be a whole number from 1 to ${REVIEW_LIMITS.maxRequiredApprovals}`,
      );
    if (rule.reviewers.length === 0)
      return new ValidationError(`${field}.reviewers`, "name at least one user or team");
    if (rule.reviewers.length > REVIEW_LIMITS.maxReviewersPerRule)
      return new ValidationError(
        `${field}.reviewers`,
        `at most ${REVIEW_LIMITS.maxReviewersPerRule} reviewers`,
      );
    for (const [j, reviewer] of rule.reviewers.entries()) {
      if (!GRANTEE_KINDS.includes(reviewer.kind))
        return new ValidationError(`${field}.reviewers.${j}.kind`, "must be PRINCIPAL or TEAM");
      if (reviewer.id.length === 0 || reviewer.id.length > LIMITS.granteeIdMaxLength)
        return new ValidationError(`${field}.reviewers.${j}.id`, "is not an id");
      const unstorable = checkStorableText(`${field}.reviewers.${j}.id`, reviewer.id);
      if (unstorable) return unstorable;
    }
    for (const [j, other] of rules.slice(0, i).entries()) {
      if (
        (hasStage && other.stage === rule.stage) ||
        (hasPattern && other.aliasPattern === rule.aliasPattern)
      )
        return new ValidationError(field, `protects the same target as rules.${j}`);
    }
  }
  return null;
}

/** Whether the reviewer (a principal and its teams) is one of a rule's reviewers. */
export function isListedReviewer(
  reviewers: readonly { readonly kind: string; readonly id: string }[],
  reviewerId: string,
  teamIds: readonly string[],
): boolean {
  return reviewers.some((r) =>
    r.kind === "PRINCIPAL" ? r.id === reviewerId : r.kind === "TEAM" && teamIds.includes(r.id),
  );
}

export const describeTarget = (target: ReviewTarget): string =>
  target.kind === "STAGE" ? `stage ${target.stage}` : `alias ${target.alias}`;
