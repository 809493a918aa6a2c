// The MLflow search filter: what the tokenizer and parser accept, what they refuse, and the LIKE
// matcher's wildcards.
import { describe, expect, it } from "vitest";
import { MlflowError } from "../../src/mlflow/mlflowErrors.ts";
import {
  MAX_FILTER_LENGTH,
  MatchBudget,
  likeMatches,
  modelMatches,
  parseFilter,
} from "../../src/mlflow/searchFilter.ts";

describe("parseFilter", () => {
  it.each([
    ["", []],
    ["name = 'a'", [{ on: "name", op: "=", value: "a" }]],
    ['name != "b c"', [{ on: "name", op: "!=", value: "b c" }]],
    [
      "name like 'a%' AND name ILIKE '%B'",
      [
        { on: "name", op: "LIKE", value: "a%" },
        { on: "name", op: "ILIKE", value: "%B" },
      ],
    ],
    ["tags.team = 'risk'", [{ on: "tag", key: "team", op: "=", value: "risk" }]],
    ["tags.`odd key` != ''", [{ on: "tag", key: "odd key", op: "!=", value: "" }]],
    ["`tags.a.b` LIKE 'x'", [{ on: "tag", key: "a.b", op: "LIKE", value: "x" }]],
    [
      "name='a'and tags.k='v'",
      [
        { on: "name", op: "=", value: "a" },
        { on: "tag", key: "k", op: "=", value: "v" },
      ],
    ],
  ])("%j", (filter, expected) => {
    expect(parseFilter(filter)).toEqual(expected);
  });

  it.each([
    "name",
    "name =",
    "name = a",
    "name = 'a' OR name = 'b'",
    "name IN ('a')",
    "run_id = '1'",
    "tags. = 'x'",
    "name = 'a",
    "tags.`k = 'a'",
    "name = 'a' AND",
    "name < 'a'",
    "x".repeat(MAX_FILTER_LENGTH + 1),
  ])("refuses %j as INVALID_PARAMETER_VALUE", (filter) => {
    expect(() => parseFilter(filter)).toThrow(MlflowError);
    try {
      parseFilter(filter);
    } catch (error) {
      expect((error as MlflowError).errorCode).toBe("INVALID_PARAMETER_VALUE");
      expect((error as MlflowError).status).toBe(400);
    }
  });
});

describe("likeMatches", () => {
  it.each([
    ["abc", "abc", true],
    ["a%", "abc", true],
    ["%c", "abc", true],
    ["a_c", "abc", true],
    ["a_c", "ac", false],
    ["%b%", "abc", true],
    ["%", "", true],
    ["_", "", false],
    ["a%b%c", "axxbyyc", true],
    ["a%b%c", "axxcyyb", false],
    ["_", "😀", true],
    ["ABC", "abc", false],
    ["a.c", "abc", false],
  ])("%j against %j is %s", (pattern, text, expected) => {
    expect(likeMatches(pattern, text)).toBe(expected);
  });

  it("needs the tag to be set for every tag comparison, != included", () => {
    const [c] = parseFilter("tags.k != 'x'");
    expect(modelMatches([c!], { name: "m", tags: new Map() })).toBe(false);
    expect(modelMatches([c!], { name: "m", tags: new Map([["k", "y"]]) })).toBe(true);
  });

  it("stops a search whose patterns cost more than its budget, with INVALID_PARAMETER_VALUE", () => {
    const pattern = `%${"a".repeat(1000)}b`;
    const text = "a".repeat(5000);
    // Within a generous budget the worst case still answers.
    expect(likeMatches(pattern, text, new MatchBudget(1e9))).toBe(false);
    const budget = new MatchBudget(1_000_000);
    expect(() => {
      for (let i = 0; i < 100; i++) likeMatches(pattern, text, budget);
    }).toThrow(/too costly/);
  });
});
