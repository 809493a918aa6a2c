// Issue #10 benchmark: "the best auc in Staging" over 100,000 model versions, on SQLite and on
// PostgreSQL: a metric-filtered, metric-sorted `modelVersions` page with its `totalCount`, sent one
// at a time over HTTP to a server in its own process (as in production). Target: p50 < 50 ms.
//
// Seeding is not what is measured, but it must not take an hour: versions are registered by the
// registry's own decider, event store and projection writer, as `executeCommand` does, only many
// commands to a transaction (see seedModel). Standalone: `node --import tsx bench/search.ts`.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { systemActor } from "../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import type { DatabaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/database.ts";
import type { Database } from "../src/db/database.ts";
import { DomainError } from "../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../src/domain/registeredModel/commands.ts";
import type { Stage } from "../src/domain/registeredModel/events.ts";
import { seedStream } from "./seedStream.ts";
import { createBenchDatabase } from "./benchDatabase.ts";
import { closedLoop, figure, postJson, round, spawnServer } from "./support.ts";

/** The measured query; `withCount: false` drops `totalCount` to show what counting costs. */
const search = (withCount: boolean) => `query Best($first: Int!) {
  modelVersions(
    filter: { stage: STAGING, metrics: [{ key: "auc", gte: 0.9 }] }
    orderBy: { metric: "auc", direction: DESC }
    first: $first
  ) {
    ${withCount ? "totalCount" : ""}
    nodes { id version stage model { name } metrics { key value } }
  }
}`;

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

/** A deterministic pseudo-random sequence (mulberry32), so both providers get the same registry. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDER = systemActor("bench-seeder");
const TEAMS = ["risk", "growth", "search", "ads", "vision"];

/** The commands registering one version: its creation, then (for some) a stage transition. */
function versionCommands(version: number, next: () => number): RegisteredModelCommand[] {
  // One version in ten never logged auc: the sort puts those last.
  const metrics = [
    ...(next() < 0.9 ? [{ key: "auc", value: round(0.5 + next() / 2, 4) }] : []),
    { key: "f1", value: round(next(), 4) },
    { key: "latency_ms", value: round(5 + next() * 200, 1) },
  ];
  const draw = next();
  const stage: Stage | null =
    draw < 0.25 ? "Staging" : draw < 0.35 ? "Production" : draw < 0.5 ? "Archived" : null;
  return [
    {
      type: "CreateModelVersion",
      data: {
        source: `s3://bench/models/${version}`,
        runId: `run-${version}`,
        description: `candidate ${version}`,
        tags: [{ key: "team", value: TEAMS[Math.floor(next() * TEAMS.length)]! }],
        params: { learning_rate: 0.05 },
        metrics,
      },
    },
    ...(stage === null
      ? []
      : [
          {
            type: "TransitionModelVersionStage" as const,
            data: { version, stage, comment: null, archiveExistingVersions: false },
          },
        ]),
  ];
}

/** Registers `versions` versions of a new model, `chunk` commands to a transaction (./seedStream.ts). */
async function seedModel(db: Database, name: string, versions: number, next: () => number, chunk = 1000) {
  const modelId = randomUUID();
  const created = await executeCommand(
    { db, clock: () => new Date() },
    { kind: "new", modelId },
    { type: "CreateRegisteredModel", data: { modelId, name, description: `bench model ${name}`, tags: [] } },
    { actor: SEEDER, correlationId: null, rights: SYSTEM_RIGHTS },
  );
  if (created instanceof DomainError) throw created;
  const commands: RegisteredModelCommand[] = [];
  for (let v = 1; v <= versions; v++) commands.push(...versionCommands(v, next));
  await seedStream(
    db,
    modelId,
    (_views, n) => commands[n] ?? null,
    () => ({ actor: SEEDER, occurredAt: new Date(), correlationId: null, causationId: null }),
    chunk,
  );
}

/** `versions` versions spread over `models` models, the same on every run and provider. */
export async function seedSearchRegistry(db: Database, options: { versions: number; models: number }) {
  const next = random(2026);
  const perModel = Math.ceil(options.versions / options.models);
  for (let m = 0; m < options.models; m++) await seedModel(db, `model-${m}`, perModel, next);
}

async function benchProvider(
  provider: DatabaseConfig["provider"],
  options: { versions: number; models: number; seconds: number; pageSize: number },
) {
  const database = await createBenchDatabase(provider);
  try {
    const db = openDatabase(database.config);
    const seedStart = performance.now();
    try {
      await seedSearchRegistry(db, options);
    } finally {
      await db.close();
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;
    // Statistics and visibility map as autovacuum keeps them in a running registry (index-only scans).
    if (provider === "postgresql") {
      const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
      await client.connect();
      await client.query("VACUUM ANALYZE");
      await client.end();
    }

    const server = await spawnServer("src/main.ts", database.env);
    try {
      let matches = 0;
      const send = (withCount: boolean) => async () => {
        const { status, text } = await postJson(`${server.url}/graphql`, {
          query: search(withCount),
          variables: { first: options.pageSize },
        });
        const body = JSON.parse(text) as {
          data?: { modelVersions: { totalCount?: number; nodes: unknown[] } };
        };
        if (status !== 200 || !body.data || body.data.modelVersions.nodes.length !== options.pageSize)
          throw new Error(`search failed: ${status} ${text.slice(0, 500)}`);
        if (withCount) matches = body.data.modelVersions.totalCount ?? 0;
      };
      // Warm-up: prepared statements, query plans, the database's pages in memory.
      await closedLoop(1, 2, send(true));
      const measure = async (withCount: boolean) => {
        const cpuBefore = cpuSeconds(server.child.pid);
        const result = await closedLoop(1, options.seconds, send(withCount));
        const cpuAfter = cpuSeconds(server.child.pid);
        return {
          p50: figure(result.p50Ms, "ms"),
          p99: figure(result.p99Ms, "ms"),
          requests: result.requests,
          // Load-independent: what one request costs the server process (not the database server).
          serverCpuPerRequest:
            cpuBefore === null || cpuAfter === null
              ? null
              : figure(((cpuAfter - cpuBefore) * 1000) / result.requests, "ms"),
        };
      };
      const withCount = await measure(true);
      const pageOnly = await measure(false);
      return {
        withTotalCount: withCount,
        withoutTotalCount: pageOnly,
        totalCount: matches,
        seeded: { versions: options.versions, models: options.models, seconds: round(seedSeconds, 1) },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
  }
}

export async function benchSearch(
  options: {
    versions?: number;
    models?: number;
    seconds?: number;
    pageSize?: number;
    providers?: DatabaseConfig["provider"][];
  } = {},
) {
  const settings = {
    versions: options.versions ?? 100_000,
    models: options.models ?? 100,
    seconds: options.seconds ?? 10,
    pageSize: options.pageSize ?? 20,
  };
  const results: Record<string, unknown> = {
    query: `modelVersions(filter: { stage: STAGING, metrics: [{ key: "auc", gte: 0.9 }] }, orderBy: { metric: "auc", direction: DESC }, first: ${settings.pageSize})`,
  };
  for (const provider of options.providers ?? (["sqlite", "postgresql"] as const))
    results[provider] = await benchProvider(provider, settings);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchSearch(), null, 2));
}
