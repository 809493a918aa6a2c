import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { ConcurrencyError } from "../../src/domain/errors.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import {
  appendEvents,
  appendToStream,
  lastPosition,
  readAll,
  readStream,
} from "../../src/store/eventStore.ts";
import type { EventMetadata } from "../../src/store/recordedEvent.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { modelCreated, versionCreated, versionNonDefaults } from "../support/events.ts";
import { userActor } from "../support/actors.ts";

const metadata: EventMetadata = {
  actor: userActor("alice"),
  occurredAt: new Date("2026-03-04T05:06:07.089Z"),
  correlationId: "corr-1",
  causationId: "cause-1",
};

const append = (db: Database, streamId: string, expectedRevision: number, events: RegisteredModelEvent[]) =>
  db.write((tx) => appendToStream(tx, streamId, expectedRevision, events, metadata));

describe.each(await providers())("event store on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("appends to a new stream and reads it back in revision order with its metadata", async () => {
    const appended = await append(t.db, "s-read", 0, [
      modelCreated("a"),
      versionCreated(1),
      versionCreated(2),
    ]);
    expect(appended.map((e) => e.revision)).toEqual([1, 2, 3]);
    expect(appended[1]!.position).toBeGreaterThan(appended[0]!.position);
    expect(appended[2]!.position).toBeGreaterThan(appended[1]!.position);

    const stream = await readStream(t.db.reader, "s-read");
    expect(stream).toEqual(appended);
    expect(stream[1]).toMatchObject({
      ...versionCreated(1),
      streamId: "s-read",
      revision: 2,
      schemaVersion: 3,
      ...metadata,
    });

    const more = await append(t.db, "s-read", 3, [
      { type: "RegisteredModelTagSet", data: { key: "k", value: "v" } },
    ]);
    expect(more.map((e) => e.revision)).toEqual([4]);
    expect(
      (await readStream(t.db.reader, "s-read", { afterRevision: 1, limit: 2 })).map((e) => e.revision),
    ).toEqual([2, 3]);
    expect(await readStream(t.db.reader, "s-unknown")).toEqual([]);
  });

  it("stores a version's creation without the fields at their default, after version 2 payloads stored whole", async () => {
    const full = versionCreated(1);
    // A version registered by the previous release: schema version 2, every field stored.
    await t.db.write((tx) =>
      appendEvents(tx, "s-compact", 0, [{ type: full.type, schemaVersion: 2, data: full.data }], metadata),
    );
    const rich = versionCreated(3, versionNonDefaults());
    await append(t.db, "s-compact", 1, [versionCreated(2), rich]);
    const rows = await t.db.reader.event.findMany({
      where: { streamId: "s-compact" },
      orderBy: { revision: "asc" },
    });
    expect(rows.map((r) => [r.schemaVersion, r.data])).toEqual([
      [2, full.data],
      [3, { version: 2, source: "s3://models/fraud/2" }],
      [3, rich.data],
    ]);
    expect((await readStream(t.db.reader, "s-compact")).map(({ type, data }) => ({ type, data }))).toEqual([
      full,
      versionCreated(2),
      rich,
    ]);
    const report = await verifyChains(t.db);
    expect(report.breaks).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("reads all streams after a global position, in position order, with a limit", async () => {
    const start = await lastPosition(t.db.reader);
    const a1 = await append(t.db, "s-all-a", 0, [modelCreated("a")]);
    const b1 = await append(t.db, "s-all-b", 0, [modelCreated("b"), versionCreated(1)]);
    const a2 = await append(t.db, "s-all-a", 1, [versionCreated(1)]);
    const expected = [...a1, ...b1, ...a2];
    // The tailer hands out only events the models' projections have seen (commands write both).
    await t.db.write(async (tx) => {
      for (const id of ["s-all-a", "s-all-b"])
        await tx.execute(
          "INSERT INTO registered_models (id, name, description, deleted, created_at, updated_at, created_by, revision, last_version) VALUES (?, ?, '', ?, ?, ?, 't', 2, 1)",
          [id, id, false, new Date(), new Date()],
        );
    });

    const all = await readAll(t.db, start, 100);
    expect(all).toEqual(expected);
    expect(all.map((e) => `${e.streamId}@${e.revision}`)).toEqual([
      "s-all-a@1",
      "s-all-b@1",
      "s-all-b@2",
      "s-all-a@2",
    ]);
    expect(await readAll(t.db, expected[0]!.position, 2)).toEqual(expected.slice(1, 3));
    expect(await readAll(t.db, expected[3]!.position, 10)).toEqual([]);
    expect(await lastPosition(t.db.reader)).toBe(expected[3]!.position);
  });

  it("refuses an append at a stale expected revision with a ConcurrencyError, appending nothing", async () => {
    await append(t.db, "s-conflict", 0, [modelCreated("c"), versionCreated(1)]);
    for (const stale of [0, 1]) {
      const attempt = append(t.db, "s-conflict", stale, [versionCreated(9)]);
      await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(attempt).rejects.toMatchObject({ streamId: "s-conflict", expectedRevision: stale });
    }
    expect((await readStream(t.db.reader, "s-conflict")).map((e) => e.revision)).toEqual([1, 2]);
  });

  it("appends nothing for an empty batch", async () => {
    expect(await append(t.db, "s-empty", 0, [])).toEqual([]);
    expect(await readStream(t.db.reader, "s-empty")).toEqual([]);
  });

  it("the application's own write connection cannot delete or change events either", async () => {
    const [event] = await append(t.db, "s-prisma-immutable", 0, [modelCreated("p")]);
    await expect(t.db.write((tx) => tx.execute(`DELETE FROM "events"`))).rejects.toThrow(
      /events are immutable/,
    );
    await expect(
      t.db.write((tx) =>
        tx.execute(`UPDATE "events" SET "actor_ref" = "actor_ref" + 1 WHERE "position" = ?`, [
          event!.position,
        ]),
      ),
    ).rejects.toThrow(/events are immutable/);
    expect(await readStream(t.db.reader, "s-prisma-immutable")).toEqual([event]);
  });
});
