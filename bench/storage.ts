// Issue #18 benchmark: bytes on disk per model version on SQLite, and what each table and index
// costs (SQLite's dbstat). Registro registers N versions over HTTP (the payload of the issue: name,
// source, run id, one tag; then the same with 10 params and 10 metrics, and without the run id) and
// is stopped cleanly, so its WAL is checkpointed into the file. The baseline, in the same run: MLflow's model-registry
// schema (MLFLOW_REGISTRY_SCHEMA below: its SQLAlchemy models with their primary keys) holding the
// same rows, written with the same SQLite. Target: at most 2× the baseline.
// Also: how many pages one createModelVersion writes to the WAL (one client), and whose pages they are.
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import { growthPerVersion, objectSizes, sizesOf, totalBytes } from "./sqliteSizes.ts";
import { compactBytes } from "./storageFloor.ts";
import { compare, figure, postJson, round, spawnServer } from "./support.ts";

const RUN_ID = "0123456789abcdef0123456789abcdef";
const SOURCE = "s3://models/fraud-scorer/artifacts/model";

const CREATE = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

const WAL_VERSIONS = 20;
/** Each WAL frame is a 24-byte header and one page. */
const WAL_FRAME_HEADER = 24;

const walBytes = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

/** The database's page size, from its header (bytes 16-17, big-endian; 1 means 65536). */
function pageSize(file: string): number {
  const header = Buffer.alloc(18);
  const fd = openSync(file, "r");
  try {
    readSync(fd, header, 0, 18, 0);
  } finally {
    closeSync(fd);
  }
  const size = header.readUInt16BE(16);
  return size === 1 ? 65536 : size;
}

/** The page number of every WAL frame written from byte `from` of the WAL on (frames are whole). */
function walFramePages(file: string, from: number): number[] {
  const wal = readFileSync(`${file}-wal`);
  const frame = pageSize(file) + WAL_FRAME_HEADER;
  const pages: number[] = [];
  for (let at = from; at + frame <= wal.length; at += frame) pages.push(wal.readUInt32BE(at));
  return pages;
}

/** WAL frames per version by the table or index owning the page (dbstat, read after the checkpoint). */
function pagesPerObject(file: string, pages: readonly number[], versions: number): Record<string, number> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const owner = new Map(
      (db.prepare("SELECT name, pageno FROM dbstat").all() as { name: string; pageno: number }[]).map(
        (r) => [r.pageno, r.name] as const,
      ),
    );
    const counts = new Map<string, number>();
    for (const page of pages) {
      const name = page === 1 ? "(database header)" : (owner.get(page) ?? "(free)");
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return Object.fromEntries(
      [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => [name, round(n / versions, 1)]),
    );
  } finally {
    db.close();
  }
}

async function createVersion(url: string, extra: Record<string, unknown>) {
  const { status, text } = await postJson(`${url}/graphql`, {
    query: CREATE,
    variables: {
      input: {
        name: "fraud-scorer",
        source: SOURCE,
        runId: RUN_ID,
        tags: [{ key: "team", value: "fraud" }],
        ...extra,
      },
    },
  });
  if (status !== 200 || !text.includes("ModelVersionPayload")) throw new Error(`create failed: ${text}`);
}

