// Issue #2 benchmark: createModelVersion over HTTP with 8 concurrent clients against Registro on
// SQLite, side by side with a bare yoga + raw SQLite insert baseline in the same run (interleaved
// rounds, both servers up throughout); the same with one client (#18: its throughput and p50 over
// a keep-alive connection); and the p50 latency of createModelVersion on a model with 10 versions
// vs one with 10,000.
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { closedLoop, combine, compare, figure, percentile, postJson, round, spawnServer } from "./support.ts";
import type { LoadResult } from "./support.ts";

const CREATE = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

/** Registers one version of `name` (with one metric), as every core client does. */
export async function createVersion(url: string, name: string): Promise<void> {
  const { status, text } = await postJson(`${url}/graphql`, {
    query: CREATE,
    variables: { input: { name, source: "s3://bench/model", metrics: [{ key: "auc", value: 0.9 }] } },
  });
  if (status !== 200 || !text.includes("ModelVersionPayload"))
    throw new Error(`createModelVersion failed: ${status} ${text}`);
}

export async function createModel(url: string, name: string) {
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
  options: { seconds?: number; concurrency?: number; bigModelVersions?: number; rounds?: number } = {},
) {
  const seconds = options.seconds ?? 10;
  const concurrency = options.concurrency ?? 8;
  const bigModelVersions = options.bigModelVersions ?? 10_000;
  const rounds = options.rounds ?? 3;
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-core-"));
  // Both servers run side by side; their throughput rounds alternate, so a burst of background load
  // on the shared machine lands on both alike instead of on whichever happened to run second.
  const baseline = await spawnServer("bench/baselineServer.ts", { DATA_DIR: dir });
  const registro = await spawnServer("src/main.ts", { DATA_DIR: path.join(dir, "registro") });
  try {
    const sendBaseline = async () => {
      const { status } = await postJson(`${baseline.url}/graphql`, {
        query: `mutation($input: CreateInput!) { createModelVersion(input: $input) { version } }`,
        variables: { input: { name: "bench", source: "s3://bench/model" } },
      });
      if (status !== 200) throw new Error(`baseline failed: ${status}`);
    };
    const sendRegistro = () => createVersion(registro.url, "throughput");
    await createModel(registro.url, "throughput");
    await closedLoop(concurrency, 2, sendBaseline); // warm-up
    await closedLoop(concurrency, 2, sendRegistro);
    /** Alternating rounds of both servers with `clients` closed-loop clients. */
    const interleaved = async (clients: number) => {
      const results: { baseline: LoadResult[]; registro: LoadResult[] } = { baseline: [], registro: [] };
      const loads: { baseline: number[]; registro: number[] } = { baseline: [], registro: [] };
      for (let i = 0; i < rounds; i++) {
        for (const side of i % 2 === 0
          ? (["baseline", "registro"] as const)
          : (["registro", "baseline"] as const)) {
          const result = await closedLoop(
            clients,
            seconds / rounds,
            side === "baseline" ? sendBaseline : sendRegistro,
          );
          results[side].push(result);
          loads[side].push(os.loadavg()[0] ?? 0);
        }
      }
      const perRound = (side: "baseline" | "registro") =>
        results[side].map((r, i) => ({
          perSecond: round(r.throughput, 1),
          p50Ms: round(r.p50Ms),
          p99Ms: round(r.p99Ms),
          loadAverage1m: round(loads[side][i] ?? 0),
        }));
      // The median of the rounds' p50s (and the worst p99), each beside its load.
      const p50 = (side: "baseline" | "registro") =>
        figure(
          [...results[side].map((r) => r.p50Ms)].sort((a, b) => a - b)[Math.floor(rounds / 2)] ?? Number.NaN,
          "ms",
        );
      return {
        throughput: compare(
          throughput(results.registro, loads.registro),
          throughput(results.baseline, loads.baseline),
        ),
        p50: compare(p50("registro"), p50("baseline")),
        registroRounds: perRound("registro"),
        baselineRounds: perRound("baseline"),
      };
    };
    const throughput = (results: LoadResult[], load: number[]) =>
      combine(
        results.map((r, i) => ({ work: r.requests, seconds: r.seconds, load: load[i] ?? 0 })),
        "versions/s",
      );
    const many = await interleaved(concurrency);
    await closedLoop(1, 1, sendBaseline); // warm-up of one connection each
    await closedLoop(1, 1, sendRegistro);
    const one = await interleaved(1);

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
    for (let i = 0; i < 5; i++) {
      small += await latencyP50(registro.url, "small", 40);
      big += await latencyP50(registro.url, "big", 40);
    }
    const p50At10 = figure(small / 5, "ms");
    const p50At10k = figure(big / 5, "ms");
    return {
      concurrency,
      seconds,
      rounds,
      throughput: many.throughput,
      registroRounds: many.registroRounds,
      baselineRounds: many.baselineRounds,
      // One client, one keep-alive connection: each request waits for the one before (#18).
      oneClient: one,
      // The same command on a model with 10,000 versions vs one with 10: the cost must not grow with history.
      latency10kTo10: compare(p50At10k, p50At10),
      bigModelVersions,
      bigModelFill: figure(fillSeconds, "s", 1),
    };
  } finally {
    await Promise.all([baseline.stop(), registro.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCore(), null, 2));
}
