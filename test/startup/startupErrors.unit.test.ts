// Start-up errors, whatever shape the driver gave them, become one readable line.
import { describe, expect, it } from "vitest";
import { StartupError, describeStartupError } from "../../src/startupErrors.ts";

const systemError = (code: string, fields: Record<string, unknown>) =>
  Object.assign(new Error(`${code} something`), { code, ...fields });

describe("describeStartupError", () => {
  it("keeps messages already worded for the operator", () => {
    expect(describeStartupError(new StartupError("DATA_DIR /x is a file, not a folder."))).toBe(
      "DATA_DIR /x is a file, not a folder.",
    );
  });

  it("explains a refused connection, even as an AggregateError without a message", () => {
    const refused = new AggregateError(
      [
        systemError("ECONNREFUSED", { address: "::1", port: 5432, syscall: "connect" }),
        systemError("ECONNREFUSED", { address: "127.0.0.1", port: 5432, syscall: "connect" }),
      ],
      "",
    );
    expect(describeStartupError(refused)).toBe(
      "cannot reach PostgreSQL at ::1:5432: connection refused. Is the server running, and are host and port in DATABASE_URL right?",
    );
  });

  it("names the port that is taken", () => {
    const inUse = systemError("EADDRINUSE", { address: "127.0.0.1", port: 4000, syscall: "listen" });
    expect(describeStartupError(inUse)).toMatch(/^cannot listen on 127\.0\.0\.1:4000: .*set PORT/i);
  });

  it("gives PostgreSQL's SQLSTATE and message, with advice for a refused login", () => {
    const denied = Object.assign(new Error('password authentication failed for user "app"'), {
      code: "28P01",
      severity: "FATAL",
    });
    expect(describeStartupError(denied)).toBe(
      'PostgreSQL refused the login: password authentication failed for user "app". Check the user and password in DATABASE_URL.',
    );
  });

  it("cuts a Prisma error down to what went wrong, without the code frame", () => {
    const prisma = Object.assign(
      new Error(
        "\nInvalid `db.event.findFirst()` invocation in\n/srv/registro/src/store/eventStore.ts:175:31\n\n" +
          "  172 }\n  173 \n  174 export async function lastPosition(db: Db): Promise<number> {\n" +
          "→ 175   const last = await db.event.findFirst(\nThe table `main.events` does not exist in the current database.",
      ),
      { code: "P2021" },
    );
    prisma.name = "PrismaClientKnownRequestError";
    expect(describeStartupError(prisma)).toBe(
      "database error (Prisma P2021): The table `main.events` does not exist in the current database.",
    );
  });

  it("never returns a multi-page dump, nor an empty line", () => {
    const dump = new Error(`first line\n${"x".repeat(10_000)}\nmore`);
    expect(describeStartupError(dump)).toBe("first line");
    const long = describeStartupError(new Error("y".repeat(10_000)));
    expect(long.length).toBeLessThanOrEqual(600);
    expect(describeStartupError(Object.assign(new Error(""), { code: "EIO" }))).toBe("EIO");
    expect(describeStartupError("plain string")).toBe("plain string");
  });
});
