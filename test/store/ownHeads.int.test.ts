// An append checks the stream's head before chaining onto it. On SQLite a head this process
// appended itself, stored exactly as it was bound and hashed, is taken without hashing it again
// (src/store/ownHeads.ts); on PostgreSQL never. Either way a head changed outside Registro after
// that append (its payload, its time, its actor's row, its type's name, or the hash of the event
// before it) refuses the write, as every broken head does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { IntegrityError } from "../../src/domain/errors.ts";
import { appendEvents } from "../../src/store/eventStore.ts";
import { MAX_REMEMBERED_PAYLOAD, ownHead } from "../../src/store/ownHeads.ts";
import { tamper } from "../audit/tamper.ts";
import type { Tamperer } from "../audit/tamper.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { userActor } from "../support/actors.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

type Provider = "sqlite" | "postgresql";

/** Lifts the immutability triggers of event_actors or event_types (tamper() lifts the events' own). */
async function liftTriggers(x: Tamperer, provider: Provider, table: "event_actors" | "event_types") {
  if (provider === "sqlite") {
    await x.query(`DROP TRIGGER IF EXISTS "${table}_refuse_update"`);
  } else await x.query(`ALTER TABLE "${table}" DISABLE TRIGGER "${table}_refuse_update_delete"`);
}

/** What is changed behind the registry's back, on the stream's head (revision 4) or the event before. */
const CHANGES: readonly (readonly [
  string,
  (x: Tamperer, provider: Provider, stream: string) => Promise<void>,
])[] = [
  [
    "payload",
    async (x, provider, stream) => {
      const [row] = await x.query<{ data: unknown }>(
        "SELECT data FROM events WHERE stream_id = ? AND revision = 4",
        [stream],
      );
      const data = typeof row!.data === "string" ? (JSON.parse(row!.data) as object) : (row!.data as object);
      const forged = JSON.stringify({ ...data, source: "s3://elsewhere/forged" });
      await x.query(
        `UPDATE events SET data = ${provider === "sqlite" ? "?" : "?::jsonb"} WHERE stream_id = ? AND revision = 4`,
        [forged, stream],
      );
    },
  ],
  [
    "time",
    async (x, provider, stream) => {
      await x.query(
        `UPDATE events SET occurred_at = occurred_at + ${provider === "sqlite" ? "1" : "interval '1 millisecond'"}
          WHERE stream_id = ? AND revision = 4`,
        [stream],
      );
    },
  ],
  [
    "actor's row",
    async (x, provider, stream) => {
      await liftTriggers(x, provider, "event_actors");
      await x.query(
        "UPDATE event_actors SET actor = 'mallory' WHERE id = (SELECT actor_ref FROM events WHERE stream_id = ? AND revision = 4)",
        [stream],
      );
    },
  ],
  [
    "previous event's hash",
    async (x, _provider, stream) => {
      await x.query("UPDATE events SET hash = ? WHERE stream_id = ? AND revision = 3", [
        Buffer.alloc(32, 7),
        stream,
      ]);
    },
  ],
  // Last: every stream's versions then read as a type no release knows.
  [
    "type's name",
    async (x, provider) => {
      await liftTriggers(x, provider, "event_types");
      await x.query("UPDATE event_types SET name = 'ModelVersionForged' WHERE name = 'ModelVersionCreated'");
    },
  ],
];

