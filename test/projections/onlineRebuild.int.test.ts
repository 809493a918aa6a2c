// The online rebuild: it runs while commands keep committing, never loses one of them, and checks
// every stream's hash chain, stopping a broken stream at its last verified event.
import { storedHash } from "../../src/store/eventCodec.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { eventHash } from "../../src/audit/eventHash.ts";
import type { Database } from "../../src/db/database.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { COLUMNS, EVENTS, chainedFromSqlRow } from "../../src/store/eventStore.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";

const EVENT_COLUMNS = `position, ${COLUMNS}, hash`;

async function head(db: Database, streamId: string) {
  const [row] = await db.query<ChainSqlRow>(
    `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE stream_id = ? ORDER BY revision DESC LIMIT 1`,
    [streamId],
  );
  return chainedFromSqlRow(row!);
}

/** Appends an event the way an intruder with write access to the table would: past Registro. */
async function insertRaw(
  db: Database,
  streamId: string,
  revision: number,
  tag: string,
  hash: string,
  data: unknown = { key: "forged", value: tag },
) {
  await db.write(async (tx) => {
    await tx.execute(ensureEventTypeSql("RegisteredModelTagSet"));
    await tx.execute(ensureEventActorSql("intruder"));
    await tx.execute(
      `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, correlation_id, causation_id, hash)
       VALUES (?, ?, ${eventTypeCodeSql("RegisteredModelTagSet")}, 1, ?, ${eventActorRefSql("intruder")}, ?, NULL, NULL, ?)`,
      [streamId, revision, JSON.stringify(data), new Date("2026-03-01T00:00:00Z"), storedHash(hash)],
    );
  });
}

/** The hash a forger would compute for a tag event chained onto `previousHash`. */
const forgedHash = (
  streamId: string,
  revision: number,
  tag: string,
  previousHash: string | null,
  data: unknown = { key: "forged", value: tag },
) =>
  eventHash(
    {
      streamId,
      revision,
      type: "RegisteredModelTagSet",
      schemaVersion: 1,
      data,
      actor: "intruder",
      actorId: null,
      actorKind: null,
      actorCredential: null,
      occurredAt: new Date("2026-03-01T00:00:00Z"),
      correlationId: null,
      causationId: null,
    },
    previousHash,
  );

