// Issue 11 benchmark: as-of reads on one model whose stream holds 10,000 events, at an early, a
// middle and the latest point, each asked by log position and by moment, with snapshots (the
// default: fold from the latest valid snapshot) and without (the full fold from revision 1, the
// baseline), measured in the same run with the two kinds of reads interleaved so that both see the
// same load. In process, against the real database (SQLite, and PostgreSQL when reachable): the
// cost under test is reading and folding the stream, not HTTP.
//
// The stream is written by the registry's own decider, event store (hash chain included) and
// projection writer, as executeCommand does, only many commands to a transaction (as bench/search.ts
// seeds), with a clock that advances one second per command so that moments map to revisions.
// Standalone: `node --import tsx bench/asOf.ts`.
import { randomUUID } from "node:crypto";
import { systemActor } from "../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import { modelAsOf } from "../src/application/modelAsOf.ts";
import type { AsOfTarget } from "../src/application/modelAsOf.ts";
import type { DatabaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/database.ts";
import type { Database } from "../src/db/database.ts";
import { DomainError } from "../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../src/domain/registeredModel/commands.ts";
import type { Stage } from "../src/domain/registeredModel/events.ts";
import { readStream } from "../src/store/eventStore.ts";
import { SNAPSHOT_INTERVAL } from "../src/store/modelSnapshots.ts";
import { seedStream } from "./seedStream.ts";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import { compare, figure, percentile, round } from "./support.ts";

const EVENTS = Number(process.env.BENCH_AS_OF_EVENTS ?? 10_000);
const NAME = "as-of-bench";
const SEEDER = systemActor("bench-seeder");
const T0 = Date.parse("2026-01-01T00:00:00Z");
/** Reads per point and kind; the full fold is slow enough that fewer give a stable median. */
const SNAPSHOT_READS = 200;
const FULL_READS = 40;

/** The n-th command of the stream: versions, their tags and metrics, promotions, a moving alias. */
function command(n: number, lastVersion: number): RegisteredModelCommand {
  const version = Math.max(1, lastVersion);
  switch (n % 10) {
    case 0:
      return {
        type: "CreateModelVersion",
        data: {
          source: `s3://bench/as-of/${lastVersion + 1}`,
          runId: `run-${n}`,
          description: `candidate ${lastVersion + 1}`,
          tags: [{ key: "team", value: "risk" }],
          params: { learning_rate: 0.05, depth: n % 13 },
          metrics: [{ key: "auc", value: round(0.5 + ((n * 7919) % 500) / 1000, 3) }],
        },
      };
    case 3:
    case 7: {
      const stage: Stage = n % 20 === 3 ? "Staging" : "Production";
      return {
        type: "TransitionModelVersionStage",
        data: { version, stage, comment: null, archiveExistingVersions: stage === "Production" },
      };
    }
    case 5:
      return {
        type: "SetRegisteredModelAlias",
        data: { alias: n % 30 === 5 ? "champion" : "challenger", version },
      };
    case 9:
      return { type: "UpdateModelVersion", data: { version, description: `reviewed at step ${n}` } };
    default:
      return n % 2 === 0
        ? {
            type: "LogModelVersionMetrics",
            data: { version, metrics: [{ key: "f1", value: (n % 1000) / 1000 }] },
          }
        : { type: "SetModelVersionTag", data: { version, key: `note-${n % 5}`, value: `step ${n}` } };
  }
}

/** A model whose stream holds at least `events` events; returns when each revision was recorded. */
async function seed(db: Database, events: number): Promise<void> {
  const modelId = randomUUID();
  const created = await executeCommand(
    { db, clock: () => new Date(T0) },
    { kind: "new", modelId },
    { type: "CreateRegisteredModel", data: { modelId, name: NAME, description: "", tags: [] } },
    { actor: SEEDER, correlationId: null, rights: SYSTEM_RIGHTS },
  );
  if (created instanceof DomainError) throw created;
  await seedStream(
    db,
    modelId,
    (views, n) => ((views.model?.revision ?? 0) >= events ? null : command(n, views.model?.lastVersion ?? 0)),
    // One second per command, so that the moment of revision r is known to the benchmark.
    (n) => ({
      actor: SEEDER,
      occurredAt: new Date(T0 + (n + 1) * 1000),
      correlationId: null,
      causationId: null,
    }),
  );
}

interface Sample {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly eventsFolded: number;
}

/** Per point: p50 and p99 with snapshots against the full fold, with the load right after that point. */
async function measure(db: Database, points: Record<string, AsOfTarget>) {
  const results: Record<string, unknown> = {};
  for (const [label, target] of Object.entries(points)) {
    const timings = { withSnapshots: [] as number[], fullFold: [] as number[] };
    const folded = { withSnapshots: 0, fullFold: 0 };
    for (let i = 0; i < SNAPSHOT_READS; i++) {
      // Interleaved: each full fold sits between snapshot reads, under the same load.
      const kinds = i < FULL_READS ? (["withSnapshots", "fullFold"] as const) : (["withSnapshots"] as const);
      for (const kind of kinds) {
        const t0 = performance.now();
        const read = await modelAsOf(db, db.reader, NAME, target, { snapshots: kind === "withSnapshots" });
        timings[kind].push(performance.now() - t0);
        if (!read) throw new Error(`no model at ${label}`);
        folded[kind] = read.cost.eventsFolded;
      }
    }
    const sample = (kind: keyof typeof timings): Sample => {
      const sorted = timings[kind].sort((a, b) => a - b);
      return {
        p50Ms: round(percentile(sorted, 50), 2),
        p99Ms: round(percentile(sorted, 99), 2),
        eventsFolded: folded[kind],
      };
    };
    const r = { withSnapshots: sample("withSnapshots"), fullFold: sample("fullFold") };
    results[label] = {
      p50: compare(figure(r.withSnapshots.p50Ms, "ms"), figure(r.fullFold.p50Ms, "ms")),
      p99: compare(figure(r.withSnapshots.p99Ms, "ms"), figure(r.fullFold.p99Ms, "ms")),
      eventsFolded: { withSnapshots: r.withSnapshots.eventsFolded, fullFold: r.fullFold.eventsFolded },
    };
    console.error(
      `  ${label}: snapshots p50 ${r.withSnapshots.p50Ms} ms p99 ${r.withSnapshots.p99Ms} ms (${r.withSnapshots.eventsFolded} events folded) | full fold p50 ${r.fullFold.p50Ms} ms p99 ${r.fullFold.p99Ms} ms (${r.fullFold.eventsFolded} events)`,
    );
  }
  return results;
}

async function benchProvider(config: DatabaseConfig) {
  const db = openDatabase(config);
  try {
    const seedStart = performance.now();
    await seed(db, EVENTS);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const model = await db.reader.registeredModel.findFirstOrThrow({ where: { name: NAME } });
    const stream = await readStream(db.reader, model.id);
    const last = stream.length;
    const positionOf = (revision: number) => stream[revision - 1]?.position ?? 0;
    const momentOf = (revision: number) => stream[revision - 1]?.occurredAt ?? new Date(T0);
    // Early/middle points sit just below a snapshot boundary: the worst case the interval allows.
    const early = Math.min(last, Math.floor(last * 0.15));
    const middle = Math.min(
      last,
      SNAPSHOT_INTERVAL * Math.floor(last / 2 / SNAPSHOT_INTERVAL) + SNAPSHOT_INTERVAL - 1,
    );
    const points: Record<string, AsOfTarget> = {
      [`earlyByPosition(rev ${early})`]: { position: positionOf(early) },
      [`middleByPosition(rev ${middle})`]: { position: positionOf(middle) },
      [`latestByPosition(rev ${last})`]: { position: positionOf(last) },
      [`middleByMoment(rev ${middle})`]: { at: momentOf(middle) },
      [`latestByMoment(rev ${last})`]: { at: momentOf(last) },
    };
    // The first read with snapshots folds everything and writes them: timed on its own.
    const coldStart = performance.now();
    const cold = await modelAsOf(db, db.reader, NAME, { position: positionOf(last) });
    const coldMs = figure(performance.now() - coldStart, "ms");
    const measured = await measure(db, points);
    return {
      events: last,
      seedSeconds: round(seedSeconds, 1),
      firstReadWritingSnapshots: {
        ...coldMs,
        snapshotsWritten: cold?.cost.snapshotsWritten ?? 0,
      },
      reads: { withSnapshots: SNAPSHOT_READS, fullFold: FULL_READS },
      points: measured,
    };
  } finally {
    await db.close();
  }
}

export async function benchAsOf(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const provider of ["sqlite", "postgresql"] as const) {
    if (provider === "postgresql" && !(await postgresReachable())) {
      results.postgresql = "skipped: PostgreSQL unreachable";
      break;
    }
    const database = await createBenchDatabase(provider);
    try {
      console.error(`  ${provider}:`);
      results[provider] = await benchProvider(database.config);
    } finally {
      await database.drop();
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchAsOf(), null, 2));
