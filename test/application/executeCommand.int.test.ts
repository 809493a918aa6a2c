import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps, CommandOutcome } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { AlreadyExistsError, ConcurrencyError, DomainError, NotFoundError } from "../../src/domain/errors.ts";
import type { CommittedEvent } from "../../src/store/recordedEvent.ts";
import { readStream } from "../../src/store/eventStore.ts";
import { actor, commandDeps, createModelNamed, deletedModel, live, run } from "../support/application.ts";
import { userActor } from "../support/actors.ts";
import { createVersion, transition } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const rename = (newName: string) => ({ type: "RenameRegisteredModel" as const, data: { newName } });
const deleteModel = { type: "DeleteRegisteredModel" as const, data: {} };
const restoreModel = { type: "RestoreRegisteredModel" as const, data: {} };

describe.each(await providers())("executeCommand on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  const committed: CommittedEvent[][] = [];
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = { ...commandDeps(t.db), onCommitted: (events) => committed.push([...events]) };
  });
  afterAll(async () => {
    await t?.close();
  });

  it("creates a model, projects it inline and publishes the committed events", async () => {
    const outcome = await createModelNamed(deps, "id-create", "create-me");
    expect(outcome.modelId).toBe("id-create");
    expect(outcome.events.map((e) => [e.type, e.revision, e.actor])).toEqual([
      ["RegisteredModelCreated", 1, userActor("tester")],
    ]);
    expect(committed.at(-1)).toEqual(outcome.events);
    const row = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "id-create" } });
    expect(row).toMatchObject({ name: "create-me", revision: 1, deleted: false, createdBy: "tester" });
  });

  it("gives 20 concurrent CreateModelVersion commands on one model the versions 1..20, no gaps or duplicates", async () => {
    const { modelId } = await createModelNamed(deps, "id-concurrent", "concurrent");
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        executeCommand(deps, live("concurrent"), createVersion({ source: `s3://b/${i}` }), actor),
      ),
    );
    const numbers = outcomes.map((o) => {
      if (o instanceof DomainError) throw o;
      const [event] = o.events;
      if (event?.type !== "ModelVersionCreated") throw new Error(`unexpected ${event?.type}`);
      return event.data.version;
    });
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect([...numbers].sort((a, b) => a - b)).toEqual(oneToTwenty);

    const rows = await t.db.reader.modelVersion.findMany({ where: { modelId }, orderBy: { version: "asc" } });
    expect(rows.map((r) => r.version)).toEqual(oneToTwenty);
    expect(new Set(rows.map((r) => r.source)).size).toBe(20);
    const stream = await readStream(t.db.reader, modelId);
    expect(stream.map((e) => e.revision)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const model = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: modelId } });
    expect(model).toMatchObject({ revision: 21, lastVersion: 20 });
  });

  it("refuses a command pinned to a stale revision with the expected and actual revisions", async () => {
    const { modelId } = await createModelNamed(deps, "id-pinned", "pinned");
    await run(deps, live("pinned"), { type: "UpdateRegisteredModel", data: { description: "first" } }, 1);
    const stale = await executeCommand(
      deps,
      live("pinned"),
      { type: "UpdateRegisteredModel", data: { description: "lost update" } },
      actor,
      1,
    );
    expect(stale).toBeInstanceOf(ConcurrencyError);
    expect(stale).toMatchObject({ streamId: modelId, expectedRevision: 1, actualRevision: 2 });
    const row = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: modelId } });
    expect(row).toMatchObject({ description: "first", revision: 2 });
    expect(await readStream(t.db.reader, modelId)).toHaveLength(2);
  });

  it("lets exactly one of several concurrent creators of a name win; the others get AlreadyExistsError", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        executeCommand(
          deps,
          { kind: "new", modelId: `id-race-${i}` },
          {
            type: "CreateRegisteredModel",
            data: { modelId: `id-race-${i}`, name: "race", description: "", tags: [] },
          },
          actor,
        ),
      ),
    );
    const winners = outcomes.filter((o): o is CommandOutcome => !(o instanceof DomainError));
    const losers = outcomes.filter((o) => o instanceof DomainError);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(7);
    for (const loser of losers) {
      expect(loser).toBeInstanceOf(AlreadyExistsError);
      expect(loser).toMatchObject({ resource: "RegisteredModel", key: "race" });
    }
    const rows = await t.db.reader.registeredModel.findMany({ where: { name: "race" } });
    expect(rows.map((r) => r.id)).toEqual([winners[0]!.modelId]);
    const streams = await t.db.reader.event.findMany({
      where: { streamId: { startsWith: "id-race-" } },
      select: { streamId: true },
    });
    expect(streams.map((e) => e.streamId)).toEqual([winners[0]!.modelId]);
  });

  it("refuses to rename to a live model's name, but allows a deleted model's name", async () => {
    await createModelNamed(deps, "id-taken", "taken");
    await createModelNamed(deps, "id-renamer", "renamer");
    const refused = await executeCommand(deps, live("renamer"), rename("taken"), actor);
    expect(refused).toBeInstanceOf(AlreadyExistsError);
    expect(refused).toMatchObject({ resource: "RegisteredModel", key: "taken" });
    expect(
      await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "id-renamer" } }),
    ).toMatchObject({ name: "renamer", revision: 1 });

    await run(deps, live("taken"), deleteModel);
    await run(deps, live("renamer"), rename("taken"));
    expect(
      await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "id-renamer" } }),
    ).toMatchObject({ name: "taken", deleted: false });
  });

  it("refuses to restore a model whose name a live model took, until that one moves away", async () => {
    await createModelNamed(deps, "id-original", "contested");
    await run(deps, live("contested"), deleteModel);
    await createModelNamed(deps, "id-usurper", "contested");

    const refused = await executeCommand(deps, deletedModel("contested"), restoreModel, actor);
    expect(refused).toBeInstanceOf(AlreadyExistsError);
    expect(refused).toMatchObject({ resource: "RegisteredModel", key: "contested" });
    expect(
      await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "id-original" } }),
    ).toMatchObject({ deleted: true });

    await run(deps, live("contested"), rename("contested-new"));
    const restored = await run(deps, deletedModel("contested"), restoreModel);
    expect(restored.modelId).toBe("id-original");
    expect(
      await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "id-original" } }),
    ).toMatchObject({ name: "contested", deleted: false, deletedAt: null });
  });

  it("reports unknown models as NotFoundError and appends nothing for a refused command", async () => {
    const missing = await executeCommand(deps, live("nobody"), createVersion(), actor);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ resource: "RegisteredModel", key: "nobody" });

    const { modelId } = await createModelNamed(deps, "id-refused", "refused");
    const invalid = await executeCommand(deps, live("refused"), transition(1, "Production"), actor);
    expect(invalid).toBeInstanceOf(NotFoundError);
    expect(invalid).toMatchObject({ resource: "ModelVersion" });
    expect(await readStream(t.db.reader, modelId)).toHaveLength(1);
  });

  it("never reuses a deleted version's number", async () => {
    await createModelNamed(deps, "id-numbers", "numbers");
    await run(deps, live("numbers"), createVersion());
    await run(deps, live("numbers"), createVersion());
    await run(deps, live("numbers"), { type: "DeleteModelVersion", data: { version: 2 } });
    const third = await run(deps, live("numbers"), createVersion());
    expect(third.events[0]).toMatchObject({ type: "ModelVersionCreated", data: { version: 3 } });
    const rows = await t.db.reader.modelVersion.findMany({
      where: { modelId: "id-numbers" },
      orderBy: { version: "asc" },
    });
    expect(rows.map((r) => [r.version, r.deleted])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
  });

  it("archives the other versions in the target stage and projects every one of them", async () => {
    await createModelNamed(deps, "id-stages", "stages");
    for (let i = 0; i < 4; i++) await run(deps, live("stages"), createVersion());
    await run(deps, live("stages"), transition(1, "Production"));
    await run(deps, live("stages"), transition(2, "Production"));
    await run(deps, live("stages"), transition(3, "Staging"));
    await run(deps, live("stages"), {
      type: "SetRegisteredModelAlias",
      data: { alias: "champion", version: 2 },
    });
    const outcome = await run(deps, live("stages"), transition(4, "Production", true));
    expect(outcome.events[0]).toMatchObject({
      data: {
        version: 4,
        to: "Production",
        archived: [
          { version: 1, from: "Production" },
          { version: 2, from: "Production" },
        ],
      },
    });
    const rows = await t.db.reader.modelVersion.findMany({
      where: { modelId: "id-stages" },
      orderBy: { version: "asc" },
    });
    expect(rows.map((r) => r.stage)).toEqual(["Archived", "Archived", "Staging", "Production"]);
    // Archiving does not move aliases.
    expect(
      await t.db.reader.modelAlias.findMany({
        where: { modelId: "id-stages" },
        select: { alias: true, version: true },
      }),
    ).toEqual([{ alias: "champion", version: 2 }]);
    // Asked again, there is nothing left to move or archive.
    const again = await run(deps, live("stages"), transition(4, "Production", true));
    expect(again.events).toEqual([]);
  });

  it("commits and publishes nothing for a command that changes nothing, and answers the current views", async () => {
    const { modelId } = await createModelNamed(deps, "id-retry", "retry");
    await run(deps, live("retry"), createVersion());
    const setTag = { type: "SetRegisteredModelTag" as const, data: { key: "team", value: "risk" } };
    const first = await run(deps, live("retry"), setTag);
    expect(first.events.map((e) => e.type)).toEqual(["RegisteredModelTagSet"]);
    const published = committed.length;

    const retried = await run(deps, live("retry"), setTag);
    expect(retried.events).toEqual([]);
    expect(retried.modelId).toBe(modelId);
    expect(retried.views.model).toMatchObject({ name: "retry", revision: 3, tags: { team: "risk" } });
    const version = await run(deps, live("retry"), { type: "RestoreModelVersion", data: { version: 1 } });
    expect(version.events).toEqual([]);
    expect(version.views.versions.get(1)).toMatchObject({ version: 1, deleted: false });
    expect(committed).toHaveLength(published);
    expect(await readStream(t.db.reader, modelId)).toHaveLength(3);
    const row = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: modelId } });
    expect(row).toMatchObject({ revision: 3 });
  });

  it("lets a command that changes nothing pass a matching expectedRevision, not a stale one", async () => {
    const { modelId } = await createModelNamed(deps, "id-pinned-retry", "pinned-retry");
    const update = { type: "UpdateRegisteredModel" as const, data: { description: "v1" } };
    await run(deps, live("pinned-retry"), update, 1);
    const matching = await run(deps, live("pinned-retry"), update, 2);
    expect(matching.events).toEqual([]);
    const stale = await executeCommand(deps, live("pinned-retry"), update, actor, 1);
    expect(stale).toBeInstanceOf(ConcurrencyError);
    expect(stale).toMatchObject({ expectedRevision: 1, actualRevision: 2 });
    expect(await readStream(t.db.reader, modelId)).toHaveLength(2);
  });
});