describe.each(await providers())("the online rebuild on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = commandDeps(t.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it(
    "keeps every write committed while it runs, before and after its swap",
    { timeout: 120_000 },
    async () => {
      for (let i = 0; i < 20; i += 1) {
        await createModelNamed(deps, `busy-${i}`, `busy-${i}`);
        await run(deps, live(`busy-${i}`), createVersion({ tags: [{ key: "n", value: String(i) }] }));
      }
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          const model = `busy-${written % 20}`;
          await run(deps, live(model), {
            type: "SetRegisteredModelTag",
            data: { key: `w${written}`, value: "x" },
          });
          written += 1;
        }
      })();
      let writtenWhenFilled = -1;
      const summary = await rebuildProjections(t.db, {
        // Writes that commit after the first pass must reach the new tables through the catch-up.
        onFilled: async () => {
          writtenWhenFilled = written;
          while (written < writtenWhenFilled + 5) await new Promise((resolve) => setTimeout(resolve, 5));
        },
      });
      const atSwap = written;
      // Keep writing a little after the swap: inline projection now writes the new tables.
      while (written < atSwap + 5) await new Promise((resolve) => setTimeout(resolve, 5));
      writing = false;
      await writer;

      expect(summary.breaks).toEqual([]);
      expect(writtenWhenFilled).toBeGreaterThanOrEqual(0);
      const online = await dumpProjections(t.db.reader);
      expect(online.registeredModelTags!.filter((tag) => /^w\d+$/.test(tag.key as string))).toHaveLength(
        written,
      );
      // A rebuild with nobody writing produces the same rows.
      await rebuildProjections(t.db);
      expect(await dumpProjections(t.db.reader)).toEqual(online);
    },
  );

  it(
    "reports forged and out-of-order events and stops each broken stream before them",
    { timeout: 60_000 },
    async () => {
      await createModelNamed(deps, "forged-hash", "forged-hash");
      await run(deps, live("forged-hash"), createVersion());
      await createModelNamed(deps, "forged-gap", "forged-gap");
      await createModelNamed(deps, "intact", "intact");
      const before = await dumpProjections(t.db.reader);

      // A wrong hash, then an event correctly chained onto it: both must stay out.
      const a = await head(t.db, "forged-hash");
      await insertRaw(t.db, "forged-hash", a.revision + 1, "one", "a".repeat(64));
      await insertRaw(
        t.db,
        "forged-hash",
        a.revision + 2,
        "two",
        forgedHash("forged-hash", a.revision + 2, "two", "a".repeat(64)),
      );
      // A hash a forger computed correctly, but a revision skipped.
      const b = await head(t.db, "forged-gap");
      await insertRaw(
        t.db,
        "forged-gap",
        b.revision + 2,
        "gap",
        forgedHash("forged-gap", b.revision + 2, "gap", b.hash),
      );
      const positionOf = async (streamId: string, revision: number) =>
        (await t.db.reader.event.findUniqueOrThrow({ where: { streamId_revision: { streamId, revision } } }))
          .position;

      const summary = await rebuildProjections(t.db);
      expect(summary.breaks).toEqual([
        {
          streamId: "forged-gap",
          revision: b.revision + 2,
          position: await positionOf("forged-gap", b.revision + 2),
          reason: `revision ${b.revision + 2} follows revision ${b.revision}`,
        },
        {
          streamId: "forged-hash",
          revision: a.revision + 1,
          position: await positionOf("forged-hash", a.revision + 1),
          reason: expect.stringMatching(/stored hash does not match/),
        },
      ]);
      expect(summary.skippedEvents).toBe(3);
      // Every stream, broken or not, is projected up to its last verified event: as before the forgery.
      expect(await dumpProjections(t.db.reader)).toEqual(before);
      // The intact stream is still writable; the broken ones refuse further writes (the append side).
      await run(deps, live("intact"), {
        type: "SetRegisteredModelTag",
        data: { key: "after", value: "yes" },
      });
    },
  );
  it(
    "reports a break on a later worker page than its stream's first events and stops the stream before it",
    { timeout: 60_000 },
    async () => {
      await createModelNamed(deps, "paged-a", "paged-a");
      await run(deps, live("paged-a"), createVersion({ tags: [{ key: "n", value: "1" }] }));
      await run(deps, live("paged-a"), createVersion());
      await createModelNamed(deps, "paged-b", "paged-b");
      const before = await dumpProjections(t.db.reader);
      const a = await head(t.db, "paged-a");
      // Pages of two events: paged-a's verified events fill pages before the one its forged event is on.
      expect(a.revision).toBeGreaterThan(2);
      await insertRaw(t.db, "paged-a", a.revision + 1, "late", "b".repeat(64));
      const position = (
        await t.db.reader.event.findUniqueOrThrow({
          where: { streamId_revision: { streamId: "paged-a", revision: a.revision + 1 } },
        })
      ).position;

      const summary = await rebuildProjections(t.db, { readPage: 2 });
      // Breaks found by earlier tests of this database come first; this one must be among them, once.
      expect(summary.breaks.filter((b) => b.streamId.startsWith("paged-"))).toEqual([
        {
          streamId: "paged-a",
          revision: a.revision + 1,
          position,
          reason: expect.stringMatching(/stored hash does not match/),
        },
      ]);
      expect(await dumpProjections(t.db.reader)).toEqual(before);
    },
  );
  it(
    "reports a correctly chained event whose payload does not parse and stops its stream before it",
    { timeout: 60_000 },
    async () => {
      await createModelNamed(deps, "unparsable", "unparsable");
      await run(deps, live("unparsable"), createVersion());
      const before = await dumpProjections(t.db.reader);
      const a = await head(t.db, "unparsable");
      const data = { key: 42, value: "not a tag key" };
      await insertRaw(
        t.db,
        "unparsable",
        a.revision + 1,
        "",
        forgedHash("unparsable", a.revision + 1, "", a.hash, data),
        data,
      );

      const summary = await rebuildProjections(t.db, { readPage: 2 });
      expect(summary.breaks.filter((b) => b.streamId === "unparsable")).toEqual([
        {
          streamId: "unparsable",
          revision: a.revision + 1,
          position: a.position + 1,
          reason: expect.stringMatching(/^the payload does not match its event type: /),
        },
      ]);
      expect(await dumpProjections(t.db.reader)).toEqual(before);
    },
  );
});
