// Values go into batched PostgreSQL statements as literals (src/db/sql.ts, inlineParams and the
// EXECUTE arguments of src/db/preparedStatements.ts): quoteLiteral must write exactly what pg's own
// escapeLiteral writes for every text, or a value would be read back changed (or escape its quotes).
import { escapeLiteral } from "pg";
import { describe, expect, it } from "vitest";
import { quoteLiteral } from "../../src/db/sql.ts";
import { seededRandom } from "../support/random.ts";

describe("quoteLiteral", () => {
  it("writes quotes, backslashes and everything else as pg's escapeLiteral does", () => {
    for (const text of [
      "",
      "plain",
      "it's",
      "''",
      "\\",
      "a\\'b",
      "\\x00ff",
      "é'\\ \n\t\u2028😀",
      "E'x'",
      "$1 ? ;",
    ])
      expect(quoteLiteral(text)).toBe(escapeLiteral(text));
  });

  it("agrees with it on 20,000 random texts over quotes, backslashes, controls and non-ASCII", () => {
    const rng = seededRandom(18);
    const alphabet = ["'", "\\", '"', "a", "Z", "0", " ", "\n", "\u0001", "é", "😀", "$", "?", ";", "E"];
    for (let i = 0; i < 20_000; i++) {
      const text = Array.from({ length: rng.int(0, 24) }, () => rng.pick(alphabet)).join("");
      expect(quoteLiteral(text)).toBe(escapeLiteral(text));
    }
  });
});