/** A fresh registry with `versions` versions of one model registered with `extra` fields. */
async function registroBytes(versions: number, extra: Record<string, unknown>) {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-storage-"));
  const file = path.join(dir, "registro.db");
  try {
    let server = await spawnServer("src/main.ts", { DATA_DIR: dir, INSPECTION: "off" });
    const { text } = await postJson(`${server.url}/graphql`, {
      query: `mutation { createRegisteredModel(input: { name: "fraud-scorer" }) { __typename } }`,
    });
    if (!text.includes("RegisteredModelPayload")) throw new Error(`createRegisteredModel failed: ${text}`);
    await server.stop();
    const empty = objectSizes(file);
    server = await spawnServer("src/main.ts", { DATA_DIR: dir, INSPECTION: "off" });
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < versions) {
          sent++;
          await createVersion(server.url, extra);
        }
      }),
    );
    // A clean stop checkpoints the WAL into the file: what is measured is what stays on disk.
    await server.stop();
    const full = objectSizes(file);
    // WAL pages per createModelVersion, one client (no group commit sharing pages between
    // commands): the WAL's growth over WAL_VERSIONS versions after one warm-up version, well under
    // the 1,000-page automatic checkpoint, so no frame is overwritten while measuring.
    server = await spawnServer("src/main.ts", { DATA_DIR: dir, INSPECTION: "off" });
    await createVersion(server.url, extra);
    const walBefore = walBytes(file);
    for (let i = 0; i < WAL_VERSIONS; i++) await createVersion(server.url, extra);
    const frames = walFramePages(file, walBefore);
    await server.stop();
    return {
      bytesPerVersion: (totalBytes(full) - totalBytes(empty)) / versions,
      perObject: growthPerVersion(empty, full, versions),
      walPagesPerVersion: frames.length / WAL_VERSIONS,
      walPagesPerObject: pagesPerObject(file, frames, WAL_VERSIONS),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes on disk per relation of a PostgreSQL database's schema, after a VACUUM (which writes the
 * visibility and free-space maps, as autovacuum would): each table with its TOAST data and maps
 * (`pg_table_size`), each index on its own. Page-granular (8 KiB).
 */
async function postgresSizes(url: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("VACUUM");
    const { rows } = await client.query<{ name: string; bytes: string }>(
      `SELECT c.relname AS name, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')`,
    );
    return new Map(rows.map((r) => [r.name, Number(r.bytes)]));
  } finally {
    await client.end();
  }
}

/**
 * The same as registroBytes on PostgreSQL (no WAL figures: PostgreSQL's WAL is not the file
 * measured here). Undefined when no PostgreSQL server answers.
 */
async function registroBytesPostgres(versions: number) {
  if (!(await postgresReachable())) return undefined;
  const database = await createBenchDatabase("postgresql");
  const url = database.env.DATABASE_URL!;
  try {
    const server = await spawnServer("src/main.ts", { ...database.env, INSPECTION: "off" });
    try {
      const { text } = await postJson(`${server.url}/graphql`, {
        query: `mutation { createRegisteredModel(input: { name: "fraud-scorer" }) { __typename } }`,
      });
      if (!text.includes("RegisteredModelPayload")) throw new Error(`createRegisteredModel failed: ${text}`);
      const empty = await postgresSizes(url);
      let sent = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (sent < versions) {
            sent++;
            await createVersion(server.url, {});
          }
        }),
      );
      const full = await postgresSizes(url);
      const total = (sizes: Map<string, number>) => [...sizes.values()].reduce((a, b) => a + b, 0);
      const perObject = Object.fromEntries(
        [...full]
          .map(([name, bytes]) => [name, round((bytes - (empty.get(name) ?? 0)) / versions, 1)] as const)
          .filter(([, bytes]) => bytes > 0)
          .sort((a, b) => b[1] - a[1]),
      );
      return { bytesPerVersion: (total(full) - total(empty)) / versions, perObject };
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
  }
}

/**
 * MLflow's model-registry schema (its SQLAlchemy models, as SQLite stores them): registered_models,
 * model_versions, model_version_tags and registered_model_aliases with their primary keys. Shared
 * with the read-path floor (./readPath.ts), which answers MLflow's search from it.
 */
export const MLFLOW_REGISTRY_SCHEMA = `
  CREATE TABLE registered_models (
    name VARCHAR(256) NOT NULL, creation_time BIGINT, last_updated_time BIGINT,
    description VARCHAR(5000), CONSTRAINT registered_model_pk PRIMARY KEY (name), UNIQUE (name));
  CREATE TABLE model_versions (
    name VARCHAR(256) NOT NULL, version INTEGER NOT NULL, creation_time BIGINT,
    last_updated_time BIGINT, description VARCHAR(5000), user_id VARCHAR(256),
    current_stage VARCHAR(20), source VARCHAR(500), run_id VARCHAR(32), run_link VARCHAR(500),
    status VARCHAR(20), status_message VARCHAR(500), storage_location VARCHAR(500),
    CONSTRAINT model_version_pk PRIMARY KEY (name, version),
    FOREIGN KEY (name) REFERENCES registered_models (name) ON UPDATE CASCADE);
  CREATE TABLE model_version_tags (
    key VARCHAR(250) NOT NULL, value VARCHAR(5000), name VARCHAR(256) NOT NULL,
    version INTEGER NOT NULL, CONSTRAINT model_version_tag_pk PRIMARY KEY (key, name, version),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE);
  CREATE TABLE registered_model_aliases (
    alias VARCHAR(256) NOT NULL, version INTEGER NOT NULL, name VARCHAR(256) NOT NULL,
    CONSTRAINT registered_model_alias_pk PRIMARY KEY (name, alias),
    FOREIGN KEY (name) REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE);
`;

