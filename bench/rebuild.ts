// Issue #11 benchmark: `projections:rebuild` over 1,000,000 events on SQLite, against a plain read
// of the same events with the same query in the same run. Target: at least 50,000 events/s.
//
// The log is written raw (one prepared INSERT, chain hashes computed with the registry's own
// eventHash) so that seeding a million events takes seconds, not the hours a million commands
// would. It is shaped like a registry's: many models, each with versions, tags, metrics, stage
// changes and aliases, streams interleaved in the log as concurrent users would write them.
//
// A second run rebuilds while a writer loop in the same process keeps registering through
// executeCommand, and reports how long those writes waited at most: the online rebuild's promise.
// Standalone: `node --import tsx bench/rebuild.ts`.
import { sqliteDate } from "../src/db/sql.ts";
import { storedHash } from "../src/store/eventCodec.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { systemActor } from "../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { ChainVerifier } from "../src/audit/chainVerifier.ts";
import { eventHash } from "../src/audit/eventHash.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { DomainError } from "../src/domain/errors.ts";
import { EVENT_SCHEMA_VERSIONS } from "../src/domain/registeredModel/events.ts";
import type { RegisteredModelEventType } from "../src/domain/registeredModel/events.ts";
import { readModelLog, rebuildProjections } from "../src/projections/rebuild.ts";
import { chainedFromSqlRow, toRecordedEvent } from "../src/store/eventStore.ts";
import type { ChainSqlRow } from "../src/store/eventStore.ts";
import { compare, figure, percentile, round } from "./support.ts";

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
/** Streams written at the same time: their events interleave in the log. */
const ACTIVE_STREAMS = 200;
const STAGES = ["Staging", "Production", "Archived"] as const;

function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Event = { type: RegisteredModelEventType; data: unknown };

/** A model's history: created with tags, then versions with tags, metrics, stage changes and aliases. */
function* modelHistory(modelId: string, next: () => number): Generator<Event> {
  yield {
    type: "RegisteredModelCreated",
    data: {
      modelId,
      name: `model-${modelId}`,
      description: `bench model ${modelId}`,
      tags: { team: "risk" },
    },
  };
  yield { type: "RegisteredModelTagSet", data: { key: "owner", value: `owner-${Math.floor(next() * 50)}` } };
  const versions = 5 + Math.floor(next() * 20);
  const stages = new Map<number, string>();
  for (let version = 1; version <= versions; version += 1) {
    yield {
      type: "ModelVersionCreated",
      data: {
        version,
        source: `s3://bench/${modelId}/${version}`,
        runId: `run-${version}`,
        description: `candidate ${version}`,
        tags: { framework: "torch", dataset: `ds-${Math.floor(next() * 10)}` },
        params: { learning_rate: round(next() / 10, 4), epochs: 10 },
        metrics: { auc: round(0.5 + next() / 2, 4), f1: round(next(), 4) },
        status: "READY",
      },
    };
    stages.set(version, "None");
    yield {
      type: "ModelVersionTagSet",
      data: { version, key: "reviewed", value: next() < 0.5 ? "yes" : "no" },
    };
    yield {
      type: "ModelVersionMetricsLogged",
      data: { version, metrics: { latency_ms: round(5 + next() * 200, 1) } },
    };
    const to = STAGES[Math.floor(next() * STAGES.length)]!;
    yield {
      type: "ModelVersionStageTransitioned",
      data: { version, from: stages.get(version), to, comment: null, archived: [] },
    };
    stages.set(version, to);
    if (next() < 0.3)
      yield {
        type: "RegisteredModelAliasSet",
        data: { alias: next() < 0.5 ? "champion" : "challenger", version, previousVersion: null },
      };
  }
}

