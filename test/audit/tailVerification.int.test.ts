// Subscriptions tail the log by position. An event inserted behind the registry's back must never
// reach a subscriber (a serving system would act on a forged promotion): the tailer checks each
// event's chain link and its model's projection, skips what does not hold, and reports it.
import { storedHash } from "../../src/store/eventCodec.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/config.ts";
import type { IntegrityError } from "../../src/domain/errors.ts";
import { readAll, readTailPage } from "../../src/store/eventStore.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { IntegrityError as IntegrityErrorClass } from "../../src/domain/errors.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";
import { tamper } from "./tamper.ts";

const FORGED_AT = Date.parse("2020-01-01T00:00:00.000Z");

/** Inserts an event directly into the table, as someone with database access would. */
const rawInsert = (
  config: DatabaseConfig,
  streamId: string,
  revision: number,
  hash: string,
  data = JSON.stringify({ key: "forged", value: "1" }),
) =>
  tamper(config, async (t) => {
    await t.query(ensureEventTypeSql("RegisteredModelTagSet"));
    await t.query(ensureEventActorSql("mallory"));
    await t.query(
      `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
       VALUES (?, ?, ${eventTypeCodeSql("RegisteredModelTagSet")}, 1, ?, ${eventActorRefSql("mallory")}, ?, ?)`,
      // The time as Registro stores it (integer milliseconds on SQLite): only the hash is forged.
      [
        streamId,
        revision,
        data,
        config.provider === "sqlite" ? FORGED_AT : "2020-01-01T00:00:00.000+00:00",
        storedHash(hash),
      ],
    );
  });

describe.each(await providers())("the subscription tailer on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
  });
  afterAll(async () => t?.close());

  it("hands out the registry's events and skips, and reports, those inserted behind its back", async () => {
    const deps = commandDeps(t.db);
    await createModelNamed(deps, "m-good", "good");
    await createModelNamed(deps, "m-bad", "bad");
    const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;

    await rawInsert(t.config, "m-bad", 2, "0".repeat(64));
    await run(deps, live("good"), { type: "SetRegisteredModelTag", data: { key: "k", value: "v" } });

    const reported: IntegrityError[] = [];
    const events = await readAll(t.db, start, 1000, (e) => reported.push(e));
    expect(events.map((e) => [e.streamId, e.type])).toEqual([["m-good", "RegisteredModelTagSet"]]);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({
      streamId: "m-bad",
      revision: 2,
      reason: expect.stringMatching(/does not match/),
    });
  });

  it("reads past a full page of skipped events instead of taking it for the end of the log", async () => {
    const deps = commandDeps(t.db);
    await createModelNamed(deps, "m-flood", "flood");
    const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;
    // Revisions far beyond the stream's head: each fails its chain link.
    for (let revision = 10; revision < 15; revision++)
      await rawInsert(t.config, "m-flood", revision, "1".repeat(64));
    await run(deps, live("good"), {
      type: "SetRegisteredModelTag",
      data: { key: "k", value: "after-flood" },
    });

    const reported: IntegrityError[] = [];
    const events = await readAll(t.db, start, 2, (e) => reported.push(e));
    expect(events.map((e) => e.data)).toEqual([{ key: "k", value: "after-flood" }]);
    expect(reported.map((e) => e.revision)).toEqual([10, 11, 12, 13, 14]);
  });

  it("checks only the events a reader wants (a webhook's types), and still skips a forged one of those", async () => {
    const deps = commandDeps(t.db);
    await createModelNamed(deps, "m-hook", "hook");
    await createModelNamed(deps, "m-forge", "forge");
    const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;
    await rawInsert(t.config, "m-forge", 2, "0".repeat(64));
    await run(deps, live("hook"), { type: "SetRegisteredModelTag", data: { key: "k", value: "wanted" } });
    await createModelNamed(deps, "m-late", "late");
    const sound = await readAll(t.db, start, 1000);

    const reported: IntegrityError[] = [];
    const tags = await readTailPage(
      t.db,
      start,
      1000,
      (_, type) => type === "RegisteredModelTagSet",
      (e) => reported.push(e),
    );
    expect(tags.events.map((e) => [e.streamId, e.data])).toEqual([["m-hook", { key: "k", value: "wanted" }]]);
    expect(reported.map((e) => [e.streamId, e.revision])).toEqual([["m-forge", 2]]);
    // Every row counts towards the page and its end, wanted or not, sound or not.
    expect(tags).toMatchObject({ rows: sound.length + 1, last: sound.at(-1)!.position });

    // The forged event is not of the types asked for this time: neither checked nor reported.
    const created = await readTailPage(
      t.db,
      start,
      1000,
      (_, type) => type === "RegisteredModelCreated",
      (e) => reported.push(e),
    );
    expect(created.events.map((e) => e.streamId)).toEqual(["m-late"]);
    expect(reported).toHaveLength(1);
  });

  // Only SQLite stores a payload as text that may stop being JSON (PostgreSQL's jsonb refuses it).
  if (provider === "sqlite")
    it("a payload that is no longer JSON is a reported break everywhere, never a crash", async () => {
      const deps = commandDeps(t.db);
      await createModelNamed(deps, "m-garbled", "garbled");
      const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;
      await rawInsert(t.config, "m-garbled", 2, "2".repeat(64), "{not json");

      const reported: IntegrityError[] = [];
      expect(await readAll(t.db, start, 1000, (e) => reported.push(e))).toEqual([]);
      expect(reported[0]).toMatchObject({
        streamId: "m-garbled",
        reason: expect.stringMatching(/cannot be decoded/),
      });

      const outcome = await executeCommand(
        deps,
        live("garbled"),
        { type: "SetRegisteredModelTag", data: { key: "k", value: "v" } },
        actor,
      );
      expect(outcome).toBeInstanceOf(IntegrityErrorClass);

      const summary = await rebuildProjections(t.db);
      expect(summary.breaks).toContainEqual(
        expect.objectContaining({
          streamId: "m-garbled",
          revision: 2,
          reason: expect.stringMatching(/cannot be decoded/),
        }),
      );
      const verified = await verifyChains(t.db);
      expect(verified.breaks.map((b) => b.streamId)).toContain("m-garbled");
    });
});
