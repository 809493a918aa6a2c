// The database itself refuses to change the log: checked with a raw driver, outside the
// application, so no code path of ours can be what stops it.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/config.ts";
import { appendToStream, readStream } from "../../src/store/eventStore.ts";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { modelCreated, versionCreated } from "../support/events.ts";
import { userActor } from "../support/actors.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";

/** Runs one statement on a fresh raw connection; resolves to the error it raised, or null. */
async function rawError(config: DatabaseConfig, sql: string): Promise<Error | null> {
  if (config.provider === "sqlite") {
    const raw = new BetterSqlite3(config.file, { timeout: 10_000 });
    try {
      raw.prepare(sql).run();
      return null;
    } catch (error) {
      return error as Error;
    } finally {
      raw.close();
    }
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(sql);
    return null;
  } catch (error) {
    return error as Error;
  } finally {
    await client.end();
  }
}

describe.each(await providers())("the events table on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let stored: RecordedEvent[];
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    stored = await t.db.write((tx) =>
      appendToStream(tx, "s-1", 0, [modelCreated("m"), versionCreated(1)], {
        actor: userActor("alice"),
        occurredAt: new Date(),
        correlationId: null,
        causationId: null,
      }),
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const statements: [what: string, sql: string][] = [
    [
      "UPDATE of one row",
      `UPDATE "events" SET "type" = "type" + 1, "actor_ref" = "actor_ref" + 1 WHERE "revision" = 1`,
    ],
    ["UPDATE of the payload", `UPDATE "events" SET "data" = '{}'`],
    ["DELETE of one row", `DELETE FROM "events" WHERE "revision" = 2`],
    ["DELETE of every row", `DELETE FROM "events"`],
  ];
  if (provider === "postgresql") statements.push(["TRUNCATE", `TRUNCATE "events"`]);

  it.each(statements)("refuses %s and leaves the rows unchanged", async (_what, sql) => {
    const error = await rawError(t.config, sql);
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/registro: events are immutable/);
    expect(await readStream(t.db.reader, "s-1")).toEqual(stored);
  });

  /** `hash` as hex digits of a BLOB / bytea literal, or `text:…` for a text literal. */
  const rawInsert = (hash: string | null) => {
    const value =
      hash === null
        ? "NULL"
        : hash.startsWith("text:")
          ? `'${hash.slice(5)}'`
          : provider === "sqlite"
            ? `X'${hash}'`
            : `'\\x${hash}'::bytea`;
    return provider === "sqlite"
      ? `INSERT INTO "events" ("stream_id","revision","type","schema_version","data","actor_ref","occurred_at","hash") VALUES ('s-raw',1,${eventTypeCodeSql("RegisteredModelDeleted")},1,'{"name":"x"}',${eventActorRefSql("raw")},0,${value})`
      : `INSERT INTO "events" ("stream_id","revision","type","schema_version","data","actor_ref","occurred_at","hash") VALUES ('s-raw',1,${eventTypeCodeSql("RegisteredModelDeleted")},1,'{"name":"x"}',${eventActorRefSql("raw")},now(),${value})`;
  };

  it.each([
    ["no hash", null],
    ["a hash of the wrong length", "ab12"],
    ["a hash as 64 hex characters of text instead of its 32 bytes", `text:${"0".repeat(64)}`],
  ])("refuses an INSERT with %s and stores nothing", async (_what, hash) => {
    expect(await rawError(t.config, ensureEventTypeSql("RegisteredModelDeleted"))).toBeNull();
    expect(await rawError(t.config, ensureEventActorSql("raw"))).toBeNull();
    const error = await rawError(t.config, rawInsert(hash));
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/chain hash|events_hash_present/);
    expect(await readStream(t.db.reader, "s-raw")).toHaveLength(0);
  });

  it("accepts an INSERT with a well-formed hash (whether it chains is checked by appends and audit:verify)", async () => {
    expect(await rawError(t.config, ensureEventTypeSql("RegisteredModelDeleted"))).toBeNull();
    expect(await rawError(t.config, ensureEventActorSql("raw"))).toBeNull();
    expect(await rawError(t.config, rawInsert("0".repeat(64)))).toBeNull();
    expect(await readStream(t.db.reader, "s-raw")).toHaveLength(1);
  });
});