/** Writes `count` events raw into a migrated SQLite file, streams interleaved, with valid chain hashes. */
export function seed(file: string, count: number): { events: number; streams: number } {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insert = db.prepare(
    `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, correlation_id, causation_id, hash)
     VALUES (?, ?, (SELECT code FROM event_types WHERE name = ?), ?, ?,
       (SELECT id FROM event_actors WHERE actor = ? AND actor_id IS NULL AND actor_kind = 'SYSTEM'), ?, NULL, NULL, ?)`,
  );
  // Event types are stored as codes (src/store/eventTypes.ts): each name gets one before its first event.
  const typeName = db.prepare("INSERT INTO event_types (name) VALUES (?) ON CONFLICT (name) DO NOTHING");
  const named = new Set<string>();
  const next = mulberry32(11);
  const actor = systemActor("bench-seeder");
  // Actors are stored once (src/store/eventActors.ts): the one this seed writes.
  db.prepare(
    "INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) VALUES (?, NULL, 'SYSTEM', NULL)",
  ).run(actor.displayName);
  let written = 0;
  let streams = 0;
  let clock = Date.parse("2026-01-01T00:00:00Z");
  type Active = { id: string; history: Generator<Event>; revision: number; hash: string | null };
  const active: Active[] = [];
  db.transaction(() => {
    while (written < count) {
      while (active.length < ACTIVE_STREAMS) {
        const id = `m${String(streams++).padStart(7, "0")}`;
        active.push({ id, history: modelHistory(id, next), revision: 0, hash: null });
      }
      const slot = Math.floor(next() * active.length);
      const stream = active[slot]!;
      const step = stream.history.next();
      if (step.done) {
        active.splice(slot, 1);
        continue;
      }
      const revision = stream.revision + 1;
      const occurredAt = new Date((clock += 7));
      const fields = {
        streamId: stream.id,
        revision,
        type: step.value.type,
        schemaVersion: EVENT_SCHEMA_VERSIONS[step.value.type],
        data: step.value.data,
        actor: actor.displayName,
        actorId: null,
        actorKind: "SYSTEM",
        actorCredential: null,
        occurredAt,
        correlationId: null,
        causationId: null,
      };
      const hash = eventHash(fields, stream.hash);
      if (!named.has(fields.type)) {
        typeName.run(fields.type);
        named.add(fields.type);
      }
      insert.run(
        stream.id,
        revision,
        fields.type,
        fields.schemaVersion,
        JSON.stringify(fields.data),
        fields.actor,
        sqliteDate(occurredAt),
        storedHash(hash),
      );
      stream.revision = revision;
      stream.hash = hash;
      written += 1;
    }
  })();
  db.close();
  return { events: written, streams };
}

/** This process's CPU time (user and system) since `start`: less sensitive to other load than wall time. */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Reads every model event with the rebuild's own query, page by page, doing nothing with them. */
async function timedRead(file: string, work: (rows: readonly ChainSqlRow[]) => void) {
  const reader = new BetterSqlite3(file, { readonly: true });
  const statements = new Map<string, BetterSqlite3.Statement>();
  const read = (sql: string, params: readonly unknown[]) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = reader.prepare(sql)));
    return Promise.resolve(statement.all(...params) as ChainSqlRow[]);
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  let events = 0;
  await readModelLog(read, Number.MAX_SAFE_INTEGER, (rows) => {
    events += rows.length;
    work(rows);
  });
  const seconds = (performance.now() - started) / 1000;
  reader.close();
  return { events, seconds, cpuSeconds: cpuSecondsSince(cpu) };
}

