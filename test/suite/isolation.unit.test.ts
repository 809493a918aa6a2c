// The tiers share each worker's imports between test files (vitest.config.ts): a file that replaces
// a module with vi.mock would hand its replacement to every file after it in that worker, or find
// the real module already loaded and test nothing. Such files must be listed to run isolated.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MODULE_MOCKING_FILES } from "../../vitest.config.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Every TypeScript file under test/, as a path from the repository's root. */
function testFiles(): string[] {
  return readdirSync(path.join(ROOT, "test"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.posix.join("test", file.split(path.sep).join("/")));
}

/** A call that replaces a module for the whole file (this file names some in its own checks). */
const MOCKS_A_MODULE = /\bvi\s*\.\s*(?:mock|doMock|unmock|doUnmock)\s*[<(]/;
const SELF = "test/suite/isolation.unit.test.ts";

describe("test isolation", () => {
  it("runs every file that mocks a module isolated, and lists no other", () => {
    const mocking = testFiles().filter(
      (file) => file !== SELF && MOCKS_A_MODULE.test(readFileSync(path.join(ROOT, file), "utf8")),
    );
    expect(mocking.sort()).toEqual([...MODULE_MOCKING_FILES].sort());
  });

  it("recognises a module mock and nothing else", () => {
    expect(MOCKS_A_MODULE.test(`vi.mock("../../src/http/hostCheck.ts", async () => ({}));`)).toBe(true);
    expect(MOCKS_A_MODULE.test(`vi.doMock("./x.ts")`)).toBe(true);
    expect(MOCKS_A_MODULE.test(`vi.mock<typeof import("./x.ts")>("./x.ts")`)).toBe(true);
    expect(MOCKS_A_MODULE.test(`vi.spyOn(console, "error")`)).toBe(false);
    expect(MOCKS_A_MODULE.test(`vi.fn().mockImplementation(() => 1)`)).toBe(false);
  });
});
