// Unique violations surface differently per provider through the driver adapters; the application
// relies on telling the events key apart from the live-name index on both.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tx } from "../../src/db/database.ts";
import { isUniqueViolation } from "../../src/store/uniqueViolation.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const now = new Date();
const model = (id: string, name: string, deleted = false) => ({
  id,
  name,
  deleted,
  createdAt: now,
  updatedAt: now,
  createdBy: "t",
  revision: 1,
  lastVersion: 0,
});
const event = (streamId: string, revision: number) => ({
  streamId,
  revision,
  type: "RegisteredModelDeleted",
  schemaVersion: 1,
  data: { name: "x" },
  actor: "t",
  occurredAt: now,
});

describe.each(await providers())("isUniqueViolation on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    await t.db.write(async (tx) => {
      await tx.registeredModel.create({ data: model("a", "shared") });
      await tx.event.create({ data: event("s", 1) });
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
    const error = await errorOf((tx) => tx.event.create({ data: event("s", 1) }));
    expect(isUniqueViolation(error, "events")).toBe(true);
    expect(isUniqueViolation(error, "registered_models")).toBe(false);
  });

  it("recognises a second live model with the same name as the registered_models name index only", async () => {
    const error = await errorOf((tx) => tx.registeredModel.create({ data: model("b", "shared") }));
    expect(isUniqueViolation(error, "registered_models")).toBe(true);
    expect(isUniqueViolation(error, "events")).toBe(false);
  });

  it("allows the name again when the other holder is deleted, and ignores other errors", async () => {
    await t.db.write((tx) => tx.registeredModel.create({ data: model("c", "shared", true) }));
    expect(await t.db.reader.registeredModel.count({ where: { name: "shared" } })).toBe(2);
    expect(isUniqueViolation(new Error("P2002"), "events")).toBe(false);
    const notUnique = await errorOf((tx) =>
      tx.registeredModelTag.create({ data: { modelId: "missing", key: "k", value: "v" } }),
    );
    expect(isUniqueViolation(notUnique, "registered_models")).toBe(false);
  });
});
