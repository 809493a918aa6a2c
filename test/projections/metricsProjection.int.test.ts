// model_version_metrics is the metrics JSON of model_versions as rows, so that metric thresholds and
// metric order run on an index. It must never disagree with the JSON: not after random commands
// (fed inline by the projection writer), not after a rebuild (the same writer replaying the log),
// and not in a database that existed before the table did (the migration's backfill, which must
// produce what the writer would have, creator ids and generated search columns included).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS_ACTOR } from "../../src/access/actor.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { listMigrations } from "../../src/db/migrate.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps } from "../support/application.ts";
import { POSTGRES_URL, dropDatabaseWhenIdle, openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import type { Random } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";

const SEARCH_MIGRATION = "20261203000000_search";

// Names that are awkward as object keys or SQL text, and values at the edges of a double.
const KEYS = ["auc", "f1", "loss", "toString", "hasOwnProperty", "r²", "val/acc", "k".repeat(250)];
const VALUES = [0, -0, 1, -1, 0.1 + 0.2, 0.3, 1e300, -1e300, 5e-324, 1.7976931348623157e308, 123456789.125];

const randomMetrics = (rng: Random) => {
  const metrics = new Map<string, number>();
  for (let i = rng.int(0, 5); i > 0; i--)
    metrics.set(rng.pick(KEYS), rng.chance(0.5) ? rng.pick(VALUES) : rng.next() * rng.int(-1000, 1000));
  return [...metrics].map(([key, value]) => ({ key, value }));
};

/** Versions with varied metrics, overwritten, deleted and restored; some before authentication. */
async function runMetricCommands(deps: CommandDeps, rng: Random, count: number) {
  const models = ["metrics-a", "metrics-b", "metrics-c"];
  const versions = new Map<string, number>();
  for (const name of models) {
    const modelId = randomUUID();
    await executeCommand(
      deps,
      { kind: "new", modelId },
      { type: "CreateRegisteredModel", data: { modelId, name, description: `${name} 100% _x_`, tags: [] } },
      actor,
    );
  }
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    const name = rng.pick(models);
    const last = versions.get(name) ?? 0;
    const version = rng.int(1, Math.max(1, last));
    const draw = rng.next();
    const command: RegisteredModelCommand =
      draw < 0.35 || last === 0
        ? {
            type: "CreateModelVersion",
            data: {
              source: "s3://m",
              runId: null,
              description: rng.pick(["", "50% off", "a_b", "back\\slash"]),
              tags: [],
              params: {},
              metrics: randomMetrics(rng),
            },
          }
        : draw < 0.85
          ? { type: "LogModelVersionMetrics", data: { version, metrics: randomMetrics(rng) } }
          : draw < 0.95
            ? { type: "DeleteModelVersion", data: { version } }
            : { type: "RestoreModelVersion", data: { version } };
    // Some versions are registered as events recorded before authentication were: without an id.
    const metadata = rng.chance(0.2) ? { ...actor, actor: ANONYMOUS_ACTOR } : actor;
    const outcome = await executeCommand(deps, { kind: "live", name }, command, metadata);
    if (outcome instanceof Error) continue;
    accepted++;
    if (command.type === "CreateModelVersion") versions.set(name, last + 1);
  }
  return accepted;
}

describe.each(await providers())("the metrics projection on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;

  /** Each version's metrics JSON beside its rows in model_version_metrics. */
  async function metricsBothWays() {
    const [versions, rows] = await Promise.all([
      t.db.reader.modelVersion.findMany({ select: { id: true, metrics: true }, orderBy: { id: "asc" } }),
      t.db.reader.modelVersionMetric.findMany({
        select: { key: true, value: true, version: { select: { id: true } } },
        orderBy: [{ versionRef: "asc" }, { key: "asc" }],
      }),
    ]);
    const fromRows = new Map<string, Record<string, number>>(versions.map((v) => [v.id, {}]));
    for (const row of rows) fromRows.get(row.version.id)![row.key] = row.value;
    return {
      json: versions.map((v) => [v.id, v.metrics]),
      rows: versions.map((v) => [v.id, fromRows.get(v.id)]),
      count: rows.length,
    };
  }

  beforeAll(async () => {
    t = await openTestDatabase(provider);
    let tick = Date.parse("2026-03-01T00:00:00Z");
    deps = { ...commandDeps(t.db), clock: () => new Date((tick += 1000)) };
    await runRandomCommands(deps, seededRandom(11), 200);
    expect(await runMetricCommands(deps, seededRandom(12), 400)).toBeGreaterThan(250);
  }, 120_000);
  afterAll(async () => t?.close());

  it("holds exactly each version's metrics JSON after random commands, and again after a rebuild", async () => {
    const inline = await metricsBothWays();
    expect(inline.count).toBeGreaterThan(300);
    expect(inline.rows).toEqual(inline.json);
    const before = await dumpProjections(t.db.reader);

    await t.db.write(async (tx) => {
      await tx.execute("DELETE FROM model_version_metrics WHERE key = ?", ["auc"]);
      await tx.execute("UPDATE model_version_metrics SET value = value + 1");
    });
    expect((await metricsBothWays()).rows).not.toEqual(inline.json);

    await rebuildProjections(t.db);
    const rebuilt = await metricsBothWays();
    expect(rebuilt.rows).toEqual(rebuilt.json);
    expect(rebuilt.json).toEqual(inline.json);
    expect(await dumpProjections(t.db.reader)).toEqual(before);
  });

  it("is backfilled by the migration, with creator ids and search columns, as the writer projects them", async () => {
    const older = await databaseBefore(provider, SEARCH_MIGRATION);
    const current = await rawDatabase(t.config);
    try {
      // What a registry that never had the new tables would hold: its log and its old projections.
      for (const table of ["events", "registered_models", "model_versions"])
        await older.copyFrom(current, table, table === "events" ? eventsWithTypeNames : undefined);
      await older.exec(listMigrations(provider).find((m) => m.name === SEARCH_MIGRATION)!.sql);

      // Metric rows name their version by id at that migration, by `ref` since 20261216000000_version_ref;
      // the creator id is a column at that migration, the creation event's actor since
      // 20261217000000_version_creator.
      const snapshot = async (db: RawDatabase, layout: "then" | "now") => ({
        metrics: await db.query(
          layout === "then"
            ? "SELECT version_id, key, value FROM model_version_metrics ORDER BY 1, key"
            : `SELECT v.id AS version_id, key, value FROM model_version_metrics
               JOIN model_versions v ON v.ref = version_ref ORDER BY 1, key`,
        ),
        versions: await db.query(
          layout === "then"
            ? "SELECT id, created_by_id, search_description FROM model_versions ORDER BY id"
            : `SELECT v.id, a.actor_id AS created_by_id, v.search_description FROM model_versions v
               LEFT JOIN events e ON e.position = v.ref LEFT JOIN event_actors a ON a.id = e.actor_ref ORDER BY v.id`,
        ),
        models: await db.query(
          "SELECT id, search_name, search_description FROM registered_models ORDER BY id",
        ),
      });
      const expected = await snapshot(current, "now");
      expect(expected.metrics.length).toBeGreaterThan(300);
      const creators = expected.versions.map((v) => v.created_by_id);
      expect(creators).toContain(null);
      expect(creators).toContain("user-tester");
      expect(await snapshot(older, "then")).toEqual(expected);
    } finally {
      await current.close();
      await older.drop();
    }
  });
});

