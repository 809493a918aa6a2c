// Concurrent clients on the same few models. On SQLite many of their commands run in one
// transaction (group commit), each after another on its stream, deciding on the views the one
// before it left (src/application/transactionViews.ts) and chaining onto the head it appended
// (src/store/ownHeads.ts); on PostgreSQL they take turns per stream in the instance
// (src/application/streamStateCache.ts). Either way, what they projected inline must be exactly
// what a rebuild from the log projects, and every chain must hold.
import { describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { Database } from "../../src/db/database.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion, transition } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";

/** `db`, but the `failing`-th write from now throws once its work has run (its writes are undone). */
function failingWrite(db: Database, failing: number): Database {
  let writes = 0;
  const write: Database["write"] = (work, options) =>
    db.write(async (tx) => {
      const result = await work(tx);
      if (++writes === failing) throw new Error("lost after writing");
      return result;
    }, options);
  return Object.assign(Object.create(db) as Database, { write });
}

describe.each(await providers())("concurrent commands on shared models on %s", (provider) => {
  it("decide each command of a group on what the one before it left, never on a write undone", async () => {
    const t = await openTestDatabase(provider);
    try {
      const deps = commandDeps(t.db);
      await createModelNamed(deps, "grouped", "grouped");
      await run(deps, live("grouped"), createVersion());
      await run(deps, live("grouped"), createVersion());
      // Sent in one tick: on SQLite one transaction, each command in its savepoint; the fifth
      // write (on SQLite a new version, 4) is undone after it ran, so the next creation is 4 again.
      const failing: CommandDeps = { ...deps, db: failingWrite(t.db, 5) };
      const commands: RegisteredModelCommand[] = [
        createVersion(),
        { type: "SetModelVersionTag", data: { version: 1, key: "team", value: "vision" } },
        { type: "LogModelVersionMetrics", data: { version: 3, metrics: [{ key: "auc", value: 0.91 }] } },
        transition(1, "Staging"),
        createVersion(),
        createVersion(),
        { type: "UpdateModelVersion", data: { version: 2, description: "second" } },
        { type: "SetModelVersionTag", data: { version: 1, key: "team", value: "speech" } },
        createVersion(),
        { type: "SetRegisteredModelTag", data: { key: "owner", value: "ml" } },
      ];
      const outcomes = await Promise.allSettled(
        commands.map((command) => executeCommand(failing, live("grouped"), command, actor)),
      );
      const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
      expect(failed).toEqual(["Error: lost after writing"]);
      const inline = await dumpProjections(t.db.reader);
      const created = outcomes.filter(
        (o, i) => o.status === "fulfilled" && commands[i]!.type === "CreateModelVersion",
      );
      const versions = inline.modelVersions!.filter((v) => v.modelId === "grouped").map((v) => v.version);
      expect(versions.sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 2 + created.length }, (_, i) => i + 1),
      );
      if (provider === "sqlite") {
        // One transaction, in the order sent: the fifth command is the one undone.
        expect(outcomes[4]!.status).toBe("rejected");
        // In order, none retried: each decided on exactly what the one before it left (a command
        // deciding on the undone write's views would fail its append and commit later, retried).
        const revisions = outcomes.flatMap((o) =>
          o.status === "fulfilled" && !(o.value instanceof Error)
            ? o.value.events.map((e) => e.revision)
            : [],
        );
        expect(revisions).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
        expect(inline.modelVersionTags!.filter((tag) => tag.key === "team").map((tag) => tag.value)).toEqual([
          "speech",
        ]);
      }
      expect(await rebuildProjections(t.db)).toMatchObject({ breaks: [], skippedEvents: 0 });
      expect(await dumpProjections(t.db.reader)).toEqual(inline);
      expect((await verifyChains(t.db)).ok).toBe(true);
    } finally {
      await t.close();
    }
  });

  it(
    "project exactly what a rebuild from the log projects, hostile commands included",
    { timeout: 180_000 },
    async () => {
      const t = await openTestDatabase(provider);
      try {
        let tick = Date.parse("2026-03-01T00:00:00Z");
        const deps = { ...commandDeps(t.db), clock: () => new Date((tick += 1000)) };
        // Four clients at once, over the same model names (the prefix), two of them hostile.
        const runs = await Promise.all(
          [1, 2, 3, 4].map((lane) =>
            runRandomCommands(deps, seededRandom(700 + lane), 200, "m", { hostile: lane % 2 === 0 }),
          ),
        );
        expect(runs.reduce((sum, run) => sum + run.accepted, 0)).toBeGreaterThan(200);
        const inline = await dumpProjections(t.db.reader);
        expect(inline.modelVersions!.length).toBeGreaterThan(20);
        const rebuilt = await rebuildProjections(t.db);
        expect(rebuilt.breaks).toEqual([]);
        expect(rebuilt.skippedEvents).toBe(0);
        expect(await dumpProjections(t.db.reader)).toEqual(inline);
        expect((await verifyChains(t.db)).ok).toBe(true);
      } finally {
        await t.close();
      }
    },
  );
});
