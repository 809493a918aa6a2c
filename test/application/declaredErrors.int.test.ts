// Commands run through the application can fail in more ways than their rules know: a model that
// does not exist or that the caller cannot read, a caller without the permission, a stale expected
// revision, a name another model holds. Each command declares all of them (commandErrors, which
// GraphQL result unions are built from); a long hostile random run must stay inside them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { commandDeps } from "../support/application.ts";
import { COMMAND_TYPES } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";

describe.each(await providers())("declared command errors on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = commandDeps(t.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a hostile random run returns only errors its commands declare", { timeout: 120_000 }, async () => {
    const stats = await runRandomCommands(deps, seededRandom(10), 2000, "h", { hostile: true });
    // The run must reach the failures the application adds, across the commands, for this to mean anything.
    const types = COMMAND_TYPES;
    const reaching = (error: string) => types.filter((type) => stats.refusedBy[type]?.[error] !== undefined);
    expect(types.filter((type) => stats.refusedBy[type] === undefined)).toEqual([]);
    expect(reaching("PermissionDeniedError").length).toBeGreaterThanOrEqual(20);
    expect(reaching("ConcurrencyError").length).toBeGreaterThanOrEqual(20);
    expect(reaching("NotFoundError").length).toBeGreaterThanOrEqual(20);
    expect(reaching("ValidationError").length).toBeGreaterThanOrEqual(20);
    expect(reaching("AlreadyExistsError")).toEqual(
      expect.arrayContaining(["CreateRegisteredModel", "RenameRegisteredModel", "RestoreRegisteredModel"]),
    );
    expect(reaching("UnsafeArtifactError")).not.toEqual([]);
    expect(stats.accepted).toBeGreaterThan(300);
  });
});
