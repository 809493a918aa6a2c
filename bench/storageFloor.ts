// The storage benchmark's floor (./storage.ts): what the rows Registro writes for one version
// would weigh with every column in its most compact form, written into a plain SQLite file beside
// the real registry and MLflow's schema in the same run. It answers "how close to MLflow can an
// event log plus its projection get?", and which change the rest of the gap needs.
//
// The rows are the ones Registro keeps for the payload: the `ModelVersionCreated` event
// (stream, revision, type, schema version, payload, actor, time, correlation id, chain hash) with
// the four indexes the audit log and history use, the `model_versions` row with the indexes its
// filters and orders use (model and version, stage, run id, creation time, creator's id and name),
// and the tag with its `(key, value)` index. Compact means: times as integer milliseconds, the
// hash and correlation id as bytes, event type and actor as small integer references, the payload
// without its empty fields. Two variants differ only in the keys the per-version rows repeat:
// - `textKeys`: the model's UUID and the `<model id>:<version>` version id, as Registro has them;
// - `integerKeys`: integer surrogate keys for the model and the version (the UUID kept once, in the
//   model's own row, which is not per version).
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { growthPerVersion, sizesOf, totalBytes } from "./sqliteSizes.ts";

type Keys = "textKeys" | "integerKeys";

function schema(keys: Keys): string {
  const key = keys === "integerKeys" ? "INTEGER" : "TEXT";
  const versionKey = keys === "integerKeys" ? "key INTEGER PRIMARY KEY" : "id TEXT NOT NULL PRIMARY KEY";
  // A rowid table's indexes end with the rowid already; a text primary key must be named.
  const stageCovers = keys === "integerKeys" ? "" : ", id";
  return `
    CREATE TABLE events (
      position INTEGER PRIMARY KEY, stream ${key} NOT NULL, revision INTEGER NOT NULL,
      type INTEGER NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
      actor INTEGER NOT NULL, occurred_at INTEGER NOT NULL, correlation_id BLOB, hash BLOB NOT NULL);
    CREATE UNIQUE INDEX events_stream ON events (stream, revision);
    CREATE INDEX events_actor ON events (actor);
    CREATE INDEX events_occurred_at ON events (occurred_at);
    CREATE INDEX events_type ON events (type);
    CREATE TABLE model_versions (
      ${versionKey}, model ${key} NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL,
      status TEXT NOT NULL, source TEXT NOT NULL, run_id TEXT, description TEXT NOT NULL DEFAULT '',
      deleted INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      created_by TEXT NOT NULL);
    CREATE UNIQUE INDEX model_versions_model_version ON model_versions (model, version);
    CREATE INDEX model_versions_stage ON model_versions (stage, deleted, model${stageCovers});
    CREATE INDEX model_versions_run_id ON model_versions (run_id);
    CREATE INDEX model_versions_created_at ON model_versions (created_at);
    CREATE INDEX model_versions_created_by ON model_versions (created_by);
    CREATE TABLE model_version_tags (
      version ${key} NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY (version, key)) WITHOUT ROWID;
    CREATE INDEX model_version_tags_key_value ON model_version_tags (key, value);`;
}

/** Bytes per version of `versions` versions of one model in the compact form with `keys`. */
export function compactBytes(
  versions: number,
  keys: Keys,
  payload: { source: string; runId: string },
): { bytesPerVersion: number; perObject: Record<string, number> } {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-storage-floor-"));
  try {
    const db = new BetterSqlite3(path.join(dir, "floor.db"));
    db.exec(schema(keys));
    const empty = sizesOf(db);
    const modelId = randomUUID();
    const model = keys === "integerKeys" ? 1 : modelId;
    const versionKey = (v: number) => (keys === "integerKeys" ? v : `${modelId}:${v}`);
    const hash = randomBytes(32);
    const event = db.prepare("INSERT INTO events VALUES (?, ?, ?, 3, 2, ?, 1, ?, ?, ?)");
    const row = db.prepare(
      "INSERT INTO model_versions VALUES (?, ?, ?, 'None', 'READY', ?, ?, '', 0, ?, ?, 'root')",
    );
    const tag = db.prepare("INSERT INTO model_version_tags VALUES (?, 'team', 'fraud')");
    const start = Date.now();
    for (let v = 1; v <= versions; v++) {
      const at = start + v;
      const data = JSON.stringify({
        version: v,
        source: payload.source,
        runId: payload.runId,
        tags: { team: "fraud" },
        status: "READY",
      });
      db.transaction(() => {
        event.run(v, model, v, data, at, randomBytes(16), hash);
        row.run(versionKey(v), model, v, payload.source, payload.runId, at, at);
        tag.run(versionKey(v));
      })();
    }
    const full = sizesOf(db);
    db.close();
    return {
      bytesPerVersion: (totalBytes(full) - totalBytes(empty)) / versions,
      perObject: growthPerVersion(empty, full, versions),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
