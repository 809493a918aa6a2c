// Server CPU per createModelVersion (#18), for comparing checkouts: Registro servers started from
// each checkout named in CORE_CPU_SERVERS (`label=dir,label=dir`; default this one) and the bare
// baseline (bench/baselineServer.ts) run side by side, in rounds that rotate which goes first, with
// 8 and then 1 closed-loop clients. Per server: throughput, the median round p50, the ratio to the
// baseline and the server's CPU time (user + system, from /proc) per request, which other work on
// a shared machine disturbs less than wall time. CORE_CPU_PROFILE=<dir> runs the Registro servers
// under `--cpu-prof` (bench/profilePhases.ts reads the profiles); CORE_CPU_SECONDS (per round,
// default 4), CORE_CPU_ROUNDS (default 4) and CORE_CPU_CLIENTS (default `8,1`) change the run;
// CORE_CPU_MODELS=client gives each client a model of its own (as in bench/corePostgres.ts) instead of
// all clients registering versions of one model.
// A checkout of another commit needs node_modules and src/db/generated beside its sources, e.g.
// `git archive 6c1e817 | tar -x -C /tmp/base`, a node_modules symlink and a copy of src/db/generated.
// Run: node --import tsx bench/coreCpu.ts
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { createModel, createVersion } from "./core.ts";
import { ROOT, closedLoop, postJson, round, spawnServer } from "./support.ts";
import type { ChildServer } from "./support.ts";

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The median of a[i] / b[i], with the quartiles beside it. */
function pairedMedian(a: readonly number[], b: readonly number[]) {
  const ratios = a.map((x, i) => x / (b[i] ?? Number.NaN)).sort((x, y) => x - y);
  const at = (q: number) => round(ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!, 3);
  return `${at(0.5)} (${at(0.25)}-${at(0.75)})`;
}

interface Side {
  readonly label: string;
  readonly server: ChildServer;
  readonly send: (i: number, client: number) => Promise<void>;
}

const seconds = Number(process.env.CORE_CPU_SECONDS ?? 4);
const rounds = Number(process.env.CORE_CPU_ROUNDS ?? 4);
const clientCounts = (process.env.CORE_CPU_CLIENTS ?? "8,1").split(",").map(Number);
const profile = process.env.CORE_CPU_PROFILE;
const modelPerClient = process.env.CORE_CPU_MODELS === "client";
// `label=dir` or `label=dir?NAME=value&NAME=value` (environment for that server only).
const checkouts = (process.env.CORE_CPU_SERVERS ?? `this=${ROOT}`).split(",").map((entry) => {
  const [label, rest] = entry.split(/=(.*)/s);
  const [dir, query] = rest!.split("?");
  return {
    label: label!,
    dir: path.resolve(dir!),
    env: Object.fromEntries(new URLSearchParams(query ?? "")),
  };
});

const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-core-cpu-"));
const sides: Side[] = [];
try {
  const baseline = await spawnServer("bench/baselineServer.ts", { DATA_DIR: dir });
  sides.push({
    label: "baseline",
    server: baseline,
    send: async () => {
      const { status } = await postJson(`${baseline.url}/graphql`, {
        query: `mutation($input: CreateInput!) { createModelVersion(input: $input) { version } }`,
        variables: { input: { name: "bench", source: "s3://bench/model" } },
      });
      if (status !== 200) throw new Error(`baseline failed: ${status}`);
    },
  });
  for (const { label, dir: checkout, env } of checkouts) {
    if (profile) mkdirSync(path.join(profile, label), { recursive: true });
    const server = await spawnServer(
      path.join(checkout, "src/main.ts"),
      { ...env, DATA_DIR: path.join(dir, label) },
      "/healthz",
      profile ? ["--cpu-prof", `--cpu-prof-dir=${path.join(profile, label)}`, "--cpu-prof-interval=200"] : [],
      checkout,
    );
    const models = modelPerClient ? Math.max(...clientCounts, 8) : 1;
    for (let m = 0; m < models; m++) await createModel(server.url, `throughput-${m}`);
    sides.push({
      label,
      server,
      send: (_, client) => createVersion(server.url, `throughput-${modelPerClient ? client : 0}`),
    });
  }
  for (const side of sides) await closedLoop(8, 3, side.send); // warm-up
  const report: Record<string, unknown> = {};
  for (const clients of clientCounts) {
    const totals = new Map(
      sides.map((s) => [
        s.label,
        { requests: 0, seconds: 0, cpu: 0, p50s: [] as number[], cpuPerRequest: [] as number[] },
      ]),
    );
    const loads: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const order = [...sides.slice(i % sides.length), ...sides.slice(0, i % sides.length)];
      for (const side of order) {
        const pid = side.server.child.pid!;
        const cpu0 = cpuSeconds(pid);
        const result = await closedLoop(clients, seconds, side.send);
        const total = totals.get(side.label)!;
        const cpu = cpuSeconds(pid) - cpu0;
        total.cpu += cpu;
        total.cpuPerRequest.push((cpu * 1000) / result.requests);
        total.requests += result.requests;
        total.seconds += result.seconds;
        total.p50s.push(result.p50Ms);
        loads.push(os.loadavg()[0] ?? 0);
      }
    }
    const base = totals.get("baseline")!;
    report[`${clients} client${clients === 1 ? "" : "s"}`] = {
      load1m: `${round(Math.min(...loads))}-${round(Math.max(...loads))}`,
      ...Object.fromEntries(
        [...totals].map(([label, t]) => [
          label,
          {
            perSecond: round(t.requests / t.seconds, 1),
            ratio: round(t.requests / t.seconds / (base.requests / base.seconds), 3),
            p50Ms: round(t.p50s.sort((a, b) => a - b)[Math.floor(t.p50s.length / 2)]!, 2),
            cpuMsPerRequest: round((t.cpu * 1000) / t.requests, 3),
            // Round by round against the first checkout's same round (/proc counts in 10 ms ticks,
            // so short rounds are noisy one by one; their median is steadier than the total).
            cpuVersusFirst: pairedMedian(t.cpuPerRequest, totals.get(checkouts[0]!.label)!.cpuPerRequest),
          },
        ]),
      ),
    };
    console.error(JSON.stringify(report[`${clients} client${clients === 1 ? "" : "s"}`]));
  }
  console.log(JSON.stringify(report, null, 2));
} finally {
  await Promise.all(sides.map((s) => s.server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
