// The two PostgreSQL roles of docs/audit.md: migrations run as the owner, the server as a role that
// may only read and append events. The registry works as that role, and as that role nothing can
// rewrite, erase or unprotect the log. Roles are cluster-wide, so each run makes its own and drops them.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMigrate } from "../../src/cli/migrateDatabase.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { createRegistro } from "../../src/registro.ts";
import type { Registro } from "../../src/registro.ts";
import { POSTGRES_URL, dropDatabaseWhenIdle, providers } from "../support/databases.ts";

const INSUFFICIENT_PRIVILEGE = "42501";
const onPostgres = (await providers()).includes("postgresql");

function urlFor(role: string, database: string): string {
  const url = new URL(POSTGRES_URL);
  url.username = role;
  url.password = "";
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A registry on `database`, with the database warnings it logged while starting. */
async function startRegistro(database: DatabaseConfig, dataDir: string) {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line !== "") lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const registro = await createRegistro({
    database,
    dataDir,
    logger: pino({ level: "warn" }, sink),
    auth: { osUserName: "local-admin" },
  });
  // Only the database warnings: AUTH=local warns too, and is not what these tests are about.
  const warnings = lines.filter((l) => l.level === 40 && l.msg.includes("DATABASE_URL")).map((l) => l.msg);
  return { registro, warnings };
}

