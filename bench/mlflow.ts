// Issue #15 benchmark: MLflow's `model-versions/create` through Registro's compatibility routes
// against GraphQL's `createModelVersion` with the same payload (name, source, run id, one tag), from
// the same keep-alive client to the same server (SQLite, npm start's defaults), in interleaved
// rounds with 1 and with 8 closed-loop clients. Each side writes to a model of its own so neither
// waits on the other's stream. Target: the REST route at least as fast (throughput ratio ≥ 1).
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { closedLoop, combine, compare, postJson, round, spawnServer } from "./support.ts";
import type { LoadResult } from "./support.ts";

const GRAPHQL_CREATE = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

type Side = "mlflow" | "graphql";

function sender(url: string, side: Side, model: string): () => Promise<void> {
  if (side === "mlflow")
    return async () => {
      const { status, text } = await postJson(`${url}/api/2.0/mlflow/model-versions/create`, {
        name: model,
        source: "s3://bench/model",
        run_id: "0123456789abcdef0123456789abcdef",
        tags: [{ key: "team", value: "fraud" }],
      });
      if (status !== 200 || !text.includes('"model_version"'))
        throw new Error(`model-versions/create failed: ${status} ${text}`);
    };
  return async () => {
    const { status, text } = await postJson(`${url}/graphql`, {
      query: GRAPHQL_CREATE,
      variables: {
        input: {
          name: model,
          source: "s3://bench/model",
          runId: "0123456789abcdef0123456789abcdef",
          tags: [{ key: "team", value: "fraud" }],
        },
      },
    });
    if (status !== 200 || !text.includes("ModelVersionPayload"))
      throw new Error(`createModelVersion failed: ${status} ${text}`);
  };
}

async function createModel(url: string, name: string) {
  const { status, text } = await postJson(`${url}/api/2.0/mlflow/registered-models/create`, { name });
  if (status !== 200) throw new Error(`registered-models/create failed: ${status} ${text}`);
}

export async function benchMlflow(
  options: { seconds?: number; rounds?: number; concurrencies?: readonly number[] } = {},
) {
  const seconds = options.seconds ?? Number(process.env.BENCH_MLFLOW_SECONDS ?? 12);
  const rounds = options.rounds ?? 4;
  const concurrencies = options.concurrencies ?? [1, 8];
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-mlflow-"));
  const server = await spawnServer("src/main.ts", { DATA_DIR: dir });
  try {
    const results: Record<string, unknown> = {};
    for (const concurrency of concurrencies) {
      const models = { mlflow: `mlflow-${concurrency}`, graphql: `graphql-${concurrency}` };
      await createModel(server.url, models.mlflow);
      await createModel(server.url, models.graphql);
      const send = {
        mlflow: sender(server.url, "mlflow", models.mlflow),
        graphql: sender(server.url, "graphql", models.graphql),
      };
      await closedLoop(concurrency, 1, send.mlflow); // warm-up
      await closedLoop(concurrency, 1, send.graphql);
      const byRound: Record<Side, { result: LoadResult; load: number }[]> = { mlflow: [], graphql: [] };
      for (let i = 0; i < rounds; i++) {
        // Alternate which side goes first, so a burst of background load lands on both alike.
        const order: Side[] = i % 2 === 0 ? ["mlflow", "graphql"] : ["graphql", "mlflow"];
        for (const side of order) {
          const result = await closedLoop(concurrency, seconds / rounds, send[side]);
          byRound[side].push({ result, load: os.loadavg()[0] ?? 0 });
        }
      }
      const throughput = (side: Side) =>
        combine(
          byRound[side].map((r) => ({ work: r.result.requests, seconds: r.result.seconds, load: r.load })),
          "versions/s",
        );
      const p50 = (side: Side) =>
        round(byRound[side].reduce((sum, r) => sum + r.result.p50Ms, 0) / byRound[side].length, 2);
      results[`clients${concurrency}`] = {
        // measured = MLflow's REST route, baseline = the GraphQL mutation: ratio ≥ 1 meets the target.
        throughput: compare(throughput("mlflow"), throughput("graphql")),
        p50Ms: { mlflow: p50("mlflow"), graphql: p50("graphql") },
        rounds: Object.fromEntries(
          (["mlflow", "graphql"] as const).map((side) => [
            side,
            byRound[side].map((r) => ({
              perSecond: round(r.result.throughput, 1),
              p50Ms: round(r.result.p50Ms),
              p99Ms: round(r.result.p99Ms),
              loadAverage1m: round(r.load),
            })),
          ]),
        ),
      };
    }
    return { seconds, rounds, ...results };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
