// What registration will read from the tracking tables, on both providers: a logged model's folder
// under the artifact proxy, and a run's params and latest metrics (keys stored as data: a key named
// `__proto__` is an ordinary key of a null-prototype record).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { newLoggedModelId, newRunId } from "../../src/mlflow/tracking/trackingRules.ts";
import {
  appendLoggedModel,
  createLoggedModel,
  createRun,
  logBatch,
  loggedModelArtifactPath,
  runById,
  runTrainingRecord,
} from "../../src/mlflow/tracking/trackingStore.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

describe.each(await providers())("MLflow tracking store on %s", (provider) => {
  let db: Database;
  let close: () => Promise<void>;
  const now = Date.parse("2026-12-03T12:00:00Z");

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(provider));
  });
  afterAll(async () => {
    await close?.();
  });

  async function run() {
    const id = newRunId();
    await createRun(db, {
      id,
      experimentId: 0,
      runName: "r",
      userId: "",
      startTime: now,
      createdBy: "p",
      tags: [],
      now,
    });
    return id;
  }

  it("answers a logged model's artifact folder, or null", async () => {
    const runId = await run();
    const modelId = newLoggedModelId();
    await createLoggedModel(db, {
      id: modelId,
      experimentId: 0,
      name: "model",
      modelType: "",
      sourceRunId: runId,
      params: [],
      tags: [],
      createdBy: "p",
      now,
    });
    expect(await loggedModelArtifactPath(db, modelId)).toBe(`0/models/${modelId}/artifacts`);
    expect(await loggedModelArtifactPath(db, newLoggedModelId())).toBeNull();
    expect(await loggedModelArtifactPath(db, "m-../../etc")).toBeNull();
  });

  it("answers a run's params and the latest value of each metric", async () => {
    const runId = await run();
    const metric = (key: string, value: number | null, timestamp: number, step: number) => ({
      key,
      value,
      timestamp,
      step,
      modelId: "",
      datasetName: "",
      datasetDigest: "",
    });
    await logBatch(db, runId, {
      params: [
        { key: "__proto__", value: "p" },
        { key: "alpha", value: "0.5" },
      ],
      tags: [],
      metrics: [
        metric("rmse", 0.9, 100, 0),
        metric("rmse", 0.7, 50, 3), // a later step wins over a later timestamp
        metric("rmse", 0.8, 200, 1),
        metric("acc", 0.5, 10, 0),
        metric("acc", 0.6, 10, 0), // same step and time: the larger value
        metric("odd", null, 10, 0),
      ],
    });
    const record = await runTrainingRecord(db, runId);
    expect(record).not.toBeNull();
    expect(Object.getPrototypeOf(record!.params)).toBeNull();
    expect({ ...record!.params }).toEqual({ alpha: "0.5", ["__proto__"]: "p" });
    expect(Object.keys(record!.params).sort()).toEqual(["__proto__", "alpha"]);
    expect(record!.metrics.rmse).toBe(0.7);
    expect(record!.metrics.acc).toBe(0.6);
    expect(record!.metrics.odd).toBeNaN();
    expect(await runTrainingRecord(db, newRunId())).toBeNull();
  });

  it("starts again a log-model history nested too deep to extend, as a restored tag may be", async () => {
    const runId = await run();
    const history = async () =>
      (await runById(db, runId)).tags.find((t) => t.key === "mlflow.log-model.history")?.value;
    const model = { artifact_path: "m", flavors: {}, utc_time_created: "t", run_id: runId };
    // A restore takes tag values up to 1,000,000 characters, far deeper than JSON.stringify can write.
    const levels = 100_000;
    await logBatch(db, runId, {
      params: [],
      metrics: [],
      tags: [{ key: "mlflow.log-model.history", value: `${"[".repeat(levels)}${"]".repeat(levels)}` }],
    });
    await appendLoggedModel(db, runId, model);
    expect(JSON.parse((await history())!)).toEqual([model]);
    await appendLoggedModel(db, runId, { ...model, artifact_path: "n" });
    expect(JSON.parse((await history())!)).toEqual([model, { ...model, artifact_path: "n" }]);
  });
});
