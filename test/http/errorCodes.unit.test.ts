// One list of error codes: every code the source can send is in ERROR_CODES, and docs/errors.md
// documents exactly that list. The classification of uncoded GraphQL errors is checked here too.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { CSRF_MESSAGE } from "../../src/http/csrfPrevention.ts";
import { withErrorCode } from "../../src/http/errorCodePlugin.ts";
import { ERROR_CODES, isErrorCode } from "../../src/http/errorCodes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.includes(`${path.sep}generated${path.sep}`));
}

// `code: "X"`, `code = "X"`, `code ||= "X"` and the subscription helper's `badInput(…, "X")`.
const CODE_LITERAL =
  /\bcode\s*(?::|=|\|\|=)\s*["']([A-Z][A-Z0-9_]*)["']|badInput\([^;]*?,\s*["']([A-Z][A-Z0-9_]*)["']\)/g;

describe("the error code list", () => {
  it("holds every code the source sends", () => {
    const unlisted: string[] = [];
    const seen = new Set<string>();
    // The registro command line is a client: its own codes (USAGE, INTERRUPTED, …) are listed in
    // docs/cli.md, never sent by the server.
    const serverFiles = sourceFiles(path.join(ROOT, "src")).filter(
      (file) => !file.includes(`${path.sep}registroCli${path.sep}`),
    );
    for (const file of serverFiles) {
      for (const match of readFileSync(file, "utf8").matchAll(CODE_LITERAL)) {
        const code = match[1] ?? match[2]!;
        seen.add(code);
        if (!isErrorCode(code)) unlisted.push(`${code} (${path.relative(ROOT, file)})`);
      }
    }
    expect(unlisted).toEqual([]);
    // The scan finds codes at all (a broken pattern would pass the check above vacuously).
    expect(seen).toContain("INVALID_CURSOR");
    expect(seen).toContain("NOT_FOUND");
  });

  it("is exactly what docs/errors.md documents", () => {
    const documented = [
      ...readFileSync(path.join(ROOT, "docs/errors.md"), "utf8").matchAll(/^\| `([A-Z_]+)`/gm),
    ].map((m) => m[1]);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});

describe("withErrorCode", () => {
  const code = (error: GraphQLError) => withErrorCode(error).extensions.code;

  it("keeps codes from the list, and the error itself", () => {
    const error = new GraphQLError("bad cursor", { extensions: { code: "INVALID_CURSOR" } });
    expect(withErrorCode(error)).toBe(error);
  });

  it("renames Yoga's codes where the list has a more precise one", () => {
    expect(
      code(new GraphQLError("Request body too large", { extensions: { code: "REQUEST_ENTITY_TOO_LARGE" } })),
    ).toBe("PAYLOAD_TOO_LARGE");
    const viaGet = new GraphQLError("Can only perform a mutation operation from a POST request.", {
      extensions: { code: "BAD_REQUEST", http: { status: 405, headers: { Allow: "POST" } } },
    });
    const renamed = withErrorCode(viaGet);
    expect(renamed.extensions.code).toBe("METHOD_NOT_ALLOWED");
    // The HTTP status and headers still reach Yoga's response.
    expect(renamed.extensions.http).toEqual({ status: 405, headers: { Allow: "POST" } });
  });

  it("names the header a CSRF refusal needs", () => {
    const refused = withErrorCode(
      new GraphQLError("Required CSRF header(s) not present", { extensions: { http: { status: 403 } } }),
    );
    expect(refused.extensions.code).toBe("CSRF_HEADER_REQUIRED");
    expect(refused.message).toBe(CSRF_MESSAGE);
  });

  it("classifies uncoded errors: variable values, other client errors, the rest as internal", () => {
    expect(code(new GraphQLError('Variable "$n" got invalid value "x"; Int cannot represent'))).toBe(
      "BAD_USER_INPUT",
    );
    expect(code(new GraphQLError("odd request", { extensions: { http: { status: 400 } } }))).toBe(
      "BAD_REQUEST",
    );
    expect(code(new GraphQLError("a code nobody listed", { extensions: { code: "WHATEVER" } }))).toBe(
      "INTERNAL_SERVER_ERROR",
    );
    const cause = new Error("connection refused");
    const internal = withErrorCode(new GraphQLError("connection refused", { originalError: cause }));
    expect(internal.extensions.code).toBe("INTERNAL_SERVER_ERROR");
    // Masking recognises an unexpected error by its original error: it must survive.
    expect(internal.originalError).toBe(cause);
  });
});
