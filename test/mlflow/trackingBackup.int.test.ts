// MLflow tracking rows are not in the event log, so a backup copies them (mlflow-tracking.ndjson)
// and a restore puts them back, into either provider: experiments keep their ids (the next one
// follows them), metric history keeps its order, NaN and infinities survive; a damaged line is
// refused before anything is restored.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backup } from "../../src/backup/backup.ts";
import { DamagedBackupError } from "../../src/backup/manifest.ts";
import { rewriteBackupFile } from "../support/backups.ts";
import { restore } from "../../src/backup/restore.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { newLoggedModelId, newRunId } from "../../src/mlflow/tracking/trackingRules.ts";
import {
  createExperiment,
  createLoggedModel,
  createRun,
  logBatch,
  logOutputs,
} from "../../src/mlflow/tracking/trackingStore.ts";
import { createTestDatabase, openTestDatabase, providers } from "../support/databases.ts";

const PROVIDERS = await providers();
const now = Date.parse("2026-12-03T12:00:00Z");
const TABLES = [
  "mlflow_experiments",
  "mlflow_runs",
  "mlflow_run_params",
  "mlflow_run_tags",
  "mlflow_logged_models",
  "mlflow_logged_model_params",
  "mlflow_logged_model_tags",
];

// pg answers BIGINT columns as strings.
const NUMERIC = ["id", "experiment_id", "creation_time", "last_update_time", "start_time", "end_time"];

/** Every tracking row as plain values (metric ids left out: they are renumbered), sorted here. */
async function dump(db: Database) {
  const plain = (rows: Record<string, unknown>[]) =>
    rows
      .map((r) =>
        JSON.stringify(
          Object.entries(r).map(([k, v]) => [
            k,
            v === null || !NUMERIC.includes(k) || (typeof v === "string" && !/^-?\d+$/.test(v))
              ? v
              : Number(v),
          ]),
        ),
      )
      .sort();
  const out: Record<string, string[]> = {};
  for (const table of TABLES) out[table] = plain(await db.query(`SELECT * FROM "${table}"`));
  out.metrics = (
    await db.query<Record<string, unknown>>(
      `SELECT run_id, key, value, timestamp, step, model_id, dataset_name, dataset_digest FROM mlflow_run_metrics ORDER BY id`,
    )
  ).map((r) =>
    JSON.stringify(
      Object.values(r).map((v) => (v === null || typeof v === "string" ? v : String(Number(v)))),
    ),
  );
  return out;
}