describe.each(await providers())("the head check of an append on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;

  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = commandDeps(t.db);
  });
  afterAll(() => t.close());

  /** A model whose head (revision 4) is this process's own append, by an actor of its own. */
  async function streamWrittenHere(name: string) {
    const by = { ...actor, actor: userActor(`${name}-writer`) };
    await createModelNamed(deps, name, name);
    for (let i = 0; i < 3; i++) {
      const outcome = await executeCommand(deps, live(name), createVersion(), by);
      expect(outcome).not.toBeInstanceOf(Error);
    }
    return by;
  }

  /** What the shortcut takes for the stream's head, and its last event as Prisma reads it. */
  async function heads(stream: string) {
    const own = await t.db.write((tx) => ownHead(tx, stream));
    const last = await t.db.reader.event.findFirstOrThrow({
      where: { streamId: stream },
      orderBy: { revision: "desc" },
    });
    return {
      own,
      stored: {
        revision: last.revision,
        position: last.position,
        hash: Buffer.from(last.hash).toString("hex"),
      },
    };
  }

  it(
    provider === "sqlite"
      ? "takes the head this process appended as it is stored, without hashing it again"
      : "always checks the head in full",
    async () => {
      const by = await streamWrittenHere("own-head");
      const { own, stored } = await heads("own-head");
      expect(stored.revision).toBe(4);
      expect(own).toEqual(provider === "sqlite" ? stored : null);
      await run(deps, live("own-head"), createVersion());
      expect(await executeCommand(deps, live("own-head"), createVersion(), by)).not.toBeInstanceOf(Error);
    },
  );

  it("checks a head whose payload is over the bound in full, and remembers the next one", async () => {
    const by = await streamWrittenHere("big-payload");
    const big = createVersion({ description: "d".repeat(MAX_REMEMBERED_PAYLOAD) });
    expect(await executeCommand(deps, live("big-payload"), big, by)).not.toBeInstanceOf(Error);
    expect((await heads("big-payload")).own).toBeNull();
    expect(await executeCommand(deps, live("big-payload"), createVersion(), by)).not.toBeInstanceOf(Error);
    const { own, stored } = await heads("big-payload");
    expect(stored.revision).toBe(6);
    expect(own).toEqual(provider === "sqlite" ? stored : null);
  });

  // SQLite's group commit: PostgreSQL runs these writes concurrently, in any order.
  it.runIf(provider === "sqlite")(
    "chains the writes of one transaction onto each other, never onto an append rolled back",
    async () => {
      const stream = "test:in-transaction";
      const metadata = {
        actor: userActor("in-transaction"),
        occurredAt: new Date(),
        correlationId: null,
        causationId: null,
      };
      const append = (revision: number) =>
        t.db.write((tx) =>
          appendEvents(
            tx,
            stream,
            revision,
            [{ type: "TestInTransaction", schemaVersion: 1, data: { n: revision + 1 } }],
            metadata,
          ),
        );
      await append(0);
      // Queued in the same tick: on SQLite one transaction, each write in a savepoint of its own; the
      // third appends revision 3 and is rolled back, so the fourth's revision 3 chains onto the second's.
      const second = append(1);
      const third = append(2);
      const abandoned = expect(
        t.db.write(async (tx) => {
          await appendEvents(
            tx,
            stream,
            3,
            [{ type: "TestInTransaction", schemaVersion: 1, data: { n: 0 } }],
            metadata,
          );
          throw new Error("abandoned");
        }),
      ).rejects.toThrow("abandoned");
      const fourth = append(3);
      const fifth = append(4);
      await Promise.all([second, third, abandoned, fourth, fifth]);
      const stored = await t.db.reader.event.findMany({
        where: { streamId: stream },
        orderBy: { revision: "asc" },
      });
      expect(stored.map((e) => e.revision)).toEqual([1, 2, 3, 4, 5]);
      expect(
        stored
          .map((e) => (typeof e.data === "string" ? JSON.parse(e.data) : e.data) as { n: number })
          .map((d) => d.n),
      ).toEqual([1, 2, 3, 4, 5]);
      expect((await verifyChains(t.db)).ok).toBe(true);
    },
  );

  it.each(CHANGES)(
    "refuses to chain onto a head whose %s changed after this process appended it",
    async (what, change) => {
      const stream = `changed-${what.replace(/\W+/g, "-")}`;
      const by = await streamWrittenHere(stream);
      if (provider === "sqlite") expect((await heads(stream)).own).not.toBeNull();
      await tamper(t.config, (x) => change(x, provider, stream));
      const outcome = await executeCommand(deps, live(stream), createVersion(), by);
      expect(outcome).toBeInstanceOf(IntegrityError);
      expect(await t.db.reader.event.count({ where: { streamId: stream } })).toBe(4);
    },
  );
});
