// Issue #18 (PostgreSQL): createModelVersion over HTTP on PostgreSQL, side by side in one run with
// the same command on SQLite: SQLite with 8 clients, one PostgreSQL instance with 8 clients, two
// instances (two server processes on one database) with 4 clients each, one PostgreSQL instance with
// 1 client, and one instance with 8 clients all on one model. Every client registers versions of a
// model of its own (except in the last case), as the clients of a registry with many models do; the
// rounds of the five cases alternate, so background load lands on all of them alike.
import { readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import { createModel, createVersion } from "./core.ts";
import type { BenchDatabase } from "./benchDatabase.ts";
import { combine, compare, percentile, round, spawnServer } from "./support.ts";
import type { ChildServer, Figure } from "./support.ts";

/** One client: the server it talks to and the model it registers versions of. */
interface Client {
  readonly url: string;
  readonly model: string;
}

interface Round {
  readonly requests: number;
  readonly seconds: number;
  readonly latencies: number[];
  readonly load: number;
  /** CPU time the servers' processes and the database's backends spent in the round. */
  readonly serverCpuMs: number;
  readonly databaseCpuMs: number;
}

/** CPU time (user + system) of a process so far, in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
const TICKS_PER_SECOND = 100;

/** Where the CPU of a round goes: the server processes, and the database's backends (PostgreSQL on this machine). */
interface CpuProbe {
  readonly serverPids: readonly number[];
  backendPids(): Promise<number[]>;
}

/** Every client sends back to back for `seconds`; latencies of all of them together. */
async function run(clients: readonly Client[], seconds: number, probe?: CpuProbe): Promise<Round> {
  const latencies: number[] = [];
  const backendsBefore = probe ? await probe.backendPids() : [];
  const cpuBefore = new Map([...(probe?.serverPids ?? []), ...backendsBefore].map((p) => [p, cpuMs(p)]));
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await createVersion(client.url, client.model);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const spent = (pids: readonly number[]) =>
    pids.reduce((sum, pid) => sum + Math.max(0, cpuMs(pid) - (cpuBefore.get(pid) ?? 0)), 0);
  const backends = probe ? [...new Set([...backendsBefore, ...(await probe.backendPids())])] : [];
  return {
    requests: latencies.length,
    seconds: elapsed,
    latencies,
    load: os.loadavg()[0] ?? 0,
    serverCpuMs: spent(probe?.serverPids ?? []),
    databaseCpuMs: spent(backends),
  };
}

const CASES = ["sqlite8", "pg8", "pg2x4", "pg1", "pg8OneModel"] as const;
type Case = (typeof CASES)[number];

function summary(rounds: readonly Round[]) {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const load = round(rounds.reduce((s, r) => s + r.load, 0) / Math.max(1, rounds.length));
  return {
    throughput: combine(
      rounds.map((r) => ({ work: r.requests, seconds: r.seconds, load: r.load })),
      "versions/s",
    ),
    p50: { value: round(percentile(latencies, 50)), unit: "ms", loadAverage1m: load } satisfies Figure,
    p99: { value: round(percentile(latencies, 99)), unit: "ms", loadAverage1m: load } satisfies Figure,
    // CPU per command, which the load of other processes on the machine distorts far less than time.
    serverCpuPerVersion: {
      value: round(
        rounds.reduce((t, r) => t + r.serverCpuMs, 0) / rounds.reduce((t, r) => t + r.requests, 0),
      ),
      unit: "ms",
      loadAverage1m: load,
    } satisfies Figure,
    databaseCpuPerVersion: {
      value: round(
        rounds.reduce((t, r) => t + r.databaseCpuMs, 0) / rounds.reduce((t, r) => t + r.requests, 0),
      ),
      unit: "ms",
      loadAverage1m: load,
    } satisfies Figure,
    rounds: rounds.map((r) => ({
      perSecond: round(r.requests / r.seconds, 1),
      loadAverage1m: round(r.load),
    })),
  };
}

export async function benchCorePostgres(options: { seconds?: number; rounds?: number } = {}) {
  if (!(await postgresReachable())) {
    console.warn("PostgreSQL is unreachable: skipping the core-postgres benchmark");
    return {};
  }
  const seconds = options.seconds ?? 3;
  const rounds = options.rounds ?? 4;
  const databases: BenchDatabase[] = [];
  const servers: ChildServer[] = [];
  try {
    const sqlite = await createBenchDatabase("sqlite");
    const postgres = await createBenchDatabase("postgresql");
    databases.push(sqlite, postgres);
    const sqliteServer = await spawnServer("src/main.ts", sqlite.env);
    servers.push(sqliteServer);
    // Two server processes on one database, each with its own pools, sharing the data folder (one
    // blob store per database, as instances on one machine would).
    const a = await spawnServer("src/main.ts", postgres.env);
    servers.push(a);
    const b = await spawnServer("src/main.ts", postgres.env);
    servers.push(b);

    const clients = async (prefix: string, urls: readonly string[], perServer: number) => {
      const list: Client[] = [];
      for (const url of urls)
        for (let i = 0; i < perServer; i++) {
          const model = `${prefix}-${list.length}`;
          await createModel(url, model);
          list.push({ url, model });
        }
      return list;
    };
    const sides: Record<Case, Client[]> = {
      sqlite8: await clients("sqlite8", [sqliteServer.url], 8),
      pg8: await clients("pg8", [a.url], 8),
      pg2x4: await clients("pg2x4", [a.url, b.url], 4),
      pg1: await clients("pg1", [a.url], 1),
      pg8OneModel: [],
    };
    await createModel(a.url, "pg8-one-model");
    sides.pg8OneModel = Array.from({ length: 8 }, () => ({ url: a.url, model: "pg8-one-model" }));

    const postgresName = new URL(postgres.env.DATABASE_URL ?? "").pathname.slice(1);
    const probe = (pids: readonly number[], database: boolean): CpuProbe => ({
      serverPids: pids,
      async backendPids() {
        if (!database) return [];
        const admin = new pg.Client({ connectionString: postgres.env.DATABASE_URL });
        await admin.connect();
        try {
          const { rows } = await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            [postgresName],
          );
          return rows.map((r) => r.pid);
        } finally {
          await admin.end();
        }
      },
    });
    const pid = (server: ChildServer) => server.child.pid ?? 0;
    const probes: Record<Case, CpuProbe> = {
      sqlite8: probe([pid(sqliteServer)], false),
      pg8: probe([pid(a)], true),
      pg2x4: probe([pid(a), pid(b)], true),
      pg1: probe([pid(a)], true),
      pg8OneModel: probe([pid(a)], true),
    };
    for (const side of CASES) await run(sides[side], 1); // warm-up
    const results: Record<Case, Round[]> = { sqlite8: [], pg8: [], pg2x4: [], pg1: [], pg8OneModel: [] };
    for (let i = 0; i < rounds; i++) {
      // Each round starts with a different case, so none always runs first or last.
      const order = [...CASES.slice(i % CASES.length), ...CASES.slice(0, i % CASES.length)];
      for (const side of order) results[side].push(await run(sides[side], seconds, probes[side]));
    }
    const s = Object.fromEntries(CASES.map((c) => [c, summary(results[c])])) as Record<
      Case,
      ReturnType<typeof summary>
    >;
    return {
      seconds,
      rounds,
      cases: {
        sqlite8: "SQLite, one instance, 8 clients (a model each)",
        pg8: "PostgreSQL, one instance, 8 clients (a model each)",
        pg2x4: "PostgreSQL, two instances on one database, 4 clients each (a model each)",
        pg1: "PostgreSQL, one instance, 1 client",
        pg8OneModel: "PostgreSQL, one instance, 8 clients on one model",
      },
      // The two targets: ≥ 1 and ≥ 1.5.
      pg8VsSqlite8: compare(s.pg8.throughput, s.sqlite8.throughput),
      pg2x4VsPg8: compare(s.pg2x4.throughput, s.pg8.throughput),
      pg8VsPg1: compare(s.pg8.throughput, s.pg1.throughput),
      pg8OneModelVsPg8: compare(s.pg8OneModel.throughput, s.pg8.throughput),
      ...Object.fromEntries(
        CASES.flatMap((c) => [
          [`${c}_p50_ms`, s[c].p50],
          [`${c}_p99_ms`, s[c].p99],
          [`${c}_server_cpu_ms_per_version`, s[c].serverCpuPerVersion],
          [`${c}_database_cpu_ms_per_version`, s[c].databaseCpuPerVersion],
        ]),
      ),
      roundsByCase: Object.fromEntries(CASES.map((c) => [c, s[c].rounds])),
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    for (const database of databases) await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCorePostgres(), null, 2));
}