export async function benchRebuild() {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-rebuild-"));
  try {
    const config = { provider: "sqlite" as const, file: path.join(dir, "registro.db") };
    await migrate(config);
    const seedStarted = performance.now();
    const seeded = seed(config.file, EVENTS);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // Warm the page cache the same way for both sides, then read plainly, then with the chain check
    // and the payload parse, to show what each costs.
    await timedRead(config.file, () => undefined);
    const plain = await timedRead(config.file, () => undefined);
    const plainFigure = figure(plain.events / plain.seconds, "events/s", 0);
    const verifier = new ChainVerifier();
    const verified = await timedRead(config.file, (rows) => {
      for (const row of rows)
        if (verifier.next(chainedFromSqlRow(row)) !== null) throw new Error("broken chain");
    });
    const verifiedFigure = figure(verified.events / verified.seconds, "events/s", 0);
    const parsed = await timedRead(config.file, (rows) => {
      for (const row of rows) {
        const event = chainedFromSqlRow(row);
        verifier.next(event);
        toRecordedEvent(event);
      }
    });
    const parsedFigure = figure(parsed.events / parsed.seconds, "events/s", 0);

    const db = openDatabase(config);
    try {
      const fill: number[] = [];
      const indexes: number[] = [];
      let swapMs = 0;
      const started = performance.now();
      const cpu = process.cpuUsage();
      const summary = await rebuildProjections(db, {
        onTransaction: (phase, ms) => {
          if (phase === "swap") swapMs = ms;
          else if (phase === "index") indexes.push(ms);
          else fill.push(ms);
        },
      });
      const rebuildSeconds = (performance.now() - started) / 1000;
      const rebuildCpuSeconds = cpuSecondsSince(cpu);
      if (summary.breaks.length > 0 || summary.events !== seeded.events)
        throw new Error(`rebuild saw ${summary.events} events and ${summary.breaks.length} breaks`);
      const rebuildFigure = figure(summary.events / rebuildSeconds, "events/s", 0);
      fill.sort((a, b) => a - b);

      // Online: a writer loop registers versions through executeCommand during a second rebuild.
      const stalls: number[] = [];
      let writing = true;
      const writer = (async () => {
        const modelId = "m0000000";
        while (writing) {
          const t0 = performance.now();
          const outcome = await executeCommand(
            { db, clock: () => new Date() },
            { kind: "live", name: `model-${modelId}` },
            { type: "SetRegisteredModelTag", data: { key: "heartbeat", value: String(stalls.length) } },
            { actor: systemActor("bench-writer"), correlationId: null, rights: SYSTEM_RIGHTS },
          );
          if (outcome instanceof DomainError) throw outcome;
          stalls.push(performance.now() - t0);
        }
      })();
      const onlineStarted = performance.now();
      const online = await rebuildProjections(db);
      const onlineSeconds = (performance.now() - onlineStarted) / 1000;
      writing = false;
      await writer;
      stalls.sort((a, b) => a - b);
      const heartbeat = await db.reader.registeredModelTag.findUnique({
        where: { modelId_key: { modelId: "m0000000", key: "heartbeat" } },
      });
      if (heartbeat?.value !== String(stalls.length - 1))
        throw new Error(`the last write during the rebuild is missing: ${heartbeat?.value}`);

      return {
        events: seeded.events,
        streams: seeded.streams,
        seedSeconds: round(seedSeconds, 1),
        rebuildVsPlainRead: compare(rebuildFigure, plainFigure),
        // Events per second of this process's CPU time: on a shared machine, what the code costs.
        rebuildVsPlainReadPerCpuSecond: compare(
          figure(summary.events / rebuildCpuSeconds, "events/cpu-s", 0),
          figure(plain.events / plain.cpuSeconds, "events/cpu-s", 0),
        ),
        readAndVerifyChainVsPlainRead: compare(verifiedFigure, plainFigure),
        readVerifyAndParseVsPlainRead: compare(parsedFigure, plainFigure),
        readAndVerifyVsPlainReadPerCpuSecond: compare(
          figure(verified.events / verified.cpuSeconds, "events/cpu-s", 0),
          figure(plain.events / plain.cpuSeconds, "events/cpu-s", 0),
        ),
        readVerifyAndParseVsPlainReadPerCpuSecond: compare(
          figure(parsed.events / parsed.cpuSeconds, "events/cpu-s", 0),
          figure(plain.events / plain.cpuSeconds, "events/cpu-s", 0),
        ),
        rebuildSeconds: round(rebuildSeconds, 2),
        fillTransactions: {
          count: fill.length,
          p50Ms: round(percentile(fill, 50), 1),
          maxMs: round(fill.at(-1) ?? 0, 1),
        },
        // Each deferred index is built in a transaction of its own, which writers wait for.
        indexTransactions: { count: indexes.length, maxMs: round(Math.max(0, ...indexes), 1) },
        swapMs: round(swapMs, 1),
        online: {
          rebuild: figure(online.events / onlineSeconds, "events/s", 0),
          writesDuringRebuild: stalls.length,
          writeP50: figure(percentile(stalls, 50), "ms", 1),
          writeMax: figure(stalls.at(-1) ?? 0, "ms", 1),
        },
      };
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await benchRebuild(), null, 2));
