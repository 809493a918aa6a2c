// Every input rule, at its boundary, with the offending field named. Checked through the commands
// that use them (so a rule that is defined but not applied fails here) and directly.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/domain/errors.ts";
import {
  storablePrefix,
  checkAlias,
  checkMetrics,
  checkModelName,
  checkParams,
  checkTagKey,
  checkTagValue,
  checkTags,
  checkVersionNumber,
  firstError,
} from "../../src/domain/validation.ts";
import { createModel, createVersion } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { modelCreated } from "../support/events.ts";

const rename = (newName: string) => ({ type: "RenameRegisteredModel" as const, data: { newName } });
const setTag = (key: string, value: string) => ({
  type: "SetRegisteredModelTag" as const,
  data: { key, value },
});

describe("model names", () => {
  it.each([
    ["empty", ""],
    ["257 characters", "n".repeat(257)],
    ["a slash", "team/model"],
    ["NUL", "a\u0000b"],
    ["a newline", "a\nb"],
    ["unit separator", "a\u001fb"],
    ["DEL", "a\u007fb"],
    ["a C1 control", "a\u0085b"],
    ["leading white space", " a"],
    ["trailing white space", "a\t"],
  ])("refuses %s, on create (name) and rename (newName)", (_what, name) => {
    given([]).when(createModel(name)).then(ValidationError, { field: "name" });
    given([modelCreated()]).when(rename(name)).then(ValidationError, { field: "newName" });
  });

  it.each([
    ["1 character", "a"],
    ["256 characters", "n".repeat(256)],
    ["inner spaces, dots, unicode", "Fraud detector v2.1 — ünïcødé"],
  ])("accepts %s", (_what, name) => {
    given([])
      .when(createModel(name))
      .then([expect.objectContaining({ type: "RegisteredModelCreated" })]);
  });
});

describe("tags", () => {
  it("keys are 1 to 250 characters without control characters", () => {
    given([modelCreated()]).when(setTag("", "v")).then(ValidationError, { field: "key" });
    given([modelCreated()])
      .when(setTag("k".repeat(251), "v"))
      .then(ValidationError, { field: "key" });
    given([modelCreated()]).when(setTag("a\u0001", "v")).then(ValidationError, { field: "key" });
    given([modelCreated()])
      .when(setTag("k".repeat(250), "v"))
      .then([{ type: "RegisteredModelTagSet", data: { key: "k".repeat(250), value: "v" } }]);
  });

  it("values are at most 5000 characters, empty allowed", () => {
    given([modelCreated()])
      .when(setTag("k", "v".repeat(5001)))
      .then(ValidationError, { field: "value" });
    given([modelCreated()])
      .when(setTag("k", "v".repeat(5000)))
      .then([expect.objectContaining({ type: "RegisteredModelTagSet" })]);
    given([modelCreated()])
      .when(setTag("k", ""))
      .then([{ type: "RegisteredModelTagSet", data: { key: "k", value: "" } }]);
  });

  it("lists name the offending index and refuse duplicates and more than 100 tags", () => {
    expect(
      checkTags("tags", [
        { key: "a", value: "" },
        { key: "", value: "" },
      ])?.field,
    ).toBe("tags.1.key");
    expect(checkTags("tags", [{ key: "a", value: "x".repeat(5001) }])?.field).toBe("tags.0.value");
    expect(
      checkTags("tags", [
        { key: "a", value: "1" },
        { key: "a", value: "2" },
      ])?.field,
    ).toBe("tags.1.key");
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: "" }));
    expect(checkTags("tags", many(100))).toBeNull();
    expect(checkTags("tags", many(101))?.field).toBe("tags");
    given([modelCreated()])
      .when(createVersion({ tags: many(101) }))
      .then(ValidationError, { field: "tags" });
  });
});

describe("aliases", () => {
  it("follow ^[A-Za-z_][A-Za-z0-9_-]{0,254}$ and avoid latest / v<number>", () => {
    expect(checkAlias("alias", "champion")).toBeNull();
    expect(checkAlias("alias", "a".repeat(255))).toBeNull();
    expect(checkAlias("alias", "a".repeat(256))?.field).toBe("alias");
    expect(checkAlias("alias", "9lives")?.field).toBe("alias");
    expect(checkAlias("alias", "latest")?.message).toContain("reserved");
    expect(checkAlias("alias", "v007")?.message).toContain("reserved");
    expect(checkAlias("alias", "v")).toBeNull();
  });
});

describe("metrics", () => {
  it("are finite numbers with 1-250 character unique names, at most 1000 at once", () => {
    expect(
      checkMetrics("metrics", [
        { key: "auc", value: 0 },
        { key: "neg", value: -1e300 },
      ]),
    ).toBeNull();
    expect(checkMetrics("metrics", [{ key: "auc", value: Number.NaN }])?.field).toBe("metrics.0.value");
    expect(checkMetrics("metrics", [{ key: "m".repeat(251), value: 1 }])?.field).toBe("metrics.0.key");
    expect(checkMetrics("metrics", [{ key: "m".repeat(250), value: 1 }])).toBeNull();
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `m${i}`, value: i }));
    expect(checkMetrics("metrics", many(1000))).toBeNull();
    expect(checkMetrics("metrics", many(1001))?.field).toBe("metrics");
    given([modelCreated()])
      .when(createVersion({ metrics: many(1001) }))
      .then(ValidationError, { field: "metrics" });
  });
});

describe("params", () => {
  it("are a JSON object of at most 256 KiB serialised", () => {
    expect(checkParams("params", { a: 1, nested: { b: [1, 2] } })).toBeNull();
    expect(checkParams("params", null)?.field).toBe("params");
    expect(checkParams("params", "text")?.field).toBe("params");
    expect(checkParams("params", [1])?.field).toBe("params");
    const exactly = { p: "x".repeat(256 * 1024 - '{"p":""}'.length) };
    expect(JSON.stringify(exactly).length).toBe(256 * 1024);
    expect(checkParams("params", exactly)).toBeNull();
    expect(checkParams("params", { p: `${exactly.p}x` })?.field).toBe("params");
  });
});

describe("small checks", () => {
  it("version numbers are positive integers a 32-bit column holds", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, 2 ** 31])
      expect(checkVersionNumber("version", bad)?.field).toBe("version");
    expect(checkVersionNumber("version", 1)).toBeNull();
    expect(checkVersionNumber("version", 2 ** 31 - 1)).toBeNull();
  });

  it("checks report their field in the error and firstError keeps order", () => {
    const error = checkModelName("input.name", "");
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.message).toBe("input.name: must be 1 to 256 characters");
    expect(checkTagKey("a", "")?.field).toBe("a");
    expect(checkTagValue("b", "x".repeat(5001))?.field).toBe("b");
    expect(firstError(null, checkTagKey("first", ""), checkTagKey("second", ""))?.field).toBe("first");
    expect(firstError(null, null)).toBeNull();
  });
});

describe("storable prefixes of text from outside", () => {
  it.each([
    ["short text, whole", "abc", 5, "abc"],
    ["cut at the bound", "abcdef", 4, "abcd"],
    ["never half of a pair", "abc\u{1f600}d", 4, "abc"],
    ["a pair that fits, whole", "ab\u{1f600}d", 4, "ab\u{1f600}"],
    ["NUL as U+FFFD", "a\u0000b\u0000", 10, "a\ufffdb\ufffd"],
    ["empty", "", 3, ""],
  ])("%s", (_, text, max, expected) => {
    expect(storablePrefix(text, max)).toBe(expected);
  });
});
