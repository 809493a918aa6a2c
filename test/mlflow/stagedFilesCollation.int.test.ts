// The staging area's folder reads (src/mlflow/stagedFiles.ts) take exactly the folder named whatever
// the database compares text by: SQLite (bytes), PostgreSQL with the test server's collation, and a
// PostgreSQL database created with an ICU collation, in which `CaseDir/x` sorts between `casedir/`
// and `casedir0` (letter case weighs less than the letters), so a range compared by the database's
// collation would take another folder's rows. Small limits stand for a version's 10,000 files.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import {
  listStaged,
  stagedFilesUnder,
  stagedPathClash,
  writeStagedFile,
} from "../../src/mlflow/stagedFiles.ts";
import {
  POSTGRES_URL,
  dropDatabaseWhenIdle,
  openTestDatabase,
  postgresReachable,
  providers,
} from "../support/databases.ts";

/** A migrated PostgreSQL database whose text columns compare by ICU's English collation. */
async function openIcuDatabase(): Promise<{ db: Database; close: () => Promise<void> }> {
  const name = `registro_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(
      `CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'`,
    );
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const config: DatabaseConfig = { provider: "postgresql", url: url.toString() };
  await migrate(config);
  const db = openDatabase(config);
  return {
    db,
    async close() {
      await db.close();
      await dropDatabaseWhenIdle(POSTGRES_URL, name);
    },
  };
}

const DATABASES = [
  ...(await providers()).map((provider) => ({ name: provider, open: () => openTestDatabase(provider) })),
  ...((await postgresReachable()) ? [{ name: "postgresql, ICU collation 'en'", open: openIcuDatabase }] : []),
];

describe.each(DATABASES)("MLflow staging folders on $name", ({ open }) => {
  let db: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await open());
    // The other folder's files come first (in sort order and in the table): they would fill a
    // window the folder named shares (101: more than the 100 rows a PUT's folder check once read).
    const others = Array.from({ length: 101 }, (_, i) => `CaseDir/sub/f${String(i).padStart(3, "0")}`);
    for (const path of [...others, "casedir/g1", "casedir/g2", "casedir/g3"])
      await writeStagedFile(db, {
        path,
        sha256: "0".repeat(64),
        size: 1,
        mediaType: "application/octet-stream",
        createdAt: new Date(),
        createdBy: "test",
      });
  });
  afterAll(async () => {
    await close?.();
  });

  it("takes the files of the folder named, and only them, within the limit", async () => {
    expect((await stagedFilesUnder(db, "casedir", 2)).map((f) => f.path)).toEqual([
      "casedir/g1",
      "casedir/g2",
      "casedir/g3",
    ]);
    expect((await stagedFilesUnder(db, "CaseDir", 2)).map((f) => f.path)).toEqual([
      "CaseDir/sub/f000",
      "CaseDir/sub/f001",
      "CaseDir/sub/f002",
    ]);
    expect(await stagedFilesUnder(db, "CASEDIR", 2)).toEqual([]);
  });

  it("lists the sub-folders of the folder named only", async () => {
    expect(await listStaged(db, "casedir")).toMatchObject({ dirs: [] });
    expect(await listStaged(db, "CaseDir")).toMatchObject({ files: [], dirs: ["sub"] });
  });

  it("tells a folder by its exact name", async () => {
    expect(await stagedPathClash(db, "CASEDIR")).toBeNull();
    expect(await stagedPathClash(db, "casedir")).toBe("'casedir' is a folder (it holds 'casedir/g1')");
  });
});
