// The MLflow search filter: what the tokenizer and parser accept, what they refuse, and the LIKE
// matcher's wildcards.
import { describe, expect, it } from "vitest";
import { MlflowError } from "../../src/mlflow/mlflowErrors.ts";
import {
  MAX_FILTER_LENGTH,
  MAX_IN_VALUES,
  MatchBudget,
  VERSION_FILTER,
  likeMatches,
  modelMatches,
  parseFilter,
  rowMatches,
  storableEqualities,
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

describe("parseFilter on model versions", () => {
  it.each([
    ["run_id = 'r1'", [{ on: "run_id", op: "=", value: "r1" }]],
    ["RUN_ID in ('a', \"b\",'c')", [{ on: "run_id", op: "IN", values: ["a", "b", "c"] }]],
    ["run_id IN ('a')", [{ on: "run_id", op: "IN", values: ["a"] }]],
    ["source_path LIKE 's3://%'", [{ on: "source_path", op: "LIKE", value: "s3://%" }]],
    ["version_number = 3", [{ on: "version_number", op: "=", value: "3" }]],
    ["`version_number` != '3'", [{ on: "version_number", op: "!=", value: "3" }]],
    ["version_number>2", [{ on: "version_number", op: ">", value: "2" }]],
    ["version_number >= '2'", [{ on: "version_number", op: ">=", value: "2" }]],
    [
      "version_number < 10 AND version_number <=9",
      [
        { on: "version_number", op: "<", value: "10" },
        { on: "version_number", op: "<=", value: "9" },
      ],
    ],
    [
      "name = 'm' AND run_id IN ('x') AND tags.k ILIKE 'V'",
      [
        { on: "name", op: "=", value: "m" },
        { on: "run_id", op: "IN", values: ["x"] },
        { on: "tag", key: "k", op: "ILIKE", value: "V" },
      ],
    ],
  ])("%j", (filter, expected) => {
    expect(parseFilter(filter, VERSION_FILTER)).toEqual(expected);
  });

  it.each([
    "run_id IN",
    "run_id IN ()",
    "run_id IN ('a'",
    "run_id IN ('a',)",
    "run_id IN ('a' 'b')",
    "run_id IN 'a'",
    "run_id IN (a)",
    "name IN ('a')",
    "source_path IN ('a')",
    "tags.k IN ('a')",
    "version_number = x",
    "version_number LIKE '1%'",
    "version_number ILIKE '1'",
    "version_number => 3",
    "version_number <> 3",
    "run_id > 'a'",
    "name <= 'm'",
    "tags.k >= '1'",
    "run_id = 3",
    "stage = 'None'",
    "`and` = 'x'",
    `run_id IN (${Array.from({ length: MAX_IN_VALUES + 1 }, () => "'x'").join(",")})`,
  ])("refuses %j as INVALID_PARAMETER_VALUE", (filter) => {
    let caught: unknown;
    try {
      parseFilter(filter, VERSION_FILTER);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MlflowError);
    expect((caught as MlflowError).errorCode).toBe("INVALID_PARAMETER_VALUE");
  });

  it("keeps the registered-model grammar to name and tags", () => {
    expect(() => parseFilter("source_path = 'x'")).toThrow(/only these are searchable on registered models/);
    expect(() => parseFilter("version_number = 1")).toThrow(MlflowError);
  });

  it("accepts exactly MAX_IN_VALUES values", () => {
    const values = Array.from({ length: MAX_IN_VALUES }, (_, i) => `'v${i}'`).join(",");
    const [c] = parseFilter(`run_id IN (${values})`, VERSION_FILTER);
    expect(c).toMatchObject({ op: "IN", values: expect.arrayContaining(["v0", `v${MAX_IN_VALUES - 1}`]) });
  });
});

describe("rowMatches and storableEqualities", () => {
  const row = {
    fields: { name: "m", run_id: "r2", source_path: "s3://b/m/2", version_number: "2" },
    tags: new Map([["k", "v"]]),
  };

  it.each([
    ["run_id IN ('r1', 'r2')", true],
    ["run_id IN ('r1', 'R2')", false],
    ["source_path LIKE '%/2' AND version_number = 2", true],
    ["version_number != 2", false],
    ["version_number > 1 AND version_number < 3", true],
    ["version_number >= 2 AND version_number <= 2", true],
    ["version_number > 2", false],
    ["version_number < 10", true],
    ["name = 'm' AND tags.k = 'v'", true],
    ["tags.missing != 'v'", false],
  ])("%j is %s", (filter, expected) => {
    expect(rowMatches(parseFilter(filter, VERSION_FILTER), row)).toBe(expected);
  });

  it("never matches a field the row lacks (a version without a run), != and IN included", () => {
    const noRun = { ...row, fields: { ...row.fields, run_id: null } };
    for (const filter of ["run_id != 'x'", "run_id IN ('x')", "run_id LIKE '%'"])
      expect(rowMatches(parseFilter(filter, VERSION_FILTER), noRun), filter).toBe(false);
  });

  it("narrows only by = comparisons the database can hold", () => {
    const comparisons = parseFilter(
      "run_id = 'r' AND name != 'n' AND run_id IN ('a') AND source_path = '\u0000' AND tags.k = 'v'",
      VERSION_FILTER,
    );
    expect(storableEqualities(comparisons)).toEqual([
      { on: "run_id", op: "=", value: "r" },
      { on: "tag", key: "k", op: "=", value: "v" },
    ]);
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
