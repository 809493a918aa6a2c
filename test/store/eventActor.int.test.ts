// Migration 20261215000000_event_actor (#18) stores each event's actor (display name, principal id,
// kind, credential) once in `event_actors` and the event its id. An upgraded registry reads every
// event with the actor it had, anonymous and system actors included, its chains verify, and the
// audit log's and history's actor filters find the same events, on both databases; afterwards an
// actor already stored keeps its id and a new one gets the next.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventActor } from "../../src/access/actor.ts";
import { ANONYMOUS_ACTOR, actorFromColumns, systemActor } from "../../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { auditLogWhere, readAuditLogPage } from "../../src/audit/auditLogFilter.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { rowJson } from "../../src/db/sql.ts";
import { eventActorOf, knownEventActor } from "../../src/store/eventActors.ts";
import { appendEvents, readStoredStream, readStream } from "../../src/store/eventStore.ts";
import { userActor } from "../support/actors.ts";
import { countingDatabase } from "../support/countingDatabase.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { withOldEventActors } from "../support/oldHashFormat.ts";
import { createDatabaseBefore } from "../support/migrations.ts";

const MIGRATION = "20261215000000_event_actor";

const alice = userActor("alice");
/** The same principal with another credential: another actor row. */
const aliceAgain: EventActor = {
  ...alice,
  credential: { kind: "token", tokenId: "token-alice-2", scopes: ["read"] },
};
const bob = userActor("bob");
const ACTORS: EventActor[] = [
  alice,
  bob,
  ANONYMOUS_ACTOR,
  systemActor("sweeper"),
  aliceAgain,
  alice,
  ANONYMOUS_ACTOR,
];

interface ActorRow {
  position: number;
  actor: string;
  actor_id: string | null;
  actor_kind: string | null;
  actor_credential: unknown;
}

/** The four actor values of every event, as the columns hold them (before) or as read through event_actors (after). */
const actorsOf = async (db: Database, columns: string): Promise<ActorRow[]> =>
  (await db.query<ActorRow>(`SELECT position, ${columns} FROM events ORDER BY position`)).map((r) => ({
    position: Number(r.position),
    actor: r.actor,
    actor_id: r.actor_id,
    actor_kind: r.actor_kind,
    actor_credential: r.actor_credential === null ? null : rowJson(r.actor_credential),
  }));

const THROUGH_TABLE = ["actor", "actor_id", "actor_kind", "actor_credential"]
  .map((c) => `(SELECT ${c} FROM event_actors WHERE id = events.actor_ref) AS ${c}`)
  .join(", ");

async function describeUpdate(db: Database, name: string, actor: EventActor, description: string) {
  const outcome = await executeCommand(
    { db, clock: () => new Date() },
    { kind: "live", name },
    { type: "UpdateRegisteredModel", data: { description } },
    { actor, correlationId: null, rights: SYSTEM_RIGHTS },
  );
  if (outcome instanceof Error) throw outcome;
}

