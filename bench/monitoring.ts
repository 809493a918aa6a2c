// What request logging and metrics cost: the same simple GraphQL query against two servers run side
// by side, one with both (a JSON log line per request written to a pipe, HTTP and GraphQL metrics)
// and one without; rounds alternate so background load lands on both alike. Also the cost of one
// scrape of /metrics after the load (a few hundred series).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import os from "node:os";
import path from "node:path";
import { ROOT, closedLoop, combine, compare, figure, freePort, postJson, round } from "./support.ts";
import type { LoadResult } from "./support.ts";

/**
 * CPU seconds a process has used (user + system), from /proc: on a shared machine the CPU a server
 * spends per request is a steadier measure of a cost than its throughput, which others' load moves.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat; after the command name they are the 12th and 13th.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function start(mode: "on" | "off", dataDir: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "bench/monitoringServer.ts", mode], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir },
    // The log lines go to a pipe that is read and discarded, as a log shipper would read them.
    stdio: ["ignore", "pipe", "inherit"],
  });
  let logBytes = 0;
  child.stdout.on("data", (chunk: Buffer) => (logBytes += chunk.length));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`monitoring server (${mode}) exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`monitoring server (${mode}) did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    cpu: () => cpuSeconds(child.pid!),
    logBytes: () => logBytes,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export async function benchMonitoring(
  options: { seconds?: number; concurrency?: number; rounds?: number } = {},
) {
  const seconds = options.seconds ?? 12;
  const concurrency = options.concurrency ?? 8;
  const rounds = options.rounds ?? 4;
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-monitoring-"));
  const on = await start("on", path.join(dir, "on"));
  const off = await start("off", path.join(dir, "off"));
  try {
    const query = { query: "query Models { registeredModels(first: 5) { nodes { name } } }" };
    const send = (url: string) => async () => {
      const { status } = await postJson(`${url}/graphql`, query);
      if (status !== 200) throw new Error(`query failed: ${status}`);
    };
    await closedLoop(concurrency, 2, send(on.url)); // warm-up
    await closedLoop(concurrency, 2, send(off.url));
    const results: Record<"on" | "off", { result: LoadResult; load: number }[]> = { on: [], off: [] };
    const logBefore = on.logBytes();
    const cpu = { on: 0, off: 0 };
    for (let i = 0; i < rounds; i++)
      for (const side of i % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        const server = side === "on" ? on : off;
        const cpuBefore = server.cpu();
        const result = await closedLoop(concurrency, seconds / rounds, send(server.url));
        cpu[side] += server.cpu() - cpuBefore;
        results[side].push({ result, load: os.loadavg()[0] ?? 0 });
      }
    const throughput = (side: "on" | "off") =>
      combine(
        results[side].map(({ result, load }) => ({ work: result.requests, seconds: result.seconds, load })),
        "queries/s",
      );
    const requestsOn = results.on.reduce((sum, r) => sum + r.result.requests, 0);
    const requestsOff = results.off.reduce((sum, r) => sum + r.result.requests, 0);
    const cpuPerRequest = (side: "on" | "off", requests: number) =>
      figure((cpu[side] / Math.max(1, requests)) * 1e6, "µs CPU/query", 0);
    const scrapeStart = performance.now();
    const scrapes = 20;
    let scrapedBytes = 0;
    for (let i = 0; i < scrapes; i++)
      scrapedBytes += (await (await fetch(`${on.url}/metrics`)).text()).length;
    const scrapeMs = (performance.now() - scrapeStart) / scrapes;
    return {
      concurrency,
      seconds,
      rounds,
      // Instrumented throughput as a share of the uninstrumented one (1 = free).
      throughput: compare(throughput("on"), throughput("off")),
      // The server's CPU per query (1/100 s resolution over the whole run), on vs off: the steadier figure.
      cpuPerQuery: compare(cpuPerRequest("on", requestsOn), cpuPerRequest("off", requestsOff)),
      p50Ms: {
        on: round(results.on.reduce((s, r) => s + r.result.p50Ms, 0) / rounds),
        off: round(results.off.reduce((s, r) => s + r.result.p50Ms, 0) / rounds),
      },
      logBytesPerRequest: round((on.logBytes() - logBefore) / Math.max(1, requestsOn), 1),
      scrape: figure(scrapeMs, "ms"),
      scrapeBytes: Math.round(scrapedBytes / scrapes),
    };
  } finally {
    await Promise.all([on.stop(), off.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
