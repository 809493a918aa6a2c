// Subscription benchmarks: commit-to-client latency for one WebSocket subscriber (SQLite) and
// cross-instance latency on PostgreSQL (two instances on one database, mutation on A, subscriber on
// B); the fan-out to many subscribers is bench/fanOut.ts. Starts its own servers in temp
// directories / a temp database and removes them. `node --import tsx bench/subscriptions.ts` prints JSON.
//
// Latency definitions (all clocks are this process's; servers run in-process):
// - *_send_to_event: from just before the mutation request is sent until the client has the event
//   (includes HTTP parsing, the transaction and its fsync: an upper bound on commit-to-client).
// - *_commit_to_event: from the moment the writer's transaction has committed (its in-process commit
//   hook, which runs right after COMMIT returns) until the client has the event: what subscriptions add.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "graphql-ws";
import type { Client } from "graphql-ws";
import pg from "pg";
import { pino } from "pino";
import WebSocket from "ws";
import type { DatabaseConfig } from "../src/config.ts";
import { createRegistro } from "../src/registro.ts";
import type { Registro } from "../src/registro.ts";
import { figure, percentile } from "./support.ts";
import type { Figure } from "./support.ts";

const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ??
  process.env.TEST_POSTGRES_URL ??
  "postgresql://postgres@127.0.0.1:5432/postgres";
const LATENCY_SAMPLES = 300;

interface Instance {
  readonly registro: Registro;
  readonly graphqlUrl: string;
  readonly wsUrl: string;
  close(): Promise<void>;
}

async function startInstance(
  database: DatabaseConfig,
  cleanup: () => Promise<void> = () => Promise.resolve(),
): Promise<Instance> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-bench-"));
  const registro = await createRegistro({ database, dataDir, logger: pino({ level: "silent" }) });
  const { port } = await registro.app.listen(0, "127.0.0.1");
  return {
    registro,
    graphqlUrl: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    async close() {
      await registro.close();
      rmSync(dataDir, { recursive: true, force: true });
      await cleanup();
    },
  };
}

async function startSqliteInstance(): Promise<Instance> {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-db-"));
  return startInstance({ provider: "sqlite", file: path.join(dir, "registro.db") }, () =>
    Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  );
}

async function gql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: Record<string, { __typename: string; message?: string }>;
    errors?: unknown;
  };
  const payload = body.data && Object.values(body.data)[0];
  if (body.errors || !payload || payload.message) throw new Error(`mutation failed: ${JSON.stringify(body)}`);
}

const createModel = (url: string, name: string) =>
  gql(
    url,
    "mutation($i: CreateRegisteredModelInput!) { createRegisteredModel(input: $i) { __typename ... on Error { message } } }",
    { i: { name } },
  );
const createVersion = (url: string, name: string) =>
  gql(
    url,
    "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { __typename ... on Error { message } } }",
    { i: { name, source: "s3://bench" } },
  );
const promote = (url: string, name: string, stage: string) =>
  gql(
    url,
    "mutation($i: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $i) { __typename ... on Error { message } } }",
    { i: { name, version: 1, stage } },
  );

const STAGE_CHANGES = `subscription($name: String) { modelVersionStageChanged(name: $name) { version stage cursor event { position } } }`;

function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
}

/** Subscribes and calls `onEvent` with the receive time and position of each stage change. */
function subscribe(client: Client, name: string, onEvent: (receivedAt: number, position: number) => void) {
  return client.subscribe<{ modelVersionStageChanged: { event: { position: number } } }>(
    { query: STAGE_CHANGES, variables: { name } },
    {
      next: (result) =>
        onEvent(performance.now(), result.data?.modelVersionStageChanged.event.position ?? -1),
      error: (error) => console.error("subscription error", error),
      complete: () => undefined,
    },
  );
}

async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Percentile of unsorted samples. */
const percentileOf = (values: readonly number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );

/** Records when each position committed, through the writer's commit hook (measurement only). */
function commitTimes(instance: Instance): Map<number, number> {
  const times = new Map<number, number>();
  const live = instance.registro.liveEvents as unknown as {
    committed: (events: readonly { position: number }[]) => void;
  };
  const committed = live.committed.bind(live);
  live.committed = (events) => {
    const at = performance.now();
    for (const event of events) times.set(event.position, at);
    committed(events);
  };
  return times;
}

/** Promotes back and forth `samples` times, measuring send→event and commit→event for each. */
async function measureLatency(writer: Instance, reader: Instance, samples: number) {
  const name = `latency-${randomUUID().slice(0, 8)}`;
  await createModel(writer.graphqlUrl, name);
  await createVersion(writer.graphqlUrl, name);
  const committedAt = commitTimes(writer);
  const client = wsClient(reader.wsUrl);
  const received: { at: number; position: number }[] = [];
  const before = reader.registro.liveEvents.hub.subscriberCount;
  const unsubscribe = subscribe(client, name, (at, position) => received.push({ at, position }));
  await until(() => reader.registro.liveEvents.hub.subscriberCount > before, 10_000, "the subscription");
  const sendToEvent: number[] = [];
  const commitToEvent: number[] = [];
  const warmUp = 20;
  for (let i = 0; i < samples + warmUp; i++) {
    const count = received.length;
    const sent = performance.now();
    await promote(writer.graphqlUrl, name, i % 2 === 0 ? "STAGING" : "PRODUCTION");
    await until(() => received.length > count, 10_000, "the event");
    const event = received[count]!;
    if (i < warmUp) continue;
    sendToEvent.push(event.at - sent);
    commitToEvent.push(event.at - committedAt.get(event.position)!);
  }
  unsubscribe();
  await client.dispose();
  return { sendToEvent, commitToEvent };
}

async function benchSingleSubscriber(): Promise<Record<string, Figure>> {
  const instance = await startSqliteInstance();
  try {
    const { sendToEvent, commitToEvent } = await measureLatency(instance, instance, LATENCY_SAMPLES);
    return {
      sqlite_ws_send_to_event_p50_ms: figure(percentileOf(sendToEvent, 50), "ms"),
      sqlite_ws_send_to_event_p99_ms: figure(percentileOf(sendToEvent, 99), "ms"),
      sqlite_ws_commit_to_event_p50_ms: figure(percentileOf(commitToEvent, 50), "ms"),
      sqlite_ws_commit_to_event_p99_ms: figure(percentileOf(commitToEvent, 99), "ms"),
    };
  } finally {
    await instance.close();
  }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function benchCrossInstance(): Promise<Record<string, Figure>> {
  if (!(await postgresReachable())) {
    console.warn(`PostgreSQL at ${POSTGRES_URL} is unreachable: skipping the cross-instance benchmark`);
    return {};
  }
  const name = `registro_bench_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const database: DatabaseConfig = { provider: "postgresql", url: url.toString() };
  const instances: Instance[] = [];
  try {
    // Two instances, each with its own pool and LISTEN connection, as two processes would have.
    instances.push(await startInstance(database), await startInstance(database));
    const [a, b] = instances as [Instance, Instance];
    const { sendToEvent, commitToEvent } = await measureLatency(a, b, 200);
    return {
      pg_cross_instance_send_to_event_p50_ms: figure(percentileOf(sendToEvent, 50), "ms"),
      pg_cross_instance_send_to_event_p99_ms: figure(percentileOf(sendToEvent, 99), "ms"),
      pg_cross_instance_commit_to_event_p50_ms: figure(percentileOf(commitToEvent, 50), "ms"),
      pg_cross_instance_commit_to_event_p99_ms: figure(percentileOf(commitToEvent, 99), "ms"),
    };
  } finally {
    for (const instance of instances) await instance.close();
    const drop = new pg.Client({ connectionString: POSTGRES_URL });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await drop.end();
  }
}

export async function benchSubscriptions(): Promise<Record<string, Figure>> {
  return {
    ...(await benchSingleSubscriber()),
    ...(await benchCrossInstance()),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchSubscriptions().then(
    (results) => {
      console.log(JSON.stringify(results, null, 2));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
