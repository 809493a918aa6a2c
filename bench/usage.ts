// Usage benchmarks:
// - download counting: two server processes, identical but for USAGE_DOWNLOAD_COUNTING (on / off),
//   each serving the same small artifact (small files make the per-download cost of counting as
//   large a share as it can be). Interleaved rounds of closed-loop GET downloads against each, in
//   alternating order; throughput with counting on against off, as a ratio (target ≥ 0.97).
// - usage queries: a year of hourly download buckets (and their daily roll-up) for 100 versions of
//   one model, seeded straight into the table; GraphQL queries through an in-process server:
//   RegisteredModel.usage over a year by DAY and over 31 days by HOUR (the longest HOUR range), and
//   ModelVersion.usage likewise. p50/p99 of repeated queries (target: under 100 ms).
import http from "node:http";
import BetterSqlite3 from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import type { DatabaseConfig } from "../src/config.ts";
import { createRegistro } from "../src/registro.ts";
import { DownloadCounter } from "../src/usage/downloadCounter.ts";
import { bucketStartMs } from "../src/usage/timeBuckets.ts";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import { closedLoop, combine, compare, figure, percentile, postJson, round, spawnServer } from "./support.ts";

const ROUNDS = 10;
const ROUND_SECONDS = 3;
const CONCURRENCY = 8;
const ARTIFACT = Buffer.alloc(4096, 7);
const VERSIONS = 100;
const HOURS = 365 * 24;
const QUERY_SAMPLES = 40;

interface Round {
  readonly work: number;
  readonly seconds: number;
  readonly load: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`download: HTTP ${res.statusCode}`));
        res.resume();
        res.on("end", resolve);
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function gql(url: string, query: string): Promise<any> {
  const { text } = await postJson(`${url}/graphql`, { query });
  const body = JSON.parse(text);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function withArtifact(url: string): Promise<string> {
  await gql(url, `mutation { createRegisteredModel(input: { name: "bench" }) { __typename } }`);
  await gql(
    url,
    `mutation { createModelVersion(input: { name: "bench", source: "s3://b", pendingArtifacts: true }) { __typename } }`,
  );
  const put = await fetch(`${url}/artifacts/bench/1/model.bin`, { method: "PUT", body: ARTIFACT });
  if (put.status !== 201) throw new Error(`upload: HTTP ${put.status}`);
  await gql(url, `mutation { finalizeModelVersion(input: { name: "bench", version: 1 }) { __typename } }`);
  return `${url}/artifacts/bench/1/model.bin`;
}

async function downloadCounting() {
  const databases = await Promise.all([createBenchDatabase("sqlite"), createBenchDatabase("sqlite")]);
  const servers = await Promise.all(
    (["on", "off"] as const).map((counting, i) =>
      spawnServer("src/main.ts", {
        ...databases[i]!.env,
        INSPECTION: "off",
        USAGE_DOWNLOAD_COUNTING: counting,
      }),
    ),
  );
  try {
    const [onUrl, offUrl] = await Promise.all(servers.map((s) => withArtifact(s.url)));
    const rounds: Record<"on" | "off", Round[]> = { on: [], off: [] };
    // Server CPU per download as well: on a loaded shared machine throughput swings with the other
    // processes, while the CPU a server spends per download hardly does.
    const cpu = { on: { seconds: 0, downloads: 0 }, off: { seconds: 0, downloads: 0 } };
    const pids = { on: servers[0]!.child.pid!, off: servers[1]!.child.pid! };
    // Warm both up before measuring.
    for (const url of [onUrl!, offUrl!]) await closedLoop(CONCURRENCY, 1, () => get(url));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const side of order) {
        const cpuBefore = cpuSeconds(pids[side]);
        const result = await closedLoop(CONCURRENCY, ROUND_SECONDS, () =>
          get(side === "on" ? onUrl! : offUrl!),
        );
        cpu[side].seconds += cpuSeconds(pids[side]) - cpuBefore;
        cpu[side].downloads += result.requests;
        rounds[side].push({
          work: result.requests,
          seconds: result.seconds,
          load: figure(0, "").loadAverage1m,
        });
      }
    }
    // What the counting side counted (a flush writes them): proof that it counted at all.
    const counted = await gql(
      servers[0]!.url,
      `{ modelVersion(name: "bench", version: 1) { usage(from: "${new Date(Date.now() - 86_400_000).toISOString()}") { totals { downloads } } } }`,
    );
    return {
      downloadsPerSecond: compare(combine(rounds.on, "downloads/s"), combine(rounds.off, "downloads/s")),
      // measured / baseline of the server's CPU per download: the cost of counting is ratio - 1.
      serverCpuPerDownload: compare(
        figure((cpu.on.seconds / cpu.on.downloads) * 1e6, "µs"),
        figure((cpu.off.seconds / cpu.off.downloads) * 1e6, "µs"),
      ),
      countedByTheCountingServerSoFar: counted.modelVersion.usage.totals.downloads,
      rounds: {
        on: rounds.on.map((r) => Math.round(r.work / r.seconds)),
        off: rounds.off.map((r) => Math.round(r.work / r.seconds)),
      },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(databases.map((d) => d.drop()));
  }
}

