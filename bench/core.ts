// Issue #2 benchmark: createModelVersion over HTTP with 8 concurrent clients against Registro on
// SQLite, side by side with a bare yoga + raw SQLite insert baseline in the same run; and the p50
// latency of createModelVersion on a model with 10 versions vs one with 10,000.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { closedLoop, percentile, postJson, round, spawnServer } from "./support.ts";

const CREATE = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

async function createVersion(url: string, name: string): Promise<void> {
  const { status, text } = await postJson(`${url}/graphql`, {
    query: CREATE,
    variables: { input: { name, source: "s3://bench/model", metrics: [{ key: "auc", value: 0.9 }] } },
  });
  if (status !== 200 || !text.includes("ModelVersionPayload"))
    throw new Error(`createModelVersion failed: ${status} ${text}`);
}

async function createModel(url: string, name: string) {
  const { text } = await postJson(`${url}/graphql`, {
    query: `mutation($name: String!) { createRegisteredModel(input: {name: $name}) { __typename } }`,
    variables: { name },
  });
  if (!text.includes("RegisteredModelPayload")) throw new Error(`createRegisteredModel failed: ${text}`);
}

async function latencyP50(url: string, name: string, samples: number): Promise<number> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await createVersion(url, name);
    latencies.push(performance.now() - t0);
  }
  return percentile(
    latencies.sort((a, b) => a - b),
    50,
  );
}

export async function benchCore(
  options: { seconds?: number; concurrency?: number; bigModelVersions?: number } = {},
) {
  const seconds = options.seconds ?? 10;
  const concurrency = options.concurrency ?? 8;
  const bigModelVersions = options.bigModelVersions ?? 10_000;
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-core-"));
  try {
    // Baseline first, alone on the machine.
    const baseline = await spawnServer("bench/baselineServer.ts", { DATA_DIR: dir });
    let baselineResult;
    try {
      const send = async () => {
        const { status } = await postJson(`${baseline.url}/graphql`, {
          query: `mutation($input: CreateInput!) { createModelVersion(input: $input) { version } }`,
          variables: { input: { name: "bench", source: "s3://bench/model" } },
        });
        if (status !== 200) throw new Error(`baseline failed: ${status}`);
      };
      await closedLoop(concurrency, 2, send); // warm-up
      baselineResult = await closedLoop(concurrency, seconds, send);
    } finally {
      await baseline.stop();
    }

    const registro = await spawnServer("src/main.ts", { DATA_DIR: path.join(dir, "registro") });
    try {
      await createModel(registro.url, "throughput");
      await closedLoop(concurrency, 2, () => createVersion(registro.url, "throughput")); // warm-up
      const registroResult = await closedLoop(concurrency, seconds, () =>
        createVersion(registro.url, "throughput"),
      );

      await createModel(registro.url, "small");
      for (let i = 0; i < 10; i++) await createVersion(registro.url, "small");
      await createModel(registro.url, "big");
      const fillStart = performance.now();
      let filled = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (filled < bigModelVersions) {
            filled++;
            await createVersion(registro.url, "big");
          }
        }),
      );
      const fillSeconds = (performance.now() - fillStart) / 1000;
      // Interleave the two samples so background noise hits both alike.
      let small = 0;
      let big = 0;
      for (let round = 0; round < 5; round++) {
        small += await latencyP50(registro.url, "small", 40);
        big += await latencyP50(registro.url, "big", 40);
      }
      small /= 5;
      big /= 5;
      return {
        concurrency,
        seconds,
        registroThroughput: round(registroResult.throughput, 1),
        registroP50Ms: round(registroResult.p50Ms),
        registroP99Ms: round(registroResult.p99Ms),
        baselineThroughput: round(baselineResult.throughput, 1),
        baselineP50Ms: round(baselineResult.p50Ms),
        baselineP99Ms: round(baselineResult.p99Ms),
        throughputRatio: round(registroResult.throughput / baselineResult.throughput, 3),
        p50At10VersionsMs: round(small),
        p50At10kVersionsMs: round(big),
        latencyRatio10kTo10: round(big / small, 3),
        bigModelVersions,
        bigModelFillSeconds: round(fillSeconds, 1),
      };
    } finally {
      await registro.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCore(), null, 2));
}
