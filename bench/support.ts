// Shared bench plumbing: child-process servers on loopback, a keep-alive HTTP client, percentiles.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ChildServer {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx <script>` with env (LOG_LEVEL `warn` unless env says otherwise: its logs
 * share the bench's stdout), waiting until /healthz (or the given path) answers. `nodeArgs` go to node
 * before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses); `cwd` is the checkout it runs from.
 */
export async function spawnServer(
  script: string,
  env: Record<string, string>,
  readyPath = "/healthz",
  nodeArgs: readonly string[] = [],
  cwd = ROOT,
): Promise<ChildServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], {
    cwd,
    // A bench's clients all come from loopback, where they stand for many clients of a registry:
    // one rate limit between them would measure the limit (on unless a bench's env turns it back on).
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_SECOND: "0",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}${readyPath}`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${script} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One request over the keep-alive connections; resolves with the status and body text. A request
 * the server never read (it closed an idle kept-alive connection just as the request reused it) is
 * sent once more on a fresh connection: it cannot run twice.
 */
function send(
  url: string,
  method: "GET" | "POST",
  payload: string | undefined,
  headers: Record<string, string | number>,
  retried = false,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
      response.on("error", reject);
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (!retried && request.reusedSocket && error.code === "ECONNRESET")
        send(url, method, payload, headers, true).then(resolve, reject);
      else reject(error);
    });
    request.end(payload);
  });
}

/** POSTs JSON over a keep-alive connection; resolves with the status and body text. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  return send(url, "POST", payload, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
}

/** GETs a URL over the same keep-alive connections; resolves with the status and body text. */
export function getText(url: string): Promise<{ status: number; text: string }> {
  return send(url, "GET", undefined, {});
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `concurrency` closed-loop clients for `seconds`, each calling `send` back to back. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  send: (i: number, client: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let counter = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await send(counter++, client);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds: elapsed,
    throughput: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * One measured figure with the machine's 1-minute load average when it was taken: on a shared
 * two-core machine a figure means little without it, so every figure a benchmark reports carries it.
 */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly loadAverage1m: number;
}

export function figure(value: number, unit: string, digits = 2): Figure {
  return { value: round(value, digits), unit, loadAverage1m: round(os.loadavg()[0] ?? 0, 2) };
}

/**
 * A measured figure against its baseline from the same run. The ratio is computed from exactly the
 * two figures printed beside it, never from other samples, so a reader can check it by hand.
 */
export interface Comparison {
  readonly measured: Figure;
  readonly baseline: Figure;
  /** measured / baseline (for throughputs: the share of the baseline reached). */
  readonly ratio: number;
}

export function compare(measured: Figure, baseline: Figure): Comparison {
  return { measured, baseline, ratio: round(measured.value / baseline.value, 3) };
}

/** Folds equal-weight rounds into one figure: total work over total time, load averaged. */
export function combine(rounds: readonly { work: number; seconds: number; load: number }[], unit: string) {
  const work = rounds.reduce((sum, r) => sum + r.work, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const load = rounds.reduce((sum, r) => sum + r.load, 0) / Math.max(1, rounds.length);
  return { value: round(work / seconds, 2), unit, loadAverage1m: round(load, 2) } satisfies Figure;
}
