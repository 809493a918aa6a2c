// `npm run bench -- audit-verify`: how fast `audit:verify` walks the hash chains of a large log, as a
// share of a plain read of the same events in the same run (same keyset pages, same columns, no
// decoding or hashing), and whether its memory stays flat. Also the time to compute a checkpoint's
// Merkle root over every stream's head. SQLite, BENCH_AUDIT_EVENTS events (default 1,000,000) in
// streams of 20, written straight into the table with valid hashes, 50,000 to a transaction.
import { sqliteDate } from "../src/db/sql.ts";
import { storedHash } from "../src/store/eventCodec.ts";
import { COLUMNS, EVENTS } from "../src/store/eventStore.ts";
import { readInStreamOrder } from "../src/store/streamOrder.ts";
import type { StreamCursor } from "../src/store/streamOrder.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { headsRoot } from "../src/audit/checkpoints.ts";
import { eventHash } from "../src/audit/eventHash.ts";
import type { HashedEventFields } from "../src/audit/eventHash.ts";
import { verifyChains } from "../src/audit/verifyChains.ts";
import { openDatabase } from "../src/db/database.ts";
import type { Database } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { compare, figure, round } from "./support.ts";

const EVENTS_PER_STREAM = 20;
const BATCH = 50_000;
const PAGE = 1000;
const MiB = 2 ** 20;

/** Writes `total` events with valid chains; returns the time it took (not a measured figure). */
function seed(file: string, total: number): number {
  const started = performance.now();
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insert = db.prepare(
    `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, correlation_id,
       causation_id, hash)
     VALUES (?, ?, (SELECT code FROM event_types WHERE name = ?), 1, ?,
       (SELECT id FROM event_actors WHERE actor = 'bench' AND actor_id = 'p-bench'), ?, NULL, NULL, ?)`,
  );
  // Actors are stored once (src/store/eventActors.ts): the one this seed writes.
  db.prepare(
    "INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) VALUES ('bench', 'p-bench', 'USER', NULL)",
  ).run();
  // Event types are stored as codes (src/store/eventTypes.ts): the two names this seed writes.
  const typeNames = db.prepare("INSERT INTO event_types (name) VALUES (?) ON CONFLICT (name) DO NOTHING");
  for (const name of ["RegisteredModelCreated", "ModelVersionCreated"]) typeNames.run(name);
  const base = Date.parse("2026-01-01T00:00:00Z");
  let previous: string | null = null;
  const writeBatch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const stream = Math.floor(i / EVENTS_PER_STREAM);
      const revision = (i % EVENTS_PER_STREAM) + 1;
      if (revision === 1) previous = null;
      const data =
        revision === 1
          ? { modelId: `m${stream}`, name: `model-${stream}`, description: "bench", tags: [] }
          : {
              version: revision - 1,
              source: `s3://models/${stream}/${revision}`,
              metrics: [{ key: "auc", value: 0.9 }],
            };
      const event: HashedEventFields = {
        streamId: `m${String(stream).padStart(8, "0")}`,
        revision,
        type: revision === 1 ? "RegisteredModelCreated" : "ModelVersionCreated",
        schemaVersion: 1,
        data,
        actor: "bench",
        actorId: "p-bench",
        actorKind: "USER",
        actorCredential: null,
        occurredAt: new Date(base + i * 1000),
        correlationId: null,
        causationId: null,
      };
      const hash = eventHash(event, previous);
      previous = hash;
      insert.run(
        event.streamId,
        revision,
        event.type,
        JSON.stringify(data),
        sqliteDate(event.occurredAt),
        storedHash(hash),
      );
    }
  });
  for (let from = 0; from < total; from += BATCH) writeBatch(from, Math.min(total, from + BATCH));
  db.close();
  return (performance.now() - started) / 1000;
}

/** The baseline: the same keyset pages over (stream_id, revision) as verifyChains, rows fetched and dropped. */
async function plainRead(db: Database): Promise<number> {
  const select = `SELECT position, ${COLUMNS}, hash FROM ${EVENTS}`;
  let after: StreamCursor | null = null;
  let events = 0;
  for (;;) {
    const rows: { stream_id: string; revision: number }[] = await readInStreamOrder(
      (sql, params) => db.query<{ stream_id: string; revision: number }>(sql, params),
      { select, after, limit: PAGE },
    );
    events += rows.length;
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) return events;
    after = { streamId: last.stream_id, revision: last.revision };
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

export async function benchAuditVerify(): Promise<Record<string, unknown>> {
  const total = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-audit-"));
  const config = { provider: "sqlite" as const, file: path.join(dir, "registro.db") };
  try {
    await migrate(config);
    const seedSeconds = seed(config.file, total);
    console.error(`seeded ${total} events in ${round(seedSeconds, 1)} s (not measured)`);
    const db = openDatabase(config);
    try {
      let started = performance.now();
      const read = await plainRead(db);
      const readSeconds = (performance.now() - started) / 1000;
      const readFigure = figure(read / readSeconds, "events/s", 0);

      gc();
      const rssBefore = process.memoryUsage.rss();
      let peak = rssBefore;
      let atTenth: number | null = null;
      started = performance.now();
      const report = await verifyChains(db, {
        pageSize: PAGE,
        onProgress: ({ events }) => {
          const rss = process.memoryUsage.rss();
          if (rss > peak) peak = rss;
          if (atTenth === null && events >= total / 10) atTenth = rss;
        },
      });
      const verifySeconds = (performance.now() - started) / 1000;
      if (!report.ok || report.events !== total)
        throw new Error(`verify did not hold: ${JSON.stringify(report)}`);
      const verifyFigure = figure(report.events / verifySeconds, "events/s", 0);

      started = performance.now();
      const { streamCount } = await headsRoot(db, total);
      const rootSeconds = (performance.now() - started) / 1000;

      return {
        events: total,
        streams: report.streams,
        verifyThroughput: compare(verifyFigure, readFigure),
        verifySeconds: figure(verifySeconds, "s"),
        peakRssGrowthDuringVerify: figure((peak - rssBefore) / MiB, "MiB"),
        rssGrowthAfterFirstTenth: figure((peak - (atTenth ?? rssBefore)) / MiB, "MiB"),
        checkpointRoot: figure(rootSeconds, "s"),
        checkpointRootStreams: streamCount,
      };
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
