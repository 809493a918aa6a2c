// The bound on what a result serialises to: its length measured without serialising, exactly for
// text without escapes, and a result past the limit answered by one error.
import { describe, expect, it } from "vitest";
import {
  MAX_RESPONSE_CHARS,
  exceedsResponseSize,
  jsonLength,
  responseTooLarge,
} from "../../src/graphql/responseSizeBound.ts";
import { seededRandom } from "../support/random.ts";
import type { Random } from "../support/random.ts";

/** A result-shaped value: objects (some without a prototype, as graphql-js builds them), lists, scalars. */
function randomValue(random: Random, depth: number): unknown {
  const kind = random.int(0, depth > 4 ? 4 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([
        0,
        7,
        10,
        99,
        100,
        999_999_999,
        1e9,
        -1,
        3.25,
        1e21,
        2 ** 53 - 1,
        -0.000001,
        NaN,
        Infinity,
      ]);
    case 3:
      return "é✓x".repeat(random.int(0, 5)) + "abc".slice(0, random.int(0, 3));
    case 4:
      // What JSON escapes, and what it writes as is: quotes, backslashes, controls, a pair, lone halves.
      return Array.from({ length: random.int(0, 8) }, () =>
        random.pick([
          '"',
          "\\",
          "\n",
          "\t",
          "\u0001",
          "\u001f",
          "\u007f",
          "😀",
          "\ud800",
          "\udc00",
          "x",
          "\u2028",
        ]),
      ).join("");
    case 5:
      return Array.from({ length: random.int(0, 4) }, () => randomValue(random, depth + 1));
    default: {
      const record: Record<string, unknown> = random.chance(0.5) ? Object.create(null) : {};
      for (let i = random.int(0, 4); i > 0; i--)
        record[`k${i}`.repeat(random.int(1, 3))] = randomValue(random, depth + 1);
      return record;
    }
  }
}

describe("jsonLength", () => {
  it("is JSON.stringify's length for text that needs no escapes", () => {
    const random = seededRandom(18);
    for (let i = 0; i < 2_000; i++) {
      const value = randomValue(random, 0);
      expect(jsonLength(value, Number.MAX_SAFE_INTEGER), JSON.stringify(value)).toBe(
        JSON.stringify(value).length,
      );
    }
  });

  it("leaves out what JSON leaves out, and counts escapes as JSON writes them", () => {
    const left = { a: undefined, b: 1, c: () => 1, d: [undefined], e: {} };
    expect(jsonLength(left, 1_000)).toBe(JSON.stringify(left).length);
    // A control character is six characters of JSON: a string of them passed the bound at a sixth.
    const controls = "\u0001".repeat(5_000);
    expect(jsonLength(controls, Number.MAX_SAFE_INTEGER)).toBe(JSON.stringify(controls).length);
    expect(jsonLength(controls, Number.MAX_SAFE_INTEGER)).toBe(30_002);
    // Repeated, it is measured once and counted every time.
    const repeated = Array.from({ length: 1_000 }, () => ({ value: controls }));
    expect(jsonLength(repeated, Number.MAX_SAFE_INTEGER)).toBe(JSON.stringify(repeated).length);
  });

  it("stops counting once past the budget, without walking the rest", () => {
    let walked = 0;
    const items = Array.from({ length: 1_000 }, () => ({
      get value() {
        walked++;
        return "x".repeat(100);
      },
    }));
    const length = jsonLength(items, 1_000);
    expect(length).toBeGreaterThan(1_000);
    expect(walked).toBeLessThan(12);
  });
});

describe("the response bound", () => {
  // A list repeating one long string: the result holds it once, its JSON a thousand times.
  const shared = "x".repeat(100_000);
  const result = { data: { aliases: Array.from({ length: 1_000 }, () => ({ description: shared })) } };

  it(`passes a result of ${MAX_RESPONSE_CHARS} characters or fewer, and the errors-only result`, () => {
    expect(exceedsResponseSize(result)).toBe(true);
    expect(exceedsResponseSize(result, 200_000_000)).toBe(false);
    expect(exceedsResponseSize({ errors: [] })).toBe(false);
    expect(exceedsResponseSize({ data: null })).toBe(false);
    const exact = { data: { a: "x".repeat(100) } };
    const length = JSON.stringify(exact.data).length;
    expect(exceedsResponseSize(exact, length)).toBe(false);
    expect(exceedsResponseSize(exact, length - 1)).toBe(true);
  });

  it("answers one error with the limit, a status for a query, and a mutation's change said to be made", () => {
    const query = responseTooLarge("query", 10);
    expect(query.data).toBeUndefined();
    expect(query.errors?.map((e) => e.extensions)).toEqual([
      { code: "RESPONSE_TOO_LARGE", limit: 10, http: { status: 400 } },
    ]);
    expect(responseTooLarge("event", 10).errors?.map((e) => e.extensions)).toEqual([
      { code: "RESPONSE_TOO_LARGE", limit: 10 },
    ]);
    expect(responseTooLarge("mutation", 10).errors?.[0]?.message).toMatch(/^The mutation was applied/);
  });
});
