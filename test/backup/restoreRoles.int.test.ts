// Restoring into PostgreSQL set up with the two roles of docs/audit.md: the application role may
// append events but not move the position sequence, so a restore as that role alone is refused with
// what to set (and leaves no event behind), and with DATABASE_OWNER_URL it succeeds and the server's
// role continues the log right after the backup's position; the signed checkpoints are restored by
// the application role too (audit_checkpoints, like events, accepts its INSERTs).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCheckpoint, verifyStoredCheckpoints } from "../../src/audit/checkpoints.ts";
import { loadOrCreateSigningKey } from "../../src/audit/signingKey.ts";
import { backup } from "../../src/backup/backup.ts";
import { RestoreRefusedError, restore } from "../../src/backup/restore.ts";
import { runMigrate } from "../../src/cli/migrateDatabase.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { POSTGRES_URL, dropDatabaseWhenIdle, openTestDatabase, providers } from "../support/databases.ts";

const onPostgres = (await providers()).includes("postgresql");

function urlFor(role: string, database: string): string {
  const url = new URL(POSTGRES_URL);
  url.username = role;
  url.password = "";
  url.pathname = `/${database}`;
  return url.toString();
}

async function asAdmin(work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

describe.runIf(onPostgres)("restore into PostgreSQL with an owner and an application role", () => {
  const suffix = randomUUID().replaceAll("-", "").slice(0, 12);
  const owner = `registro_owner_${suffix}`;
  const app = `registro_app_${suffix}`;
  const database = `registro_restore_roles_${suffix}`;
  const work = mkdtempSync(path.join(tmpdir(), "registro-restore-roles-"));
  const backupDir = path.join(work, "backup");
  let position = 0;

  beforeAll(async () => {
    await asAdmin(async (admin) => {
      await admin.query(`CREATE ROLE "${owner}" LOGIN`);
      await admin.query(`CREATE ROLE "${app}" LOGIN`);
      await admin.query(`CREATE DATABASE "${database}" OWNER "${owner}"`);
    });
    const migrated = await runMigrate(
      [],
      { DATABASE_URL: urlFor(app, database), DATABASE_OWNER_URL: urlFor(owner, database) },
      () => undefined,
    );
    expect(migrated).toBe(0);
    const source = await openTestDatabase("sqlite");
    try {
      const deps = commandDeps(source.db);
      await createModelNamed(deps, "roles-id", "roles");
      await run(deps, live("roles"), createVersion());
      const key = loadOrCreateSigningKey(path.join(work, "audit-signing-key.pem"));
      await createCheckpoint(source.db, key, new Date("2026-12-02T12:00:00Z"));
      position = (await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: backupDir }))
        .position;
    } finally {
      await source.close();
    }
  });

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    // Once the restore's and the checks' connections have gone: killed while closing, their FATAL
    // error surfaced as an uncaught exception of the test run.
    await dropDatabaseWhenIdle(POSTGRES_URL, database);
    await asAdmin(async (admin) => {
      await admin.query(`DROP ROLE IF EXISTS "${app}"`);
      await admin.query(`DROP ROLE IF EXISTS "${owner}"`);
    });
  });

  it("is refused as the application role alone, with nothing written", async () => {
    const target: DatabaseConfig = { provider: "postgresql", url: urlFor(app, database) };
    await expect(
      restore({ from: backupDir, database: target, blobDir: path.join(work, "target-blobs") }),
    ).rejects.toThrow(
      new RestoreRefusedError(
        "DATABASE_URL's role may not move the event position sequence: set DATABASE_OWNER_URL to the role that owns the tables (docs/audit.md) and restore again",
      ),
    );
    const db = openDatabase(target);
    try {
      expect(await db.reader.event.count()).toBe(0);
    } finally {
      await db.close();
    }
  });

  it("succeeds with the owner's URL, and the application role continues the log", async () => {
    const target: DatabaseConfig = {
      provider: "postgresql",
      url: urlFor(app, database),
      ownerUrl: urlFor(owner, database),
    };
    const restored = await restore({
      from: backupDir,
      database: target,
      blobDir: path.join(work, "target-blobs"),
    });
    expect(restored).toMatchObject({ position, checkpoints: 1 });
    const db = openDatabase({ provider: "postgresql", url: urlFor(app, database) });
    try {
      // The application role inserted the signed checkpoint as it was, and it verifies.
      expect(await verifyStoredCheckpoints(db, { allRoots: true })).toMatchObject({
        ok: true,
        checked: 1,
        latest: { position },
      });
      const next = await run(commandDeps(db), live("roles"), createVersion());
      expect(next.events[0]!.position).toBe(position + 1);
    } finally {
      await db.close();
    }
  });
});