describe.each(await providers())("upgrading %s to interned actors", (provider) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createDatabaseBefore(provider, MIGRATION);
  });
  afterAll(() => test.destroy());

  it("reads every event with its actor, verifies the chains, and filters by actor", async () => {
    const config = test.config;
    const modelId = randomUUID();
    await withOldEventActors(config, async () => {
      const db = openDatabase(config);
      try {
        const outcome = await executeCommand(
          { db, clock: () => new Date() },
          { kind: "new", modelId },
          { type: "CreateRegisteredModel", data: { modelId, name: "acted", description: "", tags: [] } },
          { actor: alice, correlationId: null, rights: SYSTEM_RIGHTS },
        );
        if (outcome instanceof Error) throw outcome;
        for (const [i, actor] of ACTORS.entries()) await describeUpdate(db, "acted", actor, `change ${i}`);
        // A stream of another context, by the server itself.
        await db.write((tx) =>
          appendEvents(tx, "test:system", 0, [{ type: "TestSystemEvent", schemaVersion: 1, data: {} }], {
            actor: systemActor("sweeper"),
            occurredAt: new Date(),
            correlationId: null,
            causationId: null,
          }),
        );
      } finally {
        await db.close();
      }
    });
    let db = openDatabase(config);
    const before = await actorsOf(db, "actor, actor_id, actor_kind, actor_credential").finally(() =>
      db.close(),
    );
    expect(before).toHaveLength(ACTORS.length + 2);
    expect(before.filter((r) => r.actor_id === null).length).toBeGreaterThanOrEqual(3);

    expect(await migrate(config)).toContain(MIGRATION);

    db = openDatabase(config);
    try {
      // Stored: one integer per event, one row per distinct actor, NULLs included.
      const refs = await db.query<{ actor_ref: unknown }>("SELECT actor_ref FROM events ORDER BY position");
      expect(refs.every((r) => Number.isInteger(Number(r.actor_ref)))).toBe(true);
      const distinct = new Set(before.map(({ position: _p, ...a }) => JSON.stringify(a)));
      const [count] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM event_actors");
      expect(Number(count?.n)).toBe(distinct.size);
      const anonymous = await db.query(
        "SELECT id FROM event_actors WHERE actor_id IS NULL AND actor = 'anonymous'",
      );
      expect(anonymous).toHaveLength(1);

      // Every reader gets the four values back: SQL through the table, the store, Prisma's relation.
      expect(await actorsOf(db, THROUGH_TABLE)).toEqual(before);
      expect((await verifyChains(db)).ok).toBe(true);
      const expected = before.map((r) =>
        actorFromColumns({
          actor: r.actor,
          actorId: r.actor_id,
          actorKind: r.actor_kind,
          actorCredential: r.actor_credential,
        }),
      );
      const model = (await readStream(db.reader, modelId)).map((e) => e.actor);
      expect(model).toEqual(expected.slice(0, model.length));
      expect(model).toContainEqual(ANONYMOUS_ACTOR);
      const rows = await db.reader.event.findMany({
        orderBy: { position: "asc" },
        include: { eventActor: true },
      });
      expect(rows.map((r) => r.eventActor.actorId)).toEqual(before.map((r) => r.actor_id));

      // The audit log's actors filter and history's (Prisma, through the relation).
      for (const ids of [["user-alice"], ["user-bob", "user-alice"]]) {
        const where = await auditLogWhere(db, {
          models: null,
          eventTypes: null,
          actors: ids,
          from: null,
          to: null,
        });
        const page = await readAuditLogPage(db, db.reader, where, "OLDEST_FIRST", null, 1000);
        const wanted = before
          .filter((r, i) => r.actor_id !== null && ids.includes(r.actor_id) && i < model.length)
          .map((r) => r.position);
        expect(wanted.length).toBeGreaterThan(ids.length);
        expect(page.map((r) => r.position)).toEqual(wanted);
        expect(page.every((r) => r.actorId !== null && ids.includes(r.actorId))).toBe(true);
        const history = await db.reader.event.findMany({
          where: { streamId: modelId, eventActor: { actorId: { in: ids } } },
          orderBy: { position: "asc" },
        });
        expect(history.map((r) => r.position)).toEqual(wanted);
      }

      // After the upgrade: a stored actor keeps its id, a new one gets the next.
      /** The actor id of the latest event. */
      const latestRef = async () =>
        Number(
          (
            await db.query<{ actor_ref: unknown }>(
              "SELECT actor_ref FROM events ORDER BY position DESC LIMIT 1",
            )
          )[0]?.actor_ref,
        );
      const [aliceRow] = await db.query<{ actor_ref: unknown }>(
        "SELECT actor_ref FROM events WHERE position = ?",
        [before[0]!.position],
      );
      await describeUpdate(db, "acted", alice, "after the upgrade");
      expect(await latestRef()).toBe(Number(aliceRow?.actor_ref));
      await describeUpdate(db, "acted", userActor("carol"), "a new actor");
      expect(await latestRef()).toBe(distinct.size + 1);
      await describeUpdate(db, "acted", ANONYMOUS_ACTOR, "anonymous again");
      expect(await latestRef()).toBe(Number(anonymous[0]?.id));
      expect((await verifyChains(db)).ok).toBe(true);
      const latest = (await readStream(db.reader, modelId)).slice(-3).map((e) => e.actor);
      expect(latest).toEqual([alice, userActor("carol"), ANONYMOUS_ACTOR]);
    } finally {
      await db.close();
    }
  });
});

