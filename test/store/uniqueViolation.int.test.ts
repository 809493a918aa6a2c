// Unique violations surface differently per driver (better-sqlite3 names columns, pg the constraint);
// the application relies on telling the events key apart from the live-name index on both.
import { storedHash } from "../../src/store/eventCodec.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tx } from "../../src/db/database.ts";
import { isUniqueViolation } from "../../src/store/uniqueViolation.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";

const now = new Date();
const insertModel = (tx: Tx, id: string, name: string, deleted = false) =>
  tx.execute(
    "INSERT INTO registered_models (id, name, description, deleted, created_at, updated_at, created_by, revision, last_version) VALUES (?, ?, '', ?, ?, ?, 't', 1, 0)",
    [id, name, deleted, now, now],
  );
const insertEvent = async (tx: Tx, streamId: string, revision: number) => {
  await tx.execute(ensureEventTypeSql("RegisteredModelDeleted"));
  await tx.execute(ensureEventActorSql("t"));
  return tx.execute(
    `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash) VALUES (?, ?, ${eventTypeCodeSql("RegisteredModelDeleted")}, 1, ?, ${eventActorRefSql("t")}, ?, ?)`,
    [streamId, revision, JSON.stringify({ name: "x" }), now, storedHash("0".repeat(64))],
  );
};

describe.each(await providers())("isUniqueViolation on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    await t.db.write(async (tx) => {
      await insertModel(tx, "a", "shared");
      await insertEvent(tx, "s", 1);
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function errorOf(work: (tx: Tx) => Promise<unknown>): Promise<unknown> {
    try {
      await t.db.write(work);
    } catch (error) {
      return error;
    }
    throw new Error("expected the write to fail");
  }

  it("recognises a duplicate (stream, revision) as the events key only", async () => {
    const error = await errorOf((tx) => insertEvent(tx, "s", 1));
    expect(isUniqueViolation(error, "event_revision")).toBe(true);
    expect(isUniqueViolation(error, "live_model_name")).toBe(false);
  });

  it("recognises a second live model with the same name as the live-name index only", async () => {
    const error = await errorOf((tx) => insertModel(tx, "b", "shared"));
    expect(isUniqueViolation(error, "live_model_name")).toBe(true);
    expect(isUniqueViolation(error, "event_revision")).toBe(false);
  });

  it("allows the name again when the other holder is deleted, and ignores other errors", async () => {
    await t.db.write((tx) => insertModel(tx, "c", "shared", true));
    expect(await t.db.reader.registeredModel.count({ where: { name: "shared" } })).toBe(2);
    expect(
      isUniqueViolation(
        new Error("UNIQUE constraint failed: events.stream_id, events.revision"),
        "event_revision",
      ),
    ).toBe(false);
    const notUnique = await errorOf((tx) =>
      tx.execute("INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)", [
        "missing",
        "k",
        "v",
      ]),
    );
    expect(isUniqueViolation(notUnique, "live_model_name")).toBe(false);
  });

  it("rolls back only the failed command when writes share a commit", async () => {
    const results = await Promise.allSettled([
      t.db.write((tx) => insertModel(tx, "g1", "group-1")),
      t.db.write((tx) => insertModel(tx, "g2", "shared")),
      t.db.write((tx) => insertModel(tx, "g3", "group-3")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const names = (
      await t.db.reader.registeredModel.findMany({
        where: { id: { in: ["g1", "g2", "g3"] } },
        orderBy: { id: "asc" },
      })
    ).map((m) => m.name);
    expect(names).toEqual(["group-1", "group-3"]);
  });
});
