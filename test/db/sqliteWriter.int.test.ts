// The server's SQLite writer connection (src/db/database.ts): its settings, and a group commit whose
// savepoints' statement journals outgrow SQLite's 64 KiB spill size, which it keeps in memory
// (temp_store = MEMORY) instead of a temporary file per group.
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { createTestDatabase } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

let opened: { test: TestDatabase; db: Database } | null = null;
afterEach(async () => {
  await opened?.db.close();
  await opened?.test.destroy();
  opened = null;
});

async function open() {
  const test = await createTestDatabase("sqlite");
  const db = openDatabase(test.config, { backgroundCheckpoints: true });
  opened = { test, db };
  await db.write((tx) =>
    tx.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, owner INTEGER, body TEXT)"),
  );
  return db;
}

describe("the SQLite writer", () => {
  it("commits with synchronous = FULL in WAL mode, checks foreign keys, keeps temporary data in memory", async () => {
    const db = await open();
    const setting = (name: string) =>
      db.write(async (tx) => Object.values((await tx.query(`PRAGMA ${name}`))[0] ?? {})[0]);
    expect(await setting("journal_mode")).toBe("wal");
    expect(await setting("synchronous")).toBe(2);
    expect(await setting("foreign_keys")).toBe(1);
    expect(await setting("temp_store")).toBe(2);
  });

  it("rolls back one command of a group after the group's statement journal passed 64 KiB", async () => {
    const db = await open();
    await db.write(async (tx) => {
      for (let i = 0; i < 64; i++)
        await tx.execute("INSERT INTO scratch (owner, body) VALUES (0, ?)", ["s".repeat(4_000)]);
    });
    // Eight commands in one tick share one transaction, each in its own savepoint. Each rewrites the
    // seed rows (about 256 KB of pages journaled per savepoint) and adds its own; the fourth fails.
    const writes = Array.from({ length: 8 }, (_, owner) =>
      db.write(async (tx) => {
        await tx.execute("UPDATE scratch SET body = ? WHERE owner = 0", [String(owner).repeat(4_000)]);
        await tx.execute("INSERT INTO scratch (owner, body) VALUES (?, ?)", [owner + 1, "r".repeat(4_000)]);
        if (owner === 3) throw new Error("refused");
        return owner;
      }),
    );
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    const owners = await db.query<{ owner: number }>(
      "SELECT owner FROM scratch WHERE owner > 0 ORDER BY owner",
    );
    expect(owners.map((r) => r.owner)).toEqual([1, 2, 3, 5, 6, 7, 8]);
    // The last command that committed wrote the seed rows last; the failed one left no trace.
    const bodies = await db.query<{ body: string }>("SELECT DISTINCT body FROM scratch WHERE owner = 0");
    expect(bodies).toEqual([{ body: "7".repeat(4_000) }]);
  });
});
