// Webhook benchmarks (SQLite, in-process server and receivers on 127.0.0.1):
// - latency: one webhook; each sample sends a mutation and waits until the receiver has the signed
//   message. `send_to_receiver` runs from just before the request is sent (an upper bound on
//   commit-to-receiver); `commit_to_receiver` from the in-process commit hook (the transaction has
//   committed) until the receiver has it. Baselines from the same run: the mutation's own round trip,
//   and a bare HTTP POST to the receiver.
// - burst: 10 webhooks, a burst of 10,000 events appended at once (seeded many to a transaction),
//   then the time until every webhook has all of them: deliveries per second. Baselines: the raw
//   append rate of the same burst, and 10 bare HTTP POST loops to the same receivers.
// - idle: what a commit costs the server with 1 and with 100 webhooks whose filters match none of
//   its events (SQLite and PostgreSQL): CPU of the whole process (the mutation included) and the
//   statements the delivery worker runs, per commit, 200 tag mutations one after another.
import { countingDatabase } from "../test/support/countingDatabase.ts";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { systemActor } from "../src/access/actor.ts";
import type { DatabaseConfig } from "../src/config.ts";
import type { Database } from "../src/db/database.ts";
import { createRegistro } from "../src/registro.ts";
import { parseAllowList } from "../src/webhooks/delivery/targetGuard.ts";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import { seedStream } from "./seedStream.ts";
import { compare, figure, percentile } from "./support.ts";

const LATENCY_SAMPLES = 200;
const BURST_EVENTS = 10_000;
const BURST_WEBHOOKS = 10;
const SEEDER = systemActor("bench-seeder");
const IDLE_COMMITS = 200;