async function usageQueries(provider: DatabaseConfig["provider"]) {
  const database = await createBenchDatabase(provider);
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-bench-usage-"));
  const registro = await createRegistro({
    database: database.config,
    dataDir,
    logger: pino({ level: "silent" }),
    inspection: { enabled: false },
    auth: { osUserName: "bench" },
  });
  try {
    const address = await registro.app.listen(0, "127.0.0.1");
    const url = `http://127.0.0.1:${address.port}`;
    await gql(url, `mutation { createRegisteredModel(input: { name: "used" }) { __typename } }`);
    for (let v = 1; v <= VERSIONS; v++)
      await gql(
        url,
        `mutation { createModelVersion(input: { name: "used", source: "s3://b/${v}" }) { __typename } }`,
      );
    const [model] = await registro.db.query<{ id: string }>(
      `SELECT "id" FROM "registered_models" WHERE "name" = 'used'`,
    );
    const modelId = model!.id;
    const end = bucketStartMs("HOUR", Date.now());
    const start = end - HOURS * 3_600_000;
    const seeding = performance.now();
    const CHUNK = 500;
    const row = `(${Array.from({ length: 13 }, () => "?").join(", ")})`;
    for (let v = 1; v <= VERSIONS; v++) {
      const rows: (string | number | Date | null)[][] = [];
      const days = new Map<number, { count: number; bytes: number; last: number }>();
      for (let h = 0; h < HOURS; h++) {
        const at = start + h * 3_600_000;
        const count = 1 + ((v * 7 + h) % 13);
        rows.push([
          "HOUR",
          new Date(at),
          modelId,
          v,
          "DOWNLOADS",
          "model.bin",
          `c${v % 5}`,
          count,
          0,
          count * 4096,
          null,
          null,
          new Date(at + 60_000),
        ]);
        const day = bucketStartMs("DAY", at);
        const known = days.get(day) ?? { count: 0, bytes: 0, last: 0 };
        days.set(day, { count: known.count + count, bytes: known.bytes + count * 4096, last: at + 60_000 });
      }
      for (const [day, d] of days)
        rows.push([
          "DAY",
          new Date(day),
          modelId,
          v,
          "DOWNLOADS",
          "model.bin",
          `c${v % 5}`,
          d.count,
          0,
          d.bytes,
          null,
          null,
          new Date(d.last),
        ]);
      await registro.db.write(async (tx) => {
        for (let i = 0; i + CHUNK <= rows.length; i += CHUNK)
          await tx.execute(
            `INSERT INTO "usage_buckets" VALUES ${Array.from({ length: CHUNK }, () => row).join(", ")}`,
            rows.slice(i, i + CHUNK).flat(),
          );
        for (const rest of rows.slice(rows.length - (rows.length % CHUNK)))
          await tx.execute(`INSERT INTO "usage_buckets" VALUES ${row}`, rest);
      });
    }
    const seededSeconds = (performance.now() - seeding) / 1000;
    // The steady state: a running server's WAL is checkpointed as it goes, not 900,000 rows deep.
    if (database.config.provider === "sqlite") {
      const connection = new BetterSqlite3(database.config.file);
      connection.pragma("wal_checkpoint(TRUNCATE)");
      connection.close();
    }
    if (provider === "postgresql") await registro.db.write((tx) => tx.execute(`ANALYZE "usage_buckets"`));
    const year = new Date(end - 365 * 86_400_000).toISOString();
    const month = new Date(end - 31 * 86_400_000 + 3_600_000).toISOString();
    const queries = {
      modelByDayOverAYear: `{ registeredModel(name: "used") { usage(from: "${year}", granularity: DAY) { points { start downloads bytes } totals { downloads } versions { version downloads } } } }`,
      modelByHourOver31Days: `{ registeredModel(name: "used") { usage(from: "${month}", granularity: HOUR) { points { start downloads bytes } totals { downloads } versions { version downloads } } } }`,
      versionByDayOverAYear: `{ modelVersion(name: "used", version: 42) { usage(from: "${year}", granularity: DAY) { points { start downloads bytes } totals { downloads } } } }`,
      versionByHourOver31Days: `{ modelVersion(name: "used", version: 42) { usage(from: "${month}", granularity: HOUR) { points { start downloads bytes } totals { downloads } } } }`,
    };
    const results: Record<string, unknown> = {
      seededRows: (
        await registro.db.query<{ n: unknown }>(`SELECT COUNT(*) AS "n" FROM "usage_buckets"`)
      ).map((r) => Number(r.n))[0],
      seedSeconds: Math.round(seededSeconds),
    };
    for (const [name, query] of Object.entries(queries)) {
      for (let i = 0; i < 3; i++) await gql(url, query);
      const times: number[] = [];
      let points = 0;
      for (let i = 0; i < QUERY_SAMPLES; i++) {
        const t0 = performance.now();
        const data = await gql(url, query);
        times.push(performance.now() - t0);
        points = (data.registeredModel ?? data.modelVersion).usage.points.length;
      }
      times.sort((a, b) => a - b);
      results[name] = {
        points,
        p50: figure(percentile(times, 50), "ms"),
        p99: figure(percentile(times, 99), "ms"),
      };
    }
    return results;
  } finally {
    await registro.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The counter's own cost per download, in-process and without the network: what counting adds to
 * a download's CPU, however loaded the machine (1,000 distinct keys, as many consumers and files).
 */
function recordCost() {
  const counter = new DownloadCounter({
    apply: () => Promise.resolve(),
    logger: pino({ level: "silent" }),
    flushIntervalMs: 3_600_000,
    maxKeys: 1_000_000,
  });
  const at = new Date();
  const N = 500_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++)
    counter.record({
      modelId: "model-id",
      version: 1 + (i % 10),
      path: `weights-${i % 10}.bin`,
      consumerId: `principal-${i % 10}`,
      bytes: 4096,
      at,
    });
  return figure(((performance.now() - t0) * 1000) / N, "µs", 3);
}

async function benchUsageDownloads(): Promise<Record<string, unknown>> {
  const counting = await downloadCounting();
  const perRecord = recordCost();
  return {
    ...counting,
    counterRecordCost: perRecord,
    // The counter's cost as a share of a download's server CPU (counting off).
    counterShareOfDownloadCpu: round(
      perRecord.value / (counting.serverCpuPerDownload.baseline.value || Number.NaN),
      5,
    ),
  };
}

async function benchUsageQueries(): Promise<Record<string, unknown>> {
  return {
    queriesSqlite: await usageQueries("sqlite"),
    ...((await postgresReachable()) ? { queriesPostgresql: await usageQueries("postgresql") } : {}),
  };
}

/** Both parts; `BENCH_USAGE_ONLY=downloads` (or `queries`) runs one. */
export async function benchUsage(): Promise<Record<string, unknown>> {
  const only = process.env.BENCH_USAGE_ONLY;
  return {
    ...(only === "queries" ? {} : { downloadCounting: await benchUsageDownloads() }),
    ...(only === "downloads" ? {} : await benchUsageQueries()),
  };
}
