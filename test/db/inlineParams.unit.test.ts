// Statements sent in one round trip on PostgreSQL carry their values as literals: each kind of value
// must come out as the literal PostgreSQL reads back as that same value.
import { escapeLiteral } from "pg";
import { describe, expect, it } from "vitest";
import { inlineParams } from "../../src/db/sql.ts";

describe("inlineParams", () => {
  it("writes bytes in PostgreSQL's hex form, not as their UTF-8 text", () => {
    const sql = inlineParams(
      "INSERT INTO t (h) VALUES (?)",
      [Buffer.from([0x00, 0xff, 0x27, 0x5c])],
      escapeLiteral,
    );
    expect(sql).toBe(String.raw`INSERT INTO t (h) VALUES ( E'\\x00ff275c'::bytea)`);
  });

  it("quotes text, numbers, booleans and dates, and writes NULL for null", () => {
    const at = new Date("2026-12-04T10:00:00.000Z");
    const sql = inlineParams("SELECT ?, ?, ?, ?, ?", ["it's ?", 3, true, at, null], escapeLiteral);
    expect(sql).toBe("SELECT 'it''s ?', '3', 'true', '2026-12-04T10:00:00.000Z', NULL");
  });

  it("refuses a parameter count that does not match the placeholders", () => {
    expect(() => inlineParams("SELECT ?, ?", [1], escapeLiteral)).toThrow(/fewer parameters/);
    expect(() => inlineParams("SELECT ?", [1, 2], escapeLiteral)).toThrow(/more parameters/);
  });
});
