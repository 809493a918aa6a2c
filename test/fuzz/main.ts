// `npm run fuzz`: the long fuzz run. Starts Registro as `npm start` does (a child process on a fresh
// data folder, SQLite unless FUZZ_DATABASE_URL is set), seeds a model with an artifact, sends
// FUZZ_COUNT (default 20,000) hostile requests and WebSocket sessions from FUZZ_SEED, and samples
// the server's memory between batches. The server runs with its V8 heap capped at
// FUZZ_SERVER_HEAP_MB (default 256): memory a hostile request could pin for good would end it with
// an out-of-memory crash instead of hiding in a large heap that V8 grows lazily. Prints a JSON
// report; exits 1 on any 5xx, hang, crash, broken invariant, or resident memory growing more than
// FUZZ_MAX_RSS_GROWTH_MB (default 256) past the first batch (which warms up code and caches).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seedFuzzTarget } from "./fuzzTarget.ts";
import { runFuzz } from "./runFuzz.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const count = Number(process.env.FUZZ_COUNT ?? 20_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const maxGrowthMb = Number(process.env.FUZZ_MAX_RSS_GROWTH_MB ?? 256);
const heapMb = Number(process.env.FUZZ_SERVER_HEAP_MB ?? 256);

const rssMb = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-fuzz-"));
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${heapMb}`, "--import", "tsx", path.join(ROOT, "src/main.ts")],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
        // Hostile Authorization headers must keep reaching the parser, not stop at the 61st refusal
        // from 127.0.0.1; the limit stays on, with room for every request of the run.
        AUTH_FAILURE_BURST: "1000000000",
        ...(process.env.FUZZ_DATABASE_URL ? { DATABASE_URL: process.env.FUZZ_DATABASE_URL } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // A process killed by a signal (an out-of-memory abort) has a signalCode and no exitCode.
  const alive = () => child.exitCode === null && child.signalCode === null;
  let stderr = "";
  let output = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        output = (output + d.toString()).slice(-200_000);
        const match = /listening on (http:\/\/[\d.]+:\d+)\//.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60_000).unref();
    });
    const target = await seedFuzzTarget(url);
    const pid = child.pid!;
    const rssAtStart = rssMb(pid);
    let rssAfterWarmUp: number | null = null;
    let rssPeak = rssAtStart;
    const samples: number[] = [];
    const started = performance.now();
    const report = await runFuzz({
      port: Number(new URL(url).port),
      targets: target,
      count,
      seed,
      requireErrorCodes: process.env.FUZZ_REQUIRE_CODES !== "0",
      onBatch: (done, failures) => {
        if (!alive()) throw new Error(`the server died after ${done} requests: ${stderr}`);
        const rss = rssMb(pid);
        rssAfterWarmUp ??= rss;
        rssPeak = Math.max(rssPeak, rss);
        samples.push(Math.round(rss));
        console.error(`${done}/${count} requests, ${failures} failures, server RSS ${rss.toFixed(0)} MB`);
      },
    });
    const growth = rssPeak - (rssAfterWarmUp ?? rssAtStart);
    const summary = {
      ...report,
      failures: report.failures.slice(0, 50),
      failureCount: report.failures.length,
      seconds: Math.round((performance.now() - started) / 1000),
      serverAlive: alive(),
      serverHeapLimitMb: heapMb,
      serverRssMb: {
        atStart: Math.round(rssAtStart),
        afterFirstBatch: Math.round(rssAfterWarmUp ?? rssAtStart),
        peak: Math.round(rssPeak),
        perBatch: samples,
      },
    };
    console.log(JSON.stringify(summary, null, 2));
    const ok = report.failures.length === 0 && alive() && growth <= maxGrowthMb;
    if (growth > maxGrowthMb)
      console.error(`server RSS grew by ${growth.toFixed(0)} MB (limit ${maxGrowthMb})`);
    return ok ? 0 : 1;
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (alive() ? child.once("exit", resolve) : resolve(null)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