describe.runIf(onPostgres)("database roles on PostgreSQL", () => {
  const suffix = randomUUID().replaceAll("-", "").slice(0, 12);
  const owner = `registro_owner_${suffix}`;
  const app = `registro_app_${suffix}`;
  const database = `registro_roles_${suffix}`;
  const ownerUrl = urlFor(owner, database);
  const appUrl = urlFor(app, database);
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-roles-"));

  beforeAll(async () => {
    await withClient(POSTGRES_URL, async (admin) => {
      await admin.query(`CREATE ROLE "${owner}" LOGIN`);
      await admin.query(`CREATE ROLE "${app}" LOGIN`);
      // The owner owns the database, hence (PostgreSQL 15+) its public schema: it may create tables there.
      await admin.query(`CREATE DATABASE "${database}" OWNER "${owner}"`);
    });
  });

  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    // Once the servers' connections have gone (see dropDatabaseWhenIdle).
    await dropDatabaseWhenIdle(POSTGRES_URL, database);
    await withClient(POSTGRES_URL, async (admin) => {
      await admin.query(`DROP ROLE IF EXISTS "${app}"`);
      await admin.query(`DROP ROLE IF EXISTS "${owner}"`);
    });
  });

  it("refuses to start as the application role on an unmigrated database, naming db:migrate", async () => {
    await expect(startRegistro({ provider: "postgresql", url: appUrl }, dataDir)).rejects.toThrow(
      /needs migrations .*npm run db:migrate.*DATABASE_OWNER_URL/,
    );
  });

  it("serves as the application role once the owner has migrated, and that role cannot touch the log", async () => {
    const printed: string[] = [];
    const code = await runMigrate([], { DATABASE_URL: appUrl, DATABASE_OWNER_URL: ownerUrl }, (line) =>
      printed.push(line),
    );
    expect(code).toBe(0);
    expect(printed[0]).toMatch(/^Applied 20261127000000_init, /);

    const { registro, warnings } = await startRegistro({ provider: "postgresql", url: appUrl }, dataDir);
    let server: Registro | null = registro;
    try {
      expect(registro.migrationsApplied).toEqual([]);
      expect(warnings).toEqual([]);
      const address = await registro.app.listen(0, "127.0.0.1");
      const gql = async (query: string) => {
        const response = await fetch(`http://127.0.0.1:${address.port}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query }),
        });
        return (await response.json()) as { data?: Record<string, any>; errors?: unknown };
      };
      for (const mutation of [
        `createRegisteredModel(input: {name: "churn", tags: [{key: "team", value: "growth"}]}) { __typename }`,
        `createModelVersion(input: {name: "churn", source: "s3://m/1"}) { __typename }`,
        `transitionModelVersionStage(input: {name: "churn", version: 1, stage: STAGING}) { __typename }`,
        `setRegisteredModelAlias(input: {name: "churn", version: 1, alias: "candidate"}) { __typename }`,
        `setRegisteredModelTag(input: {name: "churn", key: "team", value: "retention"}) { __typename }`,
      ]) {
        const result = await gql(`mutation { ${mutation} }`);
        expect(result.errors, mutation).toBeUndefined();
        expect(Object.values(result.data ?? {})[0], mutation).toMatchObject({
          __typename: expect.stringMatching(/Payload$/),
        });
      }
      const read = await gql(
        `{ registeredModel(name: "churn") { tags { key value } aliases { alias version } history(first: 10) { totalCount } } }`,
      );
      expect(read.errors).toBeUndefined();
      expect(read.data?.registeredModel).toEqual({
        tags: [{ key: "team", value: "retention" }],
        aliases: [{ alias: "candidate", version: 1 }],
        history: { totalCount: 5 },
      });
      await registro.close();
      server = null;
    } finally {
      await server?.close();
    }

    // The online rebuild creates shadow tables and swaps them in: the application role may not, the
    // owner does it (as projections:rebuild does with DATABASE_OWNER_URL), and the server, running as
    // the application role, keeps its privileges on the swapped-in tables.
    const db = openDatabase({ provider: "postgresql", url: appUrl });
    try {
      await expect(rebuildProjections(db)).rejects.toThrow(/permission denied/);
      const owned = { provider: "postgresql" as const, url: ownerUrl };
      expect((await rebuildProjections(db, { connection: owned })).events).toBeGreaterThanOrEqual(5);
      expect(await db.reader.registeredModel.count()).toBeGreaterThan(0);
      await db.write((tx) => tx.execute("UPDATE registered_models SET description = description"));
    } finally {
      await db.close();
    }

    const snapshot = () =>
      withClient(ownerUrl, async (c) => (await c.query("SELECT * FROM events ORDER BY position")).rows);
    const before = await snapshot();
    expect(before.length).toBeGreaterThanOrEqual(5);

    const attempts = [
      `UPDATE events SET data = '{}'`,
      `DELETE FROM events`,
      `TRUNCATE events`,
      `ALTER TABLE events DISABLE TRIGGER events_refuse_update_delete`,
      `ALTER TABLE events DISABLE TRIGGER ALL`,
      `DROP TRIGGER events_refuse_update_delete ON events`,
      `ALTER TABLE events DROP CONSTRAINT events_hash_present`,
      `DROP TABLE events`,
      `CREATE OR REPLACE FUNCTION registro_refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
      `DELETE FROM "_prisma_migrations"`,
    ];
    await withClient(appUrl, async (client) => {
      for (const sql of attempts) {
        const error = await client.query(sql).then(
          () => null,
          (e: unknown) => e as { code?: string },
        );
        expect(error?.code, sql).toBe(INSUFFICIENT_PRIVILEGE);
      }
    });
    expect(await snapshot()).toEqual(before);
  });

  it("takes back, on every db:migrate run, whatever the application role was granted beyond its list", async () => {
    await withClient(urlFor("postgres", database), (c) =>
      c.query(`GRANT UPDATE, TRUNCATE ON events TO "${app}"`),
    );
    const printed: string[] = [];
    expect(
      await runMigrate([], { DATABASE_URL: appUrl, DATABASE_OWNER_URL: ownerUrl }, (line) =>
        printed.push(line),
      ),
    ).toBe(0);
    expect(printed[0]).toBe("The schema is current.");
    const held = await withClient(appUrl, async (c) => {
      const { rows } = await c.query<{ privilege: string; held: boolean }>(
        `SELECT p AS privilege, has_table_privilege('events', p) AS held
           FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p`,
      );
      return rows.filter((r) => r.held).map((r) => r.privilege);
    });
    expect(held).toEqual(["SELECT", "INSERT"]);
  });

  it("still serves with a single role that owns the tables, warning that it could disable the triggers", async () => {
    const { registro, warnings } = await startRegistro({ provider: "postgresql", url: ownerUrl }, dataDir);
    await registro.close();
    expect(warnings).toEqual([expect.stringMatching(/owns the event table.*docs\/audit\.md/)]);
  });
});