describe.each(PROVIDERS)("MLflow tracking in a backup of a %s registry", (provider) => {
  let source: Awaited<ReturnType<typeof openTestDatabase>>;
  const work = mkdtempSync(path.join(tmpdir(), "registro-tracking-backup-"));
  const dir = path.join(work, "backup");
  let expected: Awaited<ReturnType<typeof dump>>;

  beforeAll(async () => {
    source = await openTestDatabase(provider);
    const db = source.db;
    const experimentId = await createExperiment(db, {
      name: "churn",
      tags: [{ key: "__proto__", value: "x" }],
      now,
      createdBy: "p1",
    });
    const runId = newRunId();
    await createRun(db, {
      id: runId,
      experimentId,
      runName: "r",
      userId: "u",
      startTime: now,
      createdBy: "p1",
      tags: [{ key: "a", value: "b" }],
      now,
    });
    const metric = (value: number | null, step: number, modelId = "") => ({
      key: "loss",
      value,
      timestamp: now + step,
      step,
      modelId,
      datasetName: "",
      datasetDigest: "",
    });
    await logBatch(db, runId, {
      params: [{ key: "alpha", value: "0.5" }],
      tags: [{ key: "t", value: "v" }],
      metrics: [metric(3, 2), metric(null, 1), metric(Infinity, 0), metric(-Infinity, 3)],
    });
    const modelId = newLoggedModelId();
    await createLoggedModel(db, {
      id: modelId,
      experimentId,
      name: "model",
      modelType: "",
      sourceRunId: runId,
      params: [{ key: "alpha", value: "0.5" }],
      tags: [{ key: "mlflow.user", value: "u" }],
      createdBy: "p1",
      now,
    });
    await logOutputs(db, runId, [{ modelId, step: 2 }]);
    await logBatch(db, runId, { params: [], tags: [], metrics: [metric(3, 2, modelId)] });
    expected = await dump(db);
    expect(expected.metrics).toHaveLength(5);
    await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: dir });
  });
  afterAll(async () => {
    await source?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it.each(PROVIDERS)("restores every tracking row into %s", { timeout: 60_000 }, async (target) => {
    const database = await createTestDatabase(target);
    try {
      await restore({ from: dir, database: database.config, blobDir: path.join(work, `restored-${target}`) });
      const db = openDatabase(database.config);
      try {
        expect(await dump(db)).toEqual(expected);
        // The next experiment follows the restored ids, and metric ids were renumbered cleanly.
        expect(await createExperiment(db, { name: "next", tags: [], now, createdBy: "p1" })).toBe(2);
        const runId = newRunId();
        await createRun(db, {
          id: runId,
          experimentId: 1,
          runName: "r2",
          userId: "",
          startTime: now,
          createdBy: "p1",
          tags: [],
          now,
        });
        await logBatch(db, runId, {
          params: [],
          tags: [],
          metrics: [
            { key: "m", value: 1, timestamp: now, step: 0, modelId: "", datasetName: "", datasetDigest: "" },
          ],
        });
      } finally {
        await db.close();
      }
    } finally {
      await database.destroy();
    }
  });

  it("refuses a backup whose tracking file holds a line no backup writes, before restoring anything", async () => {
    const damaged = path.join(work, "damaged");
    rmSync(damaged, { recursive: true, force: true });
    await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: damaged });
    await rewriteBackupFile(damaged, "mlflow-tracking.ndjson", (lines) => {
      expect(lines[1]).toContain('"table":"mlflow_runs"');
      lines[1] = lines[1]!.replace(/"id":"[0-9a-f]+"/, '"id":"../../etc"');
    });
    const database = await createTestDatabase(provider);
    try {
      await expect(
        restore({ from: damaged, database: database.config, blobDir: path.join(work, "damaged-blobs") }),
      ).rejects.toThrow(new DamagedBackupError("mlflow-tracking.ndjson line 2 is not a row of mlflow_runs"));
      const db = openDatabase(database.config);
      try {
        expect(await db.query(`SELECT * FROM events`)).toEqual([]);
      } finally {
        await db.close();
      }
    } finally {
      await database.destroy();
    }
  });

  // Experiment tags and run outputs are JSON text every read parses and answers again.
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
  it.each([
    [
      "experiment tags nested 100,000 deep",
      0,
      "mlflow_experiments",
      "tags",
      `[{"key":"k","value":${deep(100_000)}}]`,
    ],
    ["experiment tags not a list", 0, "mlflow_experiments", "tags", `{"key":"k","value":"v"}`],
    [
      "run outputs nested 50,000 deep",
      1,
      "mlflow_runs",
      "outputs",
      `[{"model_id":${deep(50_000)},"step":2}]`,
    ],
    ["run outputs not JSON", 1, "mlflow_runs", "outputs", "not json"],
  ] as const)(
    "refuses a backup whose tracking file holds %s, before restoring anything",
    async (label, line, table, column, value) => {
      const damaged = path.join(work, `damaged-${label.replaceAll(/[^a-z]/g, "")}`);
      rmSync(damaged, { recursive: true, force: true });
      await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: damaged });
      await rewriteBackupFile(damaged, "mlflow-tracking.ndjson", (lines) => {
        expect(lines[line]).toContain(`"table":"${table}"`);
        const json = JSON.parse(lines[line]!) as { row: Record<string, unknown> };
        json.row[column] = value;
        lines[line] = JSON.stringify(json);
      });
      const database = await createTestDatabase(provider);
      try {
        await expect(
          restore({ from: damaged, database: database.config, blobDir: `${damaged}-blobs` }),
        ).rejects.toThrow(
          new DamagedBackupError(`mlflow-tracking.ndjson line ${line + 1} is not a row of ${table}`),
        );
      } finally {
        await database.destroy();
      }
    },
  );
});
