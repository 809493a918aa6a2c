// PostgreSQL (#18): a command on a stream this instance wrote last is decided on the state it left
// in the cache (src/application/streamStateCache.ts) and sent in one round trip; a stale entry (another
// instance wrote the stream) is caught by the guard and the command runs again on the normal path.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { DomainError, IntegrityError } from "../../src/domain/errors.ts";
import { readStream } from "../../src/store/eventStore.ts";
import { MAX_REMEMBERED_PAYLOAD } from "../../src/store/ownHeads.ts";
import { tamper } from "../audit/tamper.ts";
import { actor, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";
import { providers } from "../support/databases.ts";
import { batches, settlePrepares, twoInstances, versionOf } from "../support/postgresBatches.ts";

const onPostgres = (await providers()).includes("postgresql");

describe.skipIf(!onPostgres)("the stream state cache on postgresql", () => {
  let t: Awaited<ReturnType<typeof twoInstances>>["t"];
  let a: CommandDeps;
  let b: CommandDeps;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // Another server instance on the same database (b): its own pools and its own cache.
    ({ t, a, b, close } = await twoInstances());
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  it("sends a command on a stream it wrote last in one round trip, two without the cache", async () => {
    // Each instance gives an event type its code once, on first use (src/store/eventTypes.ts):
    // a version of another model first, so that what is counted is the steady state.
    await createModelNamed(a, "rt-warm", "round-trips-warm");
    await run(a, live("round-trips-warm"), createVersion());
    await run(b, live("round-trips-warm"), createVersion());
    await createModelNamed(a, "rt", "round-trips");
    // The model's creation left its name and its state: the first version needs no read either.
    const first = await batches(() => run(a, live("round-trips"), createVersion()));
    expect(first.length).toBe(1);
    // The statements tried for preparing (they run as text until then).
    for (let i = 0; i < 2; i++) await run(a, live("round-trips"), createVersion());
    await settlePrepares();
    await run(a, live("round-trips"), createVersion());
    const cached = await batches(() => run(a, live("round-trips"), createVersion()));
    expect(cached.length).toBe(1);
    expect(cached[0]).toMatch(/^BEGIN;/);
    expect(cached[0]).toMatch(/COMMIT$/);

    // The other instance has not written this stream: it reads the state first (the normal path).
    await run(b, live("round-trips"), createVersion());
    await settlePrepares();
    await run(a, live("round-trips"), createVersion()); // stale on a: guard fails, normal path
    const normal = await batches(() => run(b, live("round-trips"), createVersion()));
    // b's entry is stale now (a wrote last): the one-batch attempt fails its guard and is rolled
    // back, then the normal path's two round trips.
    expect(normal.length).toBe(4);
    expect(normal[1]).toBe("ROLLBACK; DEALLOCATE ALL");
    const rows = await t.db.reader.modelVersion.findMany({ where: { modelId: "rt" } });
    expect(rows.map((r) => r.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("lets commands of one instance on one stream take turns, each queued behind the one before: eight at once commit in one round trip", async () => {
    await createModelNamed(a, "turns", "taking-turns");
    for (let i = 0; i < 2; i++) await run(a, live("taking-turns"), createVersion());
    await settlePrepares();
    await run(a, live("taking-turns"), createVersion());
    const eight = await batches(() =>
      Promise.all(Array.from({ length: 8 }, () => run(a, live("taking-turns"), createVersion()))),
    );
    // Without turns, a command that ran beside another on its stream took the normal path (the
    // state read, then the writes): 2 round trips, 15 for these eight. With turns that ended at the
    // commit, one round trip each: 8. Each turn now ends once the command is queued for its group
    // commit, and the next is decided on the state it will leave: all eight in one group.
    expect(eight.length).toBe(1);
    expect(eight[0]).toMatch(/^BEGIN;[^]*COMMIT$/);
    const rows = await t.db.reader.modelVersion.findMany({ where: { modelId: "turns" } });
    expect(rows.map((r) => r.version).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
  });

  it("ends a turn whatever the command's outcome: a failed write does not hold up the stream", async () => {
    await createModelNamed(a, "turn-fail", "turn-failure");
    await run(a, live("turn-failure"), createVersion());
    // The first command's batch fails as a lost connection would; the others wait their turn behind it.
    const query = Reflect.get(pg.Client.prototype, "query") as (
      this: pg.Client,
      ...args: unknown[]
    ) => unknown;
    let failed = false;
    function failFirstBatch(this: pg.Client, ...args: unknown[]): unknown {
      const text = typeof args[0] === "string" ? args[0] : String((args[0] as { text?: unknown }).text);
      if (!failed && text.startsWith("BEGIN;")) {
        failed = true;
        return Promise.reject(new Error("connection lost"));
      }
      return query.apply(this, args);
    }
    vi.spyOn(pg.Client.prototype, "query").mockImplementation(failFirstBatch);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => run(a, live("turn-failure"), createVersion())),
    );
    vi.restoreAllMocks();
    // The four went in one group commit (each queued behind the one before), whose connection was
    // lost: its outcome is unknown, so all four fail and none runs again. None waits forever.
    expect(outcomes.filter((o) => o.status === "rejected")).toHaveLength(4);
    expect(versionOf(await run(a, live("turn-failure"), createVersion()))).toBe(2);
    // A domain error ends its turn too.
    const missing = await executeCommand(
      a,
      live("turn-failure"),
      { type: "DeleteModelVersion", data: { version: 99 } },
      actor,
    );
    expect(missing).toBeInstanceOf(DomainError);
    expect(versionOf(await run(a, live("turn-failure"), createVersion()))).toBe(3);
  });

  it("does not keep a head whose payload is over the bound: the next command reads the state", async () => {
    await createModelNamed(a, "big", "big-payload");
    for (let i = 0; i < 2; i++) await run(a, live("big-payload"), createVersion());
    await settlePrepares();
    await run(a, live("big-payload"), createVersion());
    expect((await batches(() => run(a, live("big-payload"), createVersion()))).length).toBe(1);
    await run(a, live("big-payload"), createVersion({ description: "d".repeat(MAX_REMEMBERED_PAYLOAD) }));
    // The normal path: the state read, then the writes (ownHeads.ts bounds what a head keeps).
    expect((await batches(() => run(a, live("big-payload"), createVersion()))).length).toBe(2);
    expect((await batches(() => run(a, live("big-payload"), createVersion()))).length).toBe(1);
  });

  it("never loses or forks the chain when two instances write one stream interleaved", async () => {
    await createModelNamed(a, "two", "two-instances");
    // One after the other, alternating: every command after the first finds its instance's entry stale.
    const sequential: number[] = [];
    for (let i = 0; i < 10; i++)
      sequential.push(
        versionOf(await executeCommand(i % 2 ? b : a, live("two-instances"), createVersion(), actor)),
      );
    expect(sequential).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // Then both at once, several commands in flight on each instance.
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        executeCommand(i % 2 ? b : a, live("two-instances"), createVersion({ source: `s3://b/${i}` }), actor),
      ),
    );
    expect(outcomes.map(versionOf).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 11),
    );
    // And runs of each, so each instance's cache is hit and then found stale.
    for (let round = 0; round < 4; round++)
      for (const deps of [a, b, b, a, a, a])
        versionOf(await executeCommand(deps, live("two-instances"), createVersion(), actor));

    const events = await readStream(t.db.reader, "two");
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
    const versions = await t.db.reader.modelVersion.findMany({
      where: { modelId: "two" },
      orderBy: { version: "asc" },
    });
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    const model = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "two" } });
    expect(model).toMatchObject({ revision: 65, lastVersion: 64 });
    const chains = await verifyChains(t.db);
    expect(chains).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("does not chain onto a cached head when the log moved on outside Registro", async () => {
    await createModelNamed(a, "forged", "forged-head");
    for (let i = 0; i < 3; i++) await run(a, live("forged-head"), createVersion());
    // An event written behind Registro's back at the next revision, with a made-up hash.
    const url = t.config.provider === "postgresql" ? t.config.url : "";
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(ensureEventTypeSql("RegisteredModelTagSet"));
      await client.query(ensureEventActorSql("mallory"));
      await client.query(
        `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
         VALUES ('forged', 5, ${eventTypeCodeSql("RegisteredModelTagSet")}, 1, '{"key":"k","value":"forged"}', ${eventActorRefSql("mallory")}, now(), $1)`,
        [Buffer.alloc(32)],
      );
      // The cached head (revision 4) is not the head any more: the guard sends the command to the
      // normal path, which finds the log ahead of the views and refuses.
      const outcome = await executeCommand(a, live("forged-head"), createVersion(), actor);
      expect(outcome).toBeInstanceOf(IntegrityError);
      const { rows } = await client.query<{ max: number }>(
        "SELECT MAX(revision)::int AS max FROM events WHERE stream_id = 'forged'",
      );
      expect(rows[0]?.max).toBe(5);
    } finally {
      await client.end();
    }
  });

  it("does not chain onto a cached head that was altered outside Registro", async () => {
    await createModelNamed(a, "altered", "altered-head");
    for (let i = 0; i < 3; i++) await run(a, live("altered-head"), createVersion());
    // Revision and position stay, so no unique key would notice: only the guard's hash check does.
    await tamper(t.config, async (x) => {
      await x.query("UPDATE events SET hash = ? WHERE stream_id = ? AND revision = 4", [
        Buffer.alloc(32, 7),
        "altered",
      ]);
    });
    const outcome = await executeCommand(a, live("altered-head"), createVersion(), actor);
    expect(outcome).toBeInstanceOf(IntegrityError);
    const model = await t.db.reader.registeredModel.findUniqueOrThrow({ where: { id: "altered" } });
    expect(model.revision).toBe(4);
    expect(await t.db.reader.event.count({ where: { streamId: "altered" } })).toBe(4);
  });
});