describe.each(await providers())("event actor ids on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
  });
  afterAll(async () => {
    await t?.close();
  });

  const rowsOf = (db: Database, name: string) =>
    db.query<{ id: number | string }>("SELECT id FROM event_actors WHERE actor = ?", [name]);
  const metadataOf = (actor: EventActor) => ({
    actor,
    occurredAt: new Date(),
    correlationId: null,
    causationId: null,
  });
  const append = (db: Database, stream: string, actor: EventActor) =>
    db.write((tx) =>
      appendEvents(tx, stream, 0, [{ type: "TestActed", schemaVersion: 1, data: {} }], metadataOf(actor)),
    );

  it("stores an actor with the first append that commits it, after one that rolled back", async () => {
    const dave = userActor("dave");
    const failed = t.db.write(async (tx) => {
      await appendEvents(
        tx,
        "test:dave-rolled-back",
        0,
        [{ type: "TestActed", schemaVersion: 1, data: {} }],
        metadataOf(dave),
      );
      throw new Error("abandoned");
    });
    // Queued in the same tick: on SQLite both share one commit, each in its own savepoint.
    const other = append(t.db, "test:erin", userActor("erin"));
    await expect(failed).rejects.toThrow("abandoned");
    await other;
    // SQLite gives the id in the append's transaction, PostgreSQL in one of its own (Tx.autonomous).
    expect(await rowsOf(t.db, "dave")).toHaveLength(provider === "sqlite" ? 0 : 1);
    // The next append by dave stores the actor (an id cached from the rolled back one would point nowhere).
    await append(t.db, "test:dave", dave);
    expect(await rowsOf(t.db, "dave")).toHaveLength(1);
    const [event] = await t.db.write((tx) => readStoredStream(tx, "test:dave"));
    expect(event?.actor).toEqual(dave);
    expect((await verifyChains(t.db)).ok).toBe(true);
  });

  it("stores an actor once whatever the key order of its credential's JSON", async () => {
    // PostgreSQL's jsonb gives keys back shortest first: a restored backup's credential (a
    // PostgreSQL source) has them in another order than appends write.
    const token = { kind: "token", tokenId: "token-frank", scopes: ["write"] } as const;
    const jwt = { kind: "jwt", jti: "jti-frank", issuer: "https://idp.example" } as const;
    const asWritten = [token, jwt].map((credential) => ({ ...userActor("frank"), credential }));
    const asJsonb = [
      { kind: "token", scopes: ["write"], tokenId: "token-frank" },
      { jti: "jti-frank", kind: "jwt", issuer: "https://idp.example" },
    ].map((credential) => ({ ...userActor("frank"), credential }) as EventActor);
    for (const [i, actor] of [...asJsonb, ...asWritten, ...asJsonb].entries())
      await append(t.db, `test:frank-${i}`, actor);
    expect(await rowsOf(t.db, "frank")).toHaveLength(2);
    for (const [i, actor] of [...asJsonb, ...asWritten, ...asJsonb].entries()) {
      const [event] = await t.db.write((tx) => readStoredStream(tx, `test:frank-${i}`));
      expect(event?.actor).toEqual(actor);
    }
    expect((await verifyChains(t.db)).ok).toBe(true);
  });

  it("finds an actor stored before credentials were stored with sorted keys", async () => {
    // Earlier releases stored the credential's JSON as appends write it (kind first).
    const grace = userActor("grace");
    await t.db.write((tx) =>
      tx.execute(
        "INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) VALUES (?, ?, ?, ?)",
        [grace.displayName, grace.id, grace.kind, JSON.stringify(grace.credential)],
      ),
    );
    const [stored] = await rowsOf(t.db, "grace");
    await append(t.db, "test:grace", grace);
    expect(await rowsOf(t.db, "grace")).toEqual([stored]);
    const [event] = await t.db.write((tx) => readStoredStream(tx, "test:grace"));
    expect(event?.actor).toEqual(grace);
  });

  it("stores each actor once, also for instances appending it at once, NULLs included", async () => {
    const instances =
      provider === "postgresql" ? [t.db, openDatabase(t.db.config), openDatabase(t.db.config)] : [t.db];
    try {
      const actors = [
        userActor("racer"),
        systemActor("racer-system"),
        { ...ANONYMOUS_ACTOR, displayName: "racer-anon" },
      ];
      await Promise.all(
        instances.flatMap((db, i) =>
          actors.map((actor, j) =>
            db.write(
              (tx) =>
                appendEvents(
                  tx,
                  `test:actor-race-${i}-${j}`,
                  0,
                  [{ type: "TestActed", schemaVersion: 1, data: {} }],
                  metadataOf(actor),
                ),
              { concurrent: true },
            ),
          ),
        ),
      );
      for (const actor of actors) expect(await rowsOf(t.db, actor.displayName)).toHaveLength(1);
      for (const [i, db] of instances.entries())
        for (const [j, actor] of actors.entries()) {
          const [event] = await db.write((tx) => readStoredStream(tx, `test:actor-race-${i}-${j}`));
          expect(event?.actor).toEqual(actor);
        }
    } finally {
      await Promise.all(instances.slice(1).map((db) => db.close()));
    }
  });

  it("reads the actors of ids asked for in the same tick with one statement, keeping them but no missing id", async () => {
    const names = ["frank", "gina", "hank"];
    for (const name of names) await append(t.db, `test:read-${name}`, userActor(name));
    const ids = await Promise.all(names.map(async (name) => Number((await rowsOf(t.db, name))[0]?.id)));
    const { db, counter } = countingDatabase(t.db);
    const actors = await Promise.all(ids.map((id) => eventActorOf(db, id)));
    expect(actors.map((a) => a.actor)).toEqual(names);
    expect(counter.statements).toBe(1);
    expect((await eventActorOf(db, ids[1]!)).actorId).toBe(userActor("gina").id);
    expect(counter.statements).toBe(1);
    const missing = Math.max(...ids) + 1_000_000;
    await expect(eventActorOf(db, missing)).rejects.toThrow(/has no row in event_actors/);
    await expect(eventActorOf(db, missing)).rejects.toThrow(/has no row in event_actors/);
    expect(counter.statements).toBe(3);
  });

  it("answers an actor already loaded without waiting (knownEventActor), and nothing for one not loaded", async () => {
    await append(t.db, "test:read-ida", userActor("ida"));
    const id = Number((await rowsOf(t.db, "ida"))[0]?.id);
    const { db } = countingDatabase(t.db);
    expect(knownEventActor(db, id)).toBeUndefined();
    const loaded = await eventActorOf(db, id);
    expect(knownEventActor(db, id)).toEqual(loaded);
    expect(knownEventActor(db, id + 1_000_000)).toBeUndefined();
  });
});
