// Issue #11 benchmark: backup and restore throughput (events per second) on a SQLite registry of a
// few thousand events, each beside the projection rebuild of the same database measured in the same
// rounds (three, each: rebuild, backup, restore into SQLite, restore into PostgreSQL) (the restore contains one such rebuild, so restore / rebuild shows what reading, verifying and
// inserting the log add to it). Restores go into a fresh SQLite database, and into a fresh
// PostgreSQL database when BENCH_POSTGRES_URL (default: the local server) answers.
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { systemActor } from "../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import type { CommandDeps } from "../src/application/executeCommand.ts";
import { backup } from "../src/backup/backup.ts";
import { restore } from "../src/backup/restore.ts";
import type { DatabaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { rebuildProjections } from "../src/projections/rebuild.ts";
import { createBenchDatabase, postgresReachable } from "./benchDatabase.ts";
import type { BenchDatabase } from "./benchDatabase.ts";
import { combine, compare } from "./support.ts";

const MODELS = 300;
const metadata = { actor: systemActor("bench"), correlationId: null, rights: SYSTEM_RIGHTS };

async function must(
  deps: CommandDeps,
  ...args: Parameters<typeof executeCommand> extends [unknown, ...infer R] ? R : never
) {
  const outcome = await executeCommand(deps, ...args);
  if (outcome instanceof Error) throw outcome;
}

/** 300 models of 10 events each (create, 4 versions, 5 tags), written concurrently so commits group. */
async function seed(config: DatabaseConfig): Promise<void> {
  const db = openDatabase(config);
  try {
    const deps = { db, clock: () => new Date() };
    await Promise.all(
      Array.from({ length: MODELS }, async (_, i) => {
        const name = `model-${i}`;
        await must(
          deps,
          { kind: "new", modelId: name },
          { type: "CreateRegisteredModel", data: { modelId: name, name, description: "", tags: [] } },
          metadata,
        );
        for (let v = 0; v < 4; v++)
          await must(
            deps,
            { kind: "live", name },
            {
              type: "CreateModelVersion",
              data: {
                source: `s3://b/${v}`,
                runId: null,
                description: "",
                tags: [],
                params: { lr: "0.1" },
                metrics: [{ key: "auc", value: 0.9 }],
              },
            },
            metadata,
          );
        for (let t = 0; t < 5; t++)
          await must(
            deps,
            { kind: "live", name },
            { type: "SetRegisteredModelTag", data: { key: `k${t}`, value: `v${t}` } },
            metadata,
          );
      }),
    );
  } finally {
    await db.close();
  }
}

/** An empty, unmigrated PostgreSQL database (restore migrates it: that is part of what is measured). */
async function postgresTarget(): Promise<BenchDatabase | null> {
  return (await postgresReachable()) ? createBenchDatabase("postgresql", { migrated: false }) : null;
}

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

const ROUNDS = 3;

/** One round: the rebuild baseline, a backup, and a restore into each target; seconds of each. */
async function round(dir: string, source: DatabaseConfig, events: number, index: number) {
  const db = openDatabase(source);
  let rebuildSeconds: number;
  try {
    rebuildSeconds = await seconds(() => rebuildProjections(db));
  } finally {
    await db.close();
  }
  const backupDir = path.join(dir, `backup-${index}`);
  const backupSeconds = await seconds(() =>
    backup({ database: source, blobDir: path.join(dir, "blobs"), to: backupDir }),
  );
  const target: DatabaseConfig = {
    provider: "sqlite",
    file: path.join(dir, `target-${index}`, "registro.db"),
  };
  const restoreSqliteSeconds = await seconds(() =>
    restore({ from: backupDir, database: target, blobDir: path.join(dir, `target-${index}`, "blobs") }),
  );
  let restorePostgresSeconds: number | null = null;
  const postgres = await postgresTarget();
  if (postgres) {
    try {
      restorePostgresSeconds = await seconds(() =>
        restore({ from: backupDir, database: postgres.config, blobDir: path.join(dir, `pg-blobs-${index}`) }),
      );
    } finally {
      await postgres.drop();
    }
  }
  const load = os.loadavg()[0] ?? 0;
  const work = (s: number) => ({ work: events, seconds: s, load });
  return {
    rebuild: work(rebuildSeconds),
    backup: work(backupSeconds),
    restoreSqlite: work(restoreSqliteSeconds),
    restorePostgres: restorePostgresSeconds === null ? null : work(restorePostgresSeconds),
  };
}

export async function benchBackup(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-backup-"));
  try {
    const source: DatabaseConfig = { provider: "sqlite", file: path.join(dir, "source", "registro.db") };
    await migrate(source);
    await seed(source);
    const counter = openDatabase(source);
    const events = await counter.reader.event.count();
    await counter.close();
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await round(dir, source, events, i));
    const rebuild = combine(
      rounds.map((r) => r.rebuild),
      "events/s (projection rebuild, SQLite)",
    );
    const result: Record<string, unknown> = {
      events,
      rounds: ROUNDS,
      backup: compare(
        combine(
          rounds.map((r) => r.backup),
          "events/s (backup from SQLite)",
        ),
        rebuild,
      ),
      restoreSqlite: compare(
        combine(
          rounds.map((r) => r.restoreSqlite),
          "events/s (restore into SQLite)",
        ),
        rebuild,
      ),
    };
    const postgres = rounds.flatMap((r) => (r.restorePostgres ? [r.restorePostgres] : []));
    if (postgres.length > 0)
      result.restorePostgres = compare(
        combine(postgres, "events/s (restore into PostgreSQL, migrations included)"),
        rebuild,
      );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