/** The same versions in MLflow's registry schema (its SQLAlchemy models, as SQLite stores them). */
function mlflowBytes(versions: number): number {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-storage-mlflow-"));
  const file = path.join(dir, "mlflow.db");
  try {
    const db = new BetterSqlite3(file);
    db.exec(MLFLOW_REGISTRY_SCHEMA);
    const now = Date.now();
    db.prepare("INSERT INTO registered_models VALUES (?, ?, ?, ?)").run("fraud-scorer", now, now, null);
    const empty = totalBytes(sizesOf(db));
    const version = db.prepare(
      "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, 'READY', ?, ?)",
    );
    const tag = db.prepare("INSERT INTO model_version_tags VALUES ('team', 'fraud', ?, ?)");
    for (let v = 1; v <= versions; v++) {
      const at = now + v;
      // MLflow's store writes '' for a missing run link and description, and the source as storage location.
      db.transaction(() => {
        version.run("fraud-scorer", v, at, at, "", "root", SOURCE, RUN_ID, "", null, SOURCE);
        tag.run("fraud-scorer", v);
      })();
    }
    const full = totalBytes(sizesOf(db));
    db.close();
    return (full - empty) / versions;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchStorage(options: { versions?: number } = {}) {
  const versions = options.versions ?? Number(process.env.BENCH_STORAGE_VERSIONS ?? 2000);
  const plain = await registroBytes(versions, {});
  const baseline = mlflowBytes(versions);
  const floorTextKeys = compactBytes(versions, "textKeys", { source: SOURCE, runId: RUN_ID });
  const floorIntegerKeys = compactBytes(versions, "integerKeys", { source: SOURCE, runId: RUN_ID });
  const rich = await registroBytes(versions, {
    params: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`param_${i}`, `value-${i}`])),
    metrics: Array.from({ length: 10 }, (_, i) => ({ key: `metric_${i}`, value: 0.5 + i / 100 })),
  });
  // Versions registered without a run (from the CLI or GraphQL): no entry in the run index.
  const runless = await registroBytes(versions, { runId: null });
  const postgres = await registroBytesPostgres(versions);
  return {
    versions,
    // measured = Registro, baseline = MLflow's schema: the target is a ratio of at most 2.
    bytesPerVersion: compare(
      figure(plain.bytesPerVersion, "bytes/version", 1),
      figure(baseline, "bytes/version", 1),
    ),
    bytesPerVersionWithParamsAndMetrics: figure(rich.bytesPerVersion, "bytes/version", 1),
    bytesPerVersionWithoutRunId: figure(runless.bytesPerVersion, "bytes/version", 1),
    // The same rows with every column compacted (./storageFloor.ts), against MLflow's schema.
    compactFloorTextKeys: compare(
      figure(floorTextKeys.bytesPerVersion, "bytes/version", 1),
      figure(baseline, "bytes/version", 1),
    ),
    compactFloorIntegerKeys: compare(
      figure(floorIntegerKeys.bytesPerVersion, "bytes/version", 1),
      figure(baseline, "bytes/version", 1),
    ),
    walPagesPerVersion: figure(plain.walPagesPerVersion, "pages/version", 1),
    walPagesPerVersionWithParamsAndMetrics: figure(rich.walPagesPerVersion, "pages/version", 1),
    perObject: plain.perObject,
    perObjectWithParamsAndMetrics: rich.perObject,
    perObjectCompactFloorTextKeys: floorTextKeys.perObject,
    perObjectCompactFloorIntegerKeys: floorIntegerKeys.perObject,
    walPagesPerObject: plain.walPagesPerObject,
    // The same payload on PostgreSQL (the target is SQLite's; reported, not compared).
    ...(postgres === undefined
      ? {}
      : {
          bytesPerVersionPostgres: figure(postgres.bytesPerVersion, "bytes/version", 1),
          perObjectPostgres: postgres.perObject,
        }),
  };
}