interface Receiver {
  readonly url: string;
  count: number;
  /** Resolves the next time `count` reaches the target. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  let waiter: { target: number; resolve: () => void } | null = null;
  const state = {
    count: 0,
    waitFor(target: number) {
      if (state.count >= target) return Promise.resolve();
      return new Promise<void>((resolve) => (waiter = { target, resolve }));
    },
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(204).end();
      state.count += 1;
      if (waiter && state.count >= waiter.target) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", resolve);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify(body.data));
  return body.data;
}

const ms = (sorted: number[], p: number) => figure(percentile(sorted, p), "ms");

export async function benchWebhooks() {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-webhooks-"));
  let commitAt = 0;
  const registro = await createRegistro({
    database: { provider: "sqlite", file: path.join(dir, "registro.db") },
    dataDir: dir,
    logger: pino({ level: "silent" }),
    inspection: { enabled: false },
    auth: { osUserName: "bench" },
    webhooks: { allow: parseAllowList("127.0.0.1") },
  });
  const { port } = await registro.app.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}/graphql`;
  // The commit hook: the app calls it right after COMMIT; wrap it to learn when each commit landed.
  const commands = registro.app.commands as { onCommitted?: (e: readonly unknown[]) => void };
  const original = commands.onCommitted;
  (commands as { onCommitted?: unknown }).onCommitted = (events: readonly never[]) => {
    commitAt = performance.now();
    original?.(events);
  };
  const receivers: Receiver[] = [];
  try {
    // ---- Latency, one webhook ----------------------------------------------------------------
    await gql(url, `mutation { createRegisteredModel(input: { name: "lat" }) { __typename } }`);
    const one = await startReceiver();
    receivers.push(one);
    await gql(
      url,
      `mutation($u: String!) { registerWebhook(input: { url: $u, eventTypes: [RegisteredModelTagSet], modelNames: ["lat"] }) { __typename } }`,
      { u: one.url },
    );
    const sendToReceiver: number[] = [];
    const commitToReceiver: number[] = [];
    const roundTrip: number[] = [];
    const barePost: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const arrived = one.waitFor(one.count + 1);
      const t0 = performance.now();
      const answered = gql(
        url,
        `mutation($v: String!) { setRegisteredModelTag(input: { name: "lat", key: "k", value: $v }) { __typename } }`,
        {
          v: String(i),
        },
      ).then(() => performance.now());
      await arrived;
      const t1 = performance.now();
      sendToReceiver.push(t1 - t0);
      commitToReceiver.push(t1 - commitAt);
      roundTrip.push((await answered) - t0);
      const b0 = performance.now();
      await post(one.url, '{"type":"baseline"}');
      barePost.push(performance.now() - b0);
    }
    for (const list of [sendToReceiver, commitToReceiver, roundTrip, barePost]) list.sort((a, b) => a - b);
    const latency = {
      samples: LATENCY_SAMPLES,
      send_to_receiver_p50: compare(ms(sendToReceiver, 50), ms(roundTrip, 50)),
      send_to_receiver_p99: compare(ms(sendToReceiver, 99), ms(roundTrip, 99)),
      commit_to_receiver_p50: compare(ms(commitToReceiver, 50), ms(barePost, 50)),
      commit_to_receiver_p99: compare(ms(commitToReceiver, 99), ms(barePost, 99)),
    };

    // ---- Burst: 10 webhooks, 10,000 events ----------------------------------------------------
    await gql(url, `mutation { createRegisteredModel(input: { name: "burst" }) { __typename } }`);
    for (let i = 0; i < BURST_WEBHOOKS; i++) {
      const receiver = await startReceiver();
      receivers.push(receiver);
      await gql(
        url,
        `mutation($u: String!) { registerWebhook(input: { url: $u, eventTypes: [RegisteredModelTagSet], modelNames: ["burst"] }) { __typename } }`,
        { u: receiver.url },
      );
    }
    const burst = receivers.slice(1);
    const [model] = await registro.db.query<{ id: string }>(
      "SELECT id FROM registered_models WHERE name = ?",
      ["burst"],
    );
    const seeded = performance.now();
    await seedStream(
      registro.db,
      model!.id,
      (_views, n) =>
        n >= BURST_EVENTS
          ? null
          : { type: "SetRegisteredModelTag", data: { key: `k${n % 50}`, value: String(n) } },
      () => ({ actor: SEEDER, occurredAt: new Date(), correlationId: null, causationId: null }),
    );
    const appendSeconds = (performance.now() - seeded) / 1000;
    const load1 = os.loadavg()[0] ?? 0;
    const started = performance.now();
    registro.webhooks.wake();
    const progress = process.env.BENCH_DEBUG
      ? setInterval(() => console.error(burst.map((r) => r.count).join(" ")), 5000)
      : null;
    await Promise.all(burst.map((r) => r.waitFor(BURST_EVENTS)));
    if (progress) clearInterval(progress);
    const deliverySeconds = (performance.now() - started) / 1000;
    const deliveries = figure((BURST_EVENTS * BURST_WEBHOOKS) / deliverySeconds, "deliveries/s");
    const appendRate = figure(BURST_EVENTS / appendSeconds, "events/s");
    // The same number of bare POSTs to the same receivers, 10 loops at once.
    const posted = performance.now();
    await Promise.all(
      burst.map(async (r) => {
        for (let i = 0; i < BURST_EVENTS / 10; i++) await post(r.url, '{"type":"baseline","data":{}}');
      }),
    );
    const bareRate = figure(
      ((BURST_EVENTS / 10) * BURST_WEBHOOKS) / ((performance.now() - posted) / 1000),
      "requests/s",
    );
    const idle: Record<string, unknown> = { sqlite: await benchIdleWebhooks("sqlite") };
    if (await postgresReachable()) idle.postgresql = await benchIdleWebhooks("postgresql");
    return {
      latency,
      idle,
      burst: {
        webhooks: BURST_WEBHOOKS,
        events: BURST_EVENTS,
        seconds_until_all_delivered: figure(deliverySeconds, "s"),
        load_before: Math.round(load1 * 100) / 100,
        delivery_rate_vs_bare_post: compare(deliveries, bareRate),
        events_per_second_vs_append: compare(figure(BURST_EVENTS / deliverySeconds, "events/s"), appendRate),
      },
    };
  } finally {
    await registro.close();
    for (const r of receivers) await r.close();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Counts the statements the delivery worker sends (reads, and statements inside its writes): its
 * database handle is swapped for a counting one (the rest of the server is not counted).
 */
function countWorkerStatements(worker: object): { statements: number } {
  const holder = worker as { deps: { db: Database } };
  const { db, counter } = countingDatabase(holder.deps.db);
  holder.deps = { ...holder.deps, db };
  return counter;
}

/** 1 vs 100 webhooks that want none of the commits: CPU and worker statements per commit. */
export async function benchIdleWebhooks(provider: DatabaseConfig["provider"]) {
  const database = await createBenchDatabase(provider);
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-idle-"));
  const registro = await createRegistro({
    database: database.config,
    dataDir: dir,
    logger: pino({ level: "silent" }),
    inspection: { enabled: false },
    auth: { osUserName: "bench" },
    webhooks: { allow: parseAllowList("127.0.0.1") },
  });
  const receiver = await startReceiver();
  try {
    const { port } = await registro.app.listen(0, "127.0.0.1");
    const url = `http://127.0.0.1:${port}/graphql`;
    const counter = countWorkerStatements(registro.webhooks);
    await gql(url, `mutation { createRegisteredModel(input: { name: "idle" }) { __typename } }`);
    const head = async () =>
      Number(
        (
          await registro.db.query<{ last: unknown }>("SELECT COALESCE(MAX(position), 0) AS last FROM events")
        )[0]?.last ?? 0,
      );
    // Every cursor at the head: the worker has dealt with every commit.
    const caughtUp = async () => {
      for (;;) {
        const [row] = await registro.db.query<{ low: unknown }>(
          "SELECT MIN(position) AS low FROM webhook_cursors",
        );
        if (Number(row?.low ?? 0) >= (await head())) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const register = async (n: number) => {
      for (let i = 0; i < n; i++)
        await gql(
          url,
          // The commits below are tag events: these webhooks want none of them.
          `mutation($u: String!) { registerWebhook(input: { url: $u, eventTypes: [ModelVersionDeleted] }) { __typename } }`,
          { u: receiver.url },
        );
      await caughtUp();
    };
    let tagNo = 0;
    const measure = async () => {
      await caughtUp();
      await new Promise((r) => setTimeout(r, 200));
      const statements = counter.statements;
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < IDLE_COMMITS; i++)
        await gql(
          url,
          `mutation($v: String!) { setRegisteredModelTag(input: { name: "idle", key: "k", value: $v }) { __typename } }`,
          { v: String(tagNo++) },
        );
      await caughtUp();
      const used = process.cpuUsage(cpu);
      return {
        cpu: figure((used.user + used.system) / 1000 / IDLE_COMMITS, "ms CPU/commit", 3),
        statements: figure((counter.statements - statements) / IDLE_COMMITS, "statements/commit"),
        seconds: figure((performance.now() - started) / 1000, "s"),
      };
    };
    await register(1);
    const one = await measure();
    await register(99);
    const hundred = await measure();
    return {
      commits: IDLE_COMMITS,
      cpu_per_commit_100_vs_1: compare(hundred.cpu, one.cpu),
      worker_statements_per_commit_100_vs_1: compare(hundred.statements, one.statements),
      seconds_until_caught_up_100_vs_1: compare(hundred.seconds, one.seconds),
    };
  } finally {
    await registro.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
}