// ---- Raw access to a database, below Prisma and the migration runner ---------------------------

/**
 * The events with their types' names and their actors' values, as schemas before
 * 20261214000000_event_type and 20261215000000_event_actor store them.
 */
const eventsWithTypeNames = (schema: string) =>
  `(SELECT e.position, e.stream_id, e.revision, (SELECT name FROM ${schema}event_types WHERE code = e.type) AS type,
      e.schema_version, e.data, ${["actor", "actor_id", "actor_kind", "actor_credential"]
        .map((c) => `(SELECT ${c} FROM ${schema}event_actors WHERE id = e.actor_ref) AS ${c}`)
        .join(", ")}, e.occurred_at,
      e.correlation_id, e.causation_id FROM ${schema}events e)`;

interface RawDatabase {
  query(sql: string): Promise<Record<string, unknown>[]>;
  exec(sql: string): Promise<void>;
  /**
   * Copies every row of `table` from another database of the same provider (columns this one has),
   * read from `from` (a FROM item in the source, its table names prefixed with the given schema).
   */
  copyFrom(source: RawDatabase, table: string, from?: (schema: string) => string): Promise<void>;
  close(): Promise<void>;
  drop(): Promise<void>;
}

async function rawDatabase(config: DatabaseConfig, drop: () => Promise<void> = () => Promise.resolve()) {
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    const raw: RawDatabase & { file: string } = {
      file: config.file,
      query: (sql) => Promise.resolve(db.prepare(sql).all() as Record<string, unknown>[]),
      exec(sql) {
        db.exec(sql);
        return Promise.resolve();
      },
      copyFrom(source, table, from = (schema) => `${schema}"${table}"`) {
        const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[])
          .map((c) => `"${c.name}"`)
          .join(", ");
        db.prepare("ATTACH DATABASE ? AS source").run((source as typeof raw).file);
        try {
          db.exec(`INSERT INTO main."${table}" (${columns}) SELECT ${columns} FROM ${from("source.")}`);
        } finally {
          db.exec("DETACH DATABASE source");
        }
        return Promise.resolve();
      },
      close() {
        db.close();
        return Promise.resolve();
      },
      async drop() {
        db.close();
        await drop();
      },
    };
    return raw;
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  const raw: RawDatabase = {
    query: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
    exec: async (sql) => void (await client.query(sql)),
    async copyFrom(source, table, from = () => `"${table}"`) {
      const [{ rows }] = (await source.query(
        `SELECT coalesce(json_agg(t), '[]'::json) AS rows FROM ${from("")} t`,
      )) as [{ rows: unknown[] }];
      // Keys of columns this database does not have (yet) are ignored by json_populate_recordset.
      await client.query(
        `INSERT INTO "${table}" SELECT * FROM json_populate_recordset(NULL::"${table}", $1)`,
        [JSON.stringify(rows)],
      );
    },
    close: () => client.end(),
    async drop() {
      await client.end();
      await drop();
    },
  };
  return raw;
}

/** A new database of the provider with every migration before `migration` applied, and no other. */
async function databaseBefore(provider: DatabaseConfig["provider"], migration: string): Promise<RawDatabase> {
  const earlier = listMigrations(provider).filter((m) => m.name < migration);
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(tmpdir(), "registro-test-"));
    const raw = await rawDatabase({ provider, file: path.join(dir, "registro.db") }, () =>
      Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    );
    for (const m of earlier) await raw.exec(m.sql);
    return raw;
  }
  const name = `registro_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const raw = await rawDatabase({ provider, url: url.toString() }, () =>
    dropDatabaseWhenIdle(POSTGRES_URL, name),
  );
  for (const m of earlier) await raw.exec(m.sql);
  return raw;
}
