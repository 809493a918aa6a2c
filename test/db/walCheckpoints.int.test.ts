// The server's SQLite writer checkpoints the WAL from a worker thread (src/db/walCheckpointer.ts)
// instead of inside the commit that crosses 1,000 pages; the WAL stays bounded even when the worker
// does not run, and a lone command's failure still rolls back only what it wrote.
import { statSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { createTestDatabase } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";

const ROW = "x".repeat(3_000);

let opened: { test: TestDatabase; db: Database } | null = null;
afterEach(async () => {
  await opened?.db.close();
  await opened?.test.destroy();
  opened = null;
});

async function open(options: Parameters<typeof openDatabase>[1]) {
  const test = await createTestDatabase("sqlite");
  const db = openDatabase(test.config, options);
  opened = { test, db };
  await db.write((tx) => tx.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
  const file = test.config.provider === "sqlite" ? test.config.file : "";
  return { db, file };
}

const fill = async (db: Database, commits: number) => {
  for (let i = 0; i < commits; i++)
    await db.write((tx) => tx.execute("INSERT INTO scratch (body) VALUES (?)", [ROW]));
};

describe("WAL checkpoints on SQLite", () => {
  it("copies committed pages into the database file from the worker, without closing", async () => {
    const { db, file } = await open({ backgroundCheckpoints: { intervalMs: 20 } });
    const before = statSync(file).size;
    await fill(db, 600);
    // About 2 MB of rows: with SQLite's automatic checkpoint off, only the worker moves them.
    await eventually(() => statSync(file).size - before > 1_500_000, 10_000, "the worker's checkpoint");
    const rows = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM scratch");
    expect(rows[0]?.n).toBe(600);
  });

  it("keeps the WAL bounded when the worker never runs: the writer checkpoints after its commit", async () => {
    const { db, file } = await open({ backgroundCheckpoints: { intervalMs: 3_600_000, maxWalFrames: 100 } });
    await fill(db, 1_000);
    // 3 MB written; the WAL is reused once checkpointed, so its file stays near the bound.
    expect(statSync(`${file}-wal`).size).toBeLessThan(1_500_000);
    expect(statSync(file).size).toBeGreaterThan(2_500_000);
  });

  it("rolls back a lone command that fails, and commits the next", async () => {
    const { db } = await open({ backgroundCheckpoints: true });
    await expect(
      db.write(async (tx) => {
        await tx.execute("INSERT INTO scratch (body) VALUES (?)", ["kept?"]);
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    await db.write((tx) => tx.execute("INSERT INTO scratch (body) VALUES (?)", ["kept"]));
    const rows = await db.query<{ body: string }>("SELECT body FROM scratch");
    expect(rows.map((r) => r.body)).toEqual(["kept"]);
  });

  it("gives each command of a group its own savepoint: a failure rolls back only its own writes", async () => {
    const { db } = await open({ backgroundCheckpoints: true });
    const results = await Promise.allSettled([
      db.write((tx) => tx.execute("INSERT INTO scratch (body) VALUES (?)", ["a"])),
      db.write(async (tx) => {
        await tx.execute("INSERT INTO scratch (body) VALUES (?)", ["b"]);
        throw new Error("refused");
      }),
      db.write((tx) => tx.execute("INSERT INTO scratch (body) VALUES (?)", ["c"])),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const rows = await db.query<{ body: string }>("SELECT body FROM scratch ORDER BY id");
    expect(rows.map((r) => r.body)).toEqual(["a", "c"]);
  });
});
