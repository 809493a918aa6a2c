import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { lastPosition } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";

describe.each(await providers())("rebuildProjections on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    let tick = Date.parse("2026-02-01T00:00:00Z");
    deps = { ...commandDeps(t.db), clock: () => new Date((tick += 1000)) };
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The schema's objects with their definitions. */
  const schemaObjects = () =>
    t.db.query(
      provider === "sqlite"
        ? "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"
        : `SELECT c.relname AS name, c.relkind AS kind, CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) END AS index FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() ORDER BY c.relname`,
    );

  it("rebuilds an empty database", async () => {
    expect(await rebuildProjections(t.db)).toEqual({ streams: 0, events: 0, skippedEvents: 0, breaks: [] });
    expect(await t.db.reader.registeredModel.count()).toBe(0);
  });

  it(
    "reproduces exactly what 600 random commands projected inline, even from damaged projections",
    { timeout: 120_000 },
    async () => {
      const stats = await runRandomCommands(deps, seededRandom(2026), 600);
      // The sequence must reach the interesting paths, including refusals, for the comparison to mean anything.
      expect(stats.accepted).toBeGreaterThan(200);
      expect(Object.keys(stats.refused)).toEqual(
        expect.arrayContaining([
          "AlreadyExistsError",
          "NotFoundError",
          "ValidationError",
          "InvalidStateError",
        ]),
      );
      expect(stats.eventTypes).toMatchObject({
        RegisteredModelRenamed: expect.any(Number),
        RegisteredModelDeleted: expect.any(Number),
        RegisteredModelRestored: expect.any(Number),
        RegisteredModelAliasSet: expect.any(Number),
        ModelVersionDeleted: expect.any(Number),
        ModelVersionRestored: expect.any(Number),
        ModelVersionTagSet: expect.any(Number),
        ModelVersionMetricsLogged: expect.any(Number),
        ModelVersionArtifactAdded: expect.any(Number),
        ModelVersionFinalized: expect.any(Number),
      });

      const inline = await dumpProjections(t.db.reader);
      expect(inline.modelVersions!.some((v) => v.stage === "Archived")).toBe(true);
      expect(inline.modelAliases!.length).toBeGreaterThan(0);
      expect(inline.modelVersionMetrics!.map((m) => m.key)).toEqual(expect.arrayContaining(["auc", "f1"]));
      expect(inline.modelVersionArtifacts!.length).toBeGreaterThan(0);
      expect(inline.registeredModels!.some((m) => m.deleted === true)).toBe(true);
      // Review requests (src/reviews/) in several outcomes, and policies on the model rows.
      const statuses = new Set(inline.reviewRequests!.map((r) => r.status));
      expect(statuses.size, JSON.stringify([...statuses])).toBeGreaterThanOrEqual(1);
      expect(inline.registeredModels!.some((m) => m.reviewPolicy !== null)).toBe(true);
      const eventCount = await t.db.reader.event.count();
      const streamCount = (await t.db.reader.event.groupBy({ by: ["streamId"] })).length;
      const position = await lastPosition(t.db.reader);
      const schema = await schemaObjects();

      // Damage every projection table, so a rebuild that did nothing would be caught.
      await t.db.write(async (tx) => {
        await tx.execute("DELETE FROM model_aliases");
        await tx.execute("UPDATE review_requests SET status = ?, approvals = ?", ["OPEN", "[]"]);
        await tx.execute("DELETE FROM review_requests WHERE version = ?", [1]);
        await tx.execute("UPDATE registered_models SET review_policy = ?", [null]);
        await tx.execute("DELETE FROM model_version_artifacts WHERE path = ?", ["model.bin"]);
        await tx.execute("DELETE FROM model_version_tags WHERE key = ?", ["framework"]);
        await tx.execute("DELETE FROM model_version_metrics WHERE key = ?", ["auc"]);
        await tx.execute("UPDATE model_version_metrics SET value = ?", [-1]);
        await tx.execute("UPDATE model_versions SET created_by = ?", ["someone-else"]);
        await tx.execute("UPDATE model_versions SET stage = ?, description = ?", ["None", "tampered"]);
        await tx.execute("INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)", [
          inline.registeredModels![0]!.id as string,
          "stray",
          "x",
        ]);
        await tx.execute("UPDATE registered_models SET revision = ?, last_version = ?", [0, 0]);
      });
      expect(await dumpProjections(t.db.reader)).not.toEqual(inline);

      expect(await rebuildProjections(t.db)).toEqual({
        streams: streamCount,
        events: eventCount,
        skippedEvents: 0,
        breaks: [],
      });
      expect(await dumpProjections(t.db.reader)).toEqual(inline);
      // The swap puts back every table, view, index and trigger as it was (on SQLite `model_versions`
      // is a view with INSTEAD OF triggers, created again by the swap).
      expect(await schemaObjects()).toEqual(schema);
      // The log is untouched.
      expect(await t.db.reader.event.count()).toBe(eventCount);
      expect(await lastPosition(t.db.reader)).toBe(position);
    },
  );

  it("rebuilds the artifacts of versions registered with artifacts", async () => {
    await createModelNamed(deps, "with-artifacts", "with-artifacts");
    await run(deps, live("with-artifacts"), createVersion({ pendingArtifacts: true }));
    for (const path of ["model.onnx", "tokenizer/vocab.txt"]) {
      await run(deps, live("with-artifacts"), {
        type: "AddModelVersionArtifact",
        data: {
          version: 1,
          path,
          role: "other",
          size: 12,
          sha256: "b".repeat(64),
          mediaType: "application/octet-stream",
        },
      });
    }
    await run(deps, live("with-artifacts"), { type: "FinalizeModelVersion", data: { version: 1 } });
    const inline = await dumpProjections(t.db.reader);
    expect(
      inline.modelVersionArtifacts!.filter((a) => a.modelId === "with-artifacts" && a.version === 1),
    ).toHaveLength(2);

    await t.db.write((tx) => tx.execute("DELETE FROM model_version_artifacts"));
    await rebuildProjections(t.db);
    expect(await dumpProjections(t.db.reader)).toEqual(inline);
  });

  it("leaves the database ready for further commands (decision state comes from projections)", async () => {
    await createModelNamed(deps, "after-rebuild", "after-rebuild");
    await run(deps, live("after-rebuild"), createVersion());
    await run(deps, live("after-rebuild"), { type: "DeleteModelVersion", data: { version: 1 } });
    await rebuildProjections(t.db);
    const next = await run(deps, live("after-rebuild"), createVersion());
    expect(next.events[0]).toMatchObject({ data: { version: 2 } });
    const before = await dumpProjections(t.db.reader);
    await rebuildProjections(t.db);
    expect(await dumpProjections(t.db.reader)).toEqual(before);
  });
});
