// Rules of the review policy: validation, alias pattern matching, and which rule protects a target.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/domain/errors.ts";
import { aliasMatches, checkAliasPattern, protectingRule } from "../../src/reviews/domain/policy.ts";
import { modelCreated } from "../support/events.ts";
import { given } from "../support/decider.ts";
import { BOB, championRule, policySet, productionRule } from "./reviewScenarios.ts";

describe("alias patterns", () => {
  it.each([
    ["champion", "champion", true],
    ["champion", "champion2", false],
    ["prod-*", "prod-eu", true],
    ["prod-*", "prod-", true],
    ["prod-*", "production", false],
    ["*-prod", "eu-prod", true],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "acb", false],
    ["a*a", "a", false],
    ["*", "anything", true],
  ])("%s matches %s: %s", (pattern, alias, expected) => {
    expect(aliasMatches(pattern, alias)).toBe(expected);
  });

  it("validates patterns by the alias rules plus `*`, without regex metacharacters", () => {
    expect(checkAliasPattern("p", "prod-*")).toBeNull();
    expect(checkAliasPattern("p", "champion")).toBeNull();
    expect(checkAliasPattern("p", "prod.*")).toBeInstanceOf(ValidationError);
    expect(checkAliasPattern("p", "(a+)+$*")).toBeInstanceOf(ValidationError);
    expect(checkAliasPattern("p", "latest")).toBeInstanceOf(ValidationError);
  });

  it("the strictest matching rule protects a target", () => {
    const rules = [
      championRule({ requiredApprovals: 1 }),
      championRule({ aliasPattern: "prod-eu", requiredApprovals: 3 }),
    ];
    expect(protectingRule(rules, { kind: "ALIAS", alias: "prod-eu" })?.requiredApprovals).toBe(3);
    expect(protectingRule(rules, { kind: "ALIAS", alias: "prod-us" })?.requiredApprovals).toBe(1);
    expect(protectingRule(rules, { kind: "ALIAS", alias: "staging" })).toBeNull();
  });
});

describe("SetModelReviewPolicy", () => {
  const set = (rules: unknown[]) => ({ type: "SetModelReviewPolicy", data: { rules } }) as never;

  it("given a model, when a policy is set, then it is recorded", () => {
    given([modelCreated()])
      .when(set([productionRule()]))
      .then([policySet(productionRule())]);
  });

  it("given a policy, when it is replaced, then the previous rules are recorded with it", () => {
    given([modelCreated(), policySet(productionRule())])
      .when(set([championRule()]))
      .then([
        {
          type: "ModelReviewPolicySet",
          data: { rules: [championRule()], previousRules: [productionRule()] },
        },
      ]);
  });

  it("given a policy, when the same policy is set again, then nothing changes", () => {
    given([modelCreated(), policySet(productionRule())])
      .when(set([productionRule()]))
      .then([]);
  });

  it.each([
    [
      "no target",
      { requiredApprovals: 1, reviewers: [{ kind: "PRINCIPAL", id: BOB }], allowSelfApproval: false },
      "rules.0",
    ],
    ["both targets", { ...productionRule(), aliasPattern: "x" }, "rules.0"],
    ["zero approvals", productionRule({ requiredApprovals: 0 }), "rules.0.requiredApprovals"],
    ["eleven approvals", productionRule({ requiredApprovals: 11 }), "rules.0.requiredApprovals"],
    ["no reviewers", productionRule({ reviewers: [] }), "rules.0.reviewers"],
    ["the None stage", productionRule({ stage: "None" }), "rules.0.stage"],
    ["a bad pattern", championRule({ aliasPattern: "prod.*" }), "rules.0.aliasPattern"],
  ])("when a rule has %s, then ValidationError", (_what, rule, field) => {
    given([modelCreated()])
      .when(set([rule]))
      .then(ValidationError, { field });
  });

  it("refuses more than 20 rules and two rules for one target", () => {
    const many = Array.from({ length: 21 }, (_, i) => championRule({ aliasPattern: `a${i}` }));
    given([modelCreated()]).when(set(many)).then(ValidationError, { field: "rules" });
    given([modelCreated()])
      .when(set([productionRule(), productionRule()]))
      .then(ValidationError, { field: "rules.1" });
  });
});
