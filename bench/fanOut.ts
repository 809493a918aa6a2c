// Fan-out of one promotion to many WebSocket subscribers (#18): BENCH_FANOUT_SUBSCRIBERS (default
// 1,000 and 10,000) raw graphql-transport-ws clients subscribe to `modelVersionStageChanged` of one
// model on a Registro in its own process (bench/fanOutServer.ts, as `npm start` runs it); the figure
// is the time from sending the promotion until the last subscriber has its `next` message, median
// and max over BENCH_FANOUT_ROUNDS promotions. The baseline in the same run is the transport's
// floor: a bare `ws` server that sends one pre-serialized message to every subscriber. Memory per
// idle subscriber is the server's RSS and heap growth (after a full GC) divided by the subscribers;
// the GC share is the server's garbage collection time while notifying over the time to notify.
//
// Clients are cheap on purpose (no graphql-ws client library, messages after the ack are counted,
// not parsed) but share this machine's two cores with the server: their time is part of the figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { compare, figure, freePort, percentile, postJson, spawnServer } from "./support.ts";
import type { Comparison, Figure } from "./support.ts";

const COUNTS = (process.env.BENCH_FANOUT_SUBSCRIBERS ?? "1000,10000").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 5);
const CONNECT_CONCURRENCY = 250;
const MODEL = "fanout";
const SUBSCRIPTION =
  "subscription($name: String) { modelVersionStageChanged(name: $name) { version stage event { position } } }";
const NEXT = Buffer.from('"type":"next"');

type Mode = "registro" | "bare";

interface Run {
  readonly notifiedMs: number[];
  readonly rssPerSubscriber: number;
  readonly heapPerSubscriber: number;
  /** The server's garbage collection time during the fan-outs over their duration. */
  readonly gcShare: number;
}

async function control<T>(port: number, what: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}/${what}`);
  return (await response.json()) as T;
}

/** Opens one subscriber; resolves once the server acknowledged the connection and the subscribe is sent. */
function subscriber(url: string, onNext: () => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws");
    let acked = false;
    socket.on("open", () => socket.send('{"type":"connection_init","payload":{}}'));
    socket.on("message", (data: Buffer) => {
      if (acked) {
        if (data.includes(NEXT)) onNext();
        else reject(new Error(`unexpected message: ${data.toString("utf8").slice(0, 200)}`));
        return;
      }
      const message = JSON.parse(data.toString("utf8")) as { type: string };
      if (message.type !== "connection_ack") return reject(new Error(`no ack: ${data.toString("utf8")}`));
      acked = true;
      const payload = { query: SUBSCRIPTION, variables: { name: MODEL } };
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload }));
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const { status, text } = await postJson(`${url}/graphql`, { query, variables });
  if (status !== 200 || text.includes('"errors"') || text.includes('"message"'))
    throw new Error(`${status} ${text}`);
}

async function run(mode: Mode, count: number): Promise<Run> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-bench-fanout-"));
  const controlPort = await freePort();
  const server = await spawnServer("bench/fanOutServer.ts", {
    FANOUT_MODE: mode,
    DATA_DIR: dataDir,
    CONTROL_PORT: String(controlPort),
    // All subscribers come from this one address as one principal (AUTH=local), more of them than
    // the default caps, and CONNECT_CONCURRENCY of them authenticate at once.
    SUBSCRIPTION_CONNECTIONS_MAX_PER_CLIENT: String(count),
    SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL: String(count),
    SUBSCRIPTION_CONNECTIONS_MAX_CONCURRENT: String(count),
    SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT: String(CONNECT_CONCURRENCY),
  });
  const sockets: WebSocket[] = [];
  try {
    if (mode === "registro") {
      await graphql(
        server.url,
        "mutation($i: CreateRegisteredModelInput!) { createRegisteredModel(input: $i) { __typename } }",
        { i: { name: MODEL } },
      );
      await graphql(
        server.url,
        "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { __typename } }",
        { i: { name: MODEL, source: "s3://bench" } },
      );
    }
    const before = await control<NodeJS.MemoryUsage>(controlPort, "memory");
    const counts = new Array<number>(count).fill(0);
    let lastAt = 0;
    const wsUrl = `${server.url.replace("http", "ws")}/graphql`;
    for (let i = 0; i < count; i += CONNECT_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - i) }, (_, j) =>
        subscriber(wsUrl, () => {
          counts[i + j]!++;
          lastAt = performance.now();
        }),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    await until(
      async () => (await control<{ count: number }>(controlPort, "subscribers")).count === count,
      120_000,
      `${count} subscriptions`,
    );
    const after = await control<NodeJS.MemoryUsage>(controlPort, "memory");
    const notifiedMs: number[] = [];
    let gcMs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const gcBefore = (await control<{ ms: number }>(controlPort, "gc")).ms;
      const sent = performance.now();
      if (mode === "registro")
        await graphql(
          server.url,
          "mutation($i: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $i) { __typename } }",
          { i: { name: MODEL, version: 1, stage: round % 2 === 1 ? "PRODUCTION" : "STAGING" } },
        );
      else await postJson(`${server.url}/promote`, {});
      await until(() => counts.every((c) => c >= round), 60_000, `round ${round} at every subscriber`);
      notifiedMs.push(lastAt - sent);
      gcMs += (await control<{ ms: number }>(controlPort, "gc")).ms - gcBefore;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return {
      notifiedMs,
      rssPerSubscriber: (after.rss - before.rss) / count,
      heapPerSubscriber: (after.heapUsed - before.heapUsed) / count,
      gcShare: gcMs / notifiedMs.reduce((sum, ms) => sum + ms, 0),
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchFanOut(): Promise<Record<string, Figure | Comparison>> {
  const results: Record<string, Figure | Comparison> = {};
  for (const count of COUNTS) {
    const registro = await run("registro", count);
    const bare = await run("bare", count);
    const median = (r: Run) =>
      percentile(
        [...r.notifiedMs].sort((a, b) => a - b),
        50,
      );
    const max = (r: Run) => Math.max(...r.notifiedMs);
    results[`fanout_${count}_all_notified_median_ms`] = compare(
      figure(median(registro), "ms"),
      figure(median(bare), "ms"),
    );
    results[`fanout_${count}_all_notified_max_ms`] = compare(
      figure(max(registro), "ms"),
      figure(max(bare), "ms"),
    );
    results[`fanout_${count}_gc_share_while_notifying`] = compare(
      figure(registro.gcShare, "ratio", 3),
      figure(bare.gcShare, "ratio", 3),
    );
    results[`fanout_${count}_rss_per_idle_subscriber`] = compare(
      figure(registro.rssPerSubscriber, "bytes", 0),
      figure(bare.rssPerSubscriber, "bytes", 0),
    );
    results[`fanout_${count}_heap_per_idle_subscriber`] = compare(
      figure(registro.heapPerSubscriber, "bytes", 0),
      figure(bare.heapPerSubscriber, "bytes", 0),
    );
  }
  return results;
}
