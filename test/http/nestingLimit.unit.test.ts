// The pre-parse nesting scan: brackets count only outside strings, block strings and comments, and
// the scan stays linear on the inputs that make naive scanners (and the recursive parser) fail.
import { describe, expect, it } from "vitest";
import { bracketNesting } from "../../src/http/nestingLimit.ts";

describe("bracketNesting", () => {
  it("measures the deepest nesting of selections, lists and input objects", () => {
    expect(bracketNesting("{ a }")).toBe(1);
    expect(bracketNesting("query($x: [[Int]]) { a(b: { c: [1] }) { d } }")).toBe(4);
    expect(bracketNesting("{ a { b { c } } } { d }")).toBe(3);
    expect(bracketNesting("{ " + "a { ".repeat(5000))).toBe(5001);
  });

  it("ignores brackets inside strings, block strings and comments", () => {
    expect(bracketNesting('{ a(s: "{{{{[[[((") }')).toBe(2);
    expect(bracketNesting('{ a(s: "escaped \\" {{{") }')).toBe(2);
    expect(bracketNesting('{ a(s: """ {{{ \\""" {{{ """) }')).toBe(2);
    expect(bracketNesting("{ a # {{{{{{\n }")).toBe(1);
  });

  it("survives unterminated strings, block strings and comments", () => {
    expect(bracketNesting('{ a(s: "{{{')).toBe(2);
    expect(bracketNesting('{ """' + "\\".repeat(100_000))).toBe(1);
    expect(bracketNesting("# " + "{".repeat(100_000))).toBe(0);
    expect(bracketNesting('"' + "\\".repeat(100_001))).toBe(0);
  });

  it("never goes below zero on stray closing brackets", () => {
    expect(bracketNesting("}}}} { a }")).toBe(1);
  });
});
