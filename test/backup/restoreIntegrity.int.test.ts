// What the line and chain checks alone let through, refused before anything is written: rows outside
// the log that the target's keys would refuse, events the rebuild could not replay, entries of the
// backup folder that are not regular files (a symlink to /dev/zero, a FIFO: reads that never end),
// JSON nested deeper than hashing can walk, and a manifest larger than any backup writes.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { MAX_EVENT_JSON_DEPTH, eventHash } from "../../src/audit/eventHash.ts";
import { backup } from "../../src/backup/backup.ts";
import { eventLine, parseEventLine } from "../../src/backup/eventLines.ts";
import { DamagedBackupError, MAX_MANIFEST_BYTES, writeManifest } from "../../src/backup/manifest.ts";
import { restore } from "../../src/backup/restore.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { LIMITS, nestsDeeperThan } from "../../src/domain/validation.ts";
import { newRunId } from "../../src/mlflow/tracking/trackingRules.ts";
import { createExperiment, createRun, logBatch } from "../../src/mlflow/tracking/trackingStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { rewriteBackupFile } from "../support/backups.ts";
import { createVersion } from "../support/commands.ts";
import { createTestDatabase, openTestDatabase, providers } from "../support/databases.ts";

const PROVIDERS = await providers();
const now = Date.parse("2026-12-03T12:00:00Z");
const work = mkdtempSync(path.join(tmpdir(), "registro-restore-integrity-"));
const backupDir = path.join(work, "backup");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  const source = await openTestDatabase("sqlite");
  const blobDir = path.join(work, "source-blobs");
  const blobs = new FsBlobStore(blobDir);
  try {
    const deps = commandDeps(source.db);
    await createModelNamed(deps, "m1-id", "m1");
    await createModelNamed(deps, "m2-id", "m2");
    await run(deps, live("m1"), createVersion({ pendingArtifacts: true }));
    const stored = await blobs.put(Readable.from([Buffer.from("weights")]));
    await run(deps, live("m1"), {
      type: "AddModelVersionArtifact",
      data: {
        version: 1,
        path: "model.onnx",
        role: "other",
        size: stored.size,
        sha256: stored.sha256,
        mediaType: "application/octet-stream",
      },
    });
    const experimentId = await createExperiment(source.db, { name: "exp", tags: [], now, createdBy: "p1" });
    const runId = newRunId();
    await createRun(source.db, {
      id: runId,
      experimentId,
      runName: "r",
      userId: "u",
      startTime: now,
      createdBy: "p1",
      tags: [{ key: "a", value: "b" }],
      now,
    });
    await logBatch(source.db, runId, {
      params: [],
      tags: [],
      metrics: [
        { key: "loss", value: 1, timestamp: now, step: 0, modelId: "", datasetName: "", datasetDigest: "" },
      ],
    });
    await backup({ database: source.config, blobDir, to: backupDir });
  } finally {
    await blobs.close();
    await source.close();
  }
});

let n = 0;
/** A damaged copy of the backup. */
async function damaged(damage: (dir: string) => void | Promise<void>): Promise<string> {
  const dir = path.join(work, `damaged-${++n}`);
  cpSync(backupDir, dir, { recursive: true });
  await damage(dir);
  return dir;
}

async function count(config: DatabaseConfig, table: string): Promise<number> {
  if (config.provider === "sqlite" && !existsSync(config.file)) return 0;
  const db = openDatabase(config);
  try {
    const [row] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number(row?.n ?? 0);
  } finally {
    await db.close();
  }
}

/** Restores `from` into a new database; the error it fails with (null when it succeeds). */
async function restoreInto(from: string, provider: DatabaseConfig["provider"] = "sqlite") {
  const target = await createTestDatabase(provider);
  const blobDir = path.join(work, `target-blobs-${++n}`);
  const error = await restore({ from, database: target.config, blobDir }).then(
    () => null,
    (e: unknown) => e as Error,
  );
  return { target, blobDir, error };
}

/** The backup's tracking file with `line` added after its line `after` (1-based). */
const withTrackingLine = (pick: (lines: string[]) => string) => (dir: string) =>
  rewriteBackupFile(dir, "mlflow-tracking.ndjson", (lines) => {
    lines.splice(lines.length - 1, 0, pick(lines));
  });

describe("rows outside the log that the target's keys would refuse", () => {
  it("a repeated run tag is refused before anything is written", async () => {
    const dir = await damaged(
      withTrackingLine((lines) => lines.find((l) => l.includes('"table":"mlflow_run_tags"'))!),
    );
    const { target, blobDir, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toMatch(
        /^mlflow-tracking\.ndjson line \d+ repeats the key "a" of "[0-9a-f]{32}" in mlflow_run_tags$/,
      );
      expect(await count(target.config, "events")).toBe(0);
      expect(existsSync(blobDir)).toBe(false);
    } finally {
      await target.destroy();
    }
  });

  it("a run tag whose run is not in the file is refused before anything is written", async () => {
    const dir = await damaged(
      withTrackingLine((lines) =>
        lines
          .find((l) => l.includes('"table":"mlflow_run_tags"'))!
          .replace(/"run_id":"[0-9a-f]{32}"/, `"run_id":"${"f".repeat(32)}"`),
      ),
    );
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toMatch(/which is not a row of mlflow_runs before it$/);
      expect(await count(target.config, "events")).toBe(0);
    } finally {
      await target.destroy();
    }
  });

  it.each(PROVIDERS)(
    "a repeated metric value, refused by the %s target's unique index, rolls the whole restore back",
    { timeout: 60_000 },
    async (provider) => {
      const dir = await damaged(
        withTrackingLine((lines) => lines.find((l) => l.includes('"table":"mlflow_run_metrics"'))!),
      );
      const { target, blobDir, error } = await restoreInto(dir, provider);
      try {
        expect(error).toBeInstanceOf(DamagedBackupError);
        expect(error!.message).toMatch(/^mlflow-tracking\.ndjson line \d+ cannot be restored: /);
        for (const table of [
          "events",
          "audit_checkpoints",
          "mlflow_experiments",
          "mlflow_runs",
          "usage_buckets",
        ])
          expect(await count(target.config, table)).toBe(0);
        // Nothing was committed, so the intact backup restores into the same target afterwards.
        await restore({ from: backupDir, database: target.config, blobDir });
        expect(await count(target.config, "mlflow_run_metrics")).toBe(1);
        expect(await count(target.config, "registered_models")).toBe(2);
      } finally {
        await target.destroy();
      }
    },
  );
});

describe("events the projection rebuild could not replay", () => {
  /** Rewrites m2's creation with `edit` and rehashes its stream, as a forger would; no checkpoints. */
  const edited = (edit: (line: Record<string, unknown>) => void) => (dir: string) =>
    (async () => {
      let previous: string | null = null;
      let head = { revision: 0, hash: "" };
      await rewriteBackupFile(dir, "events.ndjson", (lines) => {
        for (let i = 0; i < lines.length; i += 1) {
          if (!lines[i]!.includes('"streamId":"m2-id"')) continue;
          const json = JSON.parse(lines[i]!) as Record<string, unknown>;
          if (json.revision === 1) edit(json);
          const event = parseEventLine(JSON.stringify(json));
          if (typeof event === "string") throw new Error(event);
          const hash = eventHash(event, previous);
          lines[i] = eventLine({ ...event, hash }).slice(0, -1);
          previous = hash;
          head = { revision: event.revision, hash };
        }
      });
      await rewriteBackupFile(dir, "checkpoints.ndjson", (lines) => lines.splice(0, lines.length, ""));
      const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
      delete manifest.checksum;
      manifest.heads["m2-id"] = head;
      await writeManifest(dir, manifest);
    })();

  it.each([
    [
      "an unknown event type",
      (e: Record<string, unknown>): void => {
        e.type = "NoSuchEventType";
      },
      /unknown event type/,
    ],
    [
      "a payload that does not match its type",
      (e: Record<string, unknown>): void => {
        e.data = { bogus: 1 };
      },
      /does not match its schema/,
    ],
  ] as const)("%s is refused before anything is written", async (_, edit, reason) => {
    const dir = await damaged(edited(edit));
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toMatch(
        /^events\.ndjson line \d+: stream m2-id revision 1 \(log position \d+\): event /,
      );
      expect(error!.message).toMatch(reason);
      expect(await count(target.config, "events")).toBe(0);
    } finally {
      await target.destroy();
    }
  });
});

describe("entries of the backup folder that are not regular files", () => {
  const blob = () => readdirSync(path.join(backupDir, "blobs"))[0]!;

  it("a blob replaced by a symlink to /dev/zero is refused, not read", { timeout: 20_000 }, async () => {
    const sha = blob();
    const dir = await damaged((d) => {
      rmSync(path.join(d, "blobs", sha));
      symlinkSync("/dev/zero", path.join(d, "blobs", sha));
    });
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toBe(
        `blobs/${sha} is a symbolic link, not a regular file: not something a backup writes`,
      );
    } finally {
      await target.destroy();
    }
  });

  it("a usage file replaced by a named pipe is refused, not opened", { timeout: 20_000 }, async () => {
    const dir = await damaged((d) => {
      rmSync(path.join(d, "usage.ndjson"));
      execFileSync("mkfifo", [path.join(d, "usage.ndjson")]);
    });
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toBe(
        "usage.ndjson is a named pipe, not a regular file: not something a backup writes",
      );
    } finally {
      await target.destroy();
    }
  });

  it(
    "a folder among the blobs, listed in the manifest, is refused as damage",
    { timeout: 20_000 },
    async () => {
      const dir = await damaged(async (d) => {
        mkdirSync(path.join(d, "blobs", "sub"));
        const manifest = JSON.parse(readFileSync(path.join(d, "manifest.json"), "utf8"));
        delete manifest.checksum;
        manifest.files["blobs/sub"] = { sha256: "0".repeat(64), size: 0 };
        await writeManifest(d, manifest);
      });
      const { target, error } = await restoreInto(dir);
      try {
        expect(error).toBeInstanceOf(DamagedBackupError);
        expect(error!.message).toBe(
          "blobs/sub is a folder, not a regular file: not something a backup writes",
        );
      } finally {
        await target.destroy();
      }
    },
  );

  it("a manifest replaced by a symlink to /dev/zero is refused, not read", { timeout: 20_000 }, async () => {
    const dir = await damaged((d) => {
      rmSync(path.join(d, "manifest.json"));
      symlinkSync("/dev/zero", path.join(d, "manifest.json"));
    });
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toBe(
        "manifest.json is a symbolic link, not a regular file: not something a backup writes",
      );
    } finally {
      await target.destroy();
    }
  });
});

describe("JSON nested deeper than Registro writes", () => {
  /** JSON text of arrays nested `levels` deep: written by hand, JSON.stringify would overflow. */
  const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

  /** The backup with m2's first event's `field` nested `levels` deep, the manifest rewritten to match. */
  const deepField = (field: "data" | "actorCredential", levels: number) => (dir: string) =>
    rewriteBackupFile(dir, "events.ndjson", (lines) => {
      const i = lines.findIndex((l) => l.includes('"streamId":"m2-id"'));
      const json = JSON.parse(lines[i]!) as Record<string, unknown>;
      json[field] = "DEEP";
      lines[i] = JSON.stringify(json).replace('"DEEP"', nested(levels));
    });

  it.each(["data", "actorCredential"] as const)(
    "an event whose %s nests 3,000 levels is refused, naming its line, before anything is written",
    async (field) => {
      const dir = await damaged(deepField(field, 3000));
      const { target, blobDir, error } = await restoreInto(dir);
      try {
        expect(error).toBeInstanceOf(DamagedBackupError);
        expect(error!.message).toMatch(
          new RegExp(
            `^events\\.ndjson line \\d+ is not an event: ${field} nests objects and arrays more than ${MAX_EVENT_JSON_DEPTH} levels deep`,
          ),
        );
        expect(await count(target.config, "events")).toBe(0);
        expect(existsSync(blobDir)).toBe(false);
      } finally {
        await target.destroy();
      }
    },
  );

  it("params nested as deep as the registry accepts restore (the event nests one level more)", async () => {
    const source = await openTestDatabase("sqlite");
    const dir = path.join(work, `deepest-params-${++n}`);
    let params: Record<string, unknown> = {};
    for (let level = 1; level < LIMITS.jsonMaxDepth; level += 1) params = { a: params };
    expect(nestsDeeperThan(params, LIMITS.jsonMaxDepth)).toBe(false);
    try {
      const deps = commandDeps(source.db);
      await createModelNamed(deps, "deep-id", "deep");
      await run(deps, live("deep"), createVersion({ params }));
      await backup({ database: source.config, blobDir: path.join(work, `deepest-blobs-${n}`), to: dir });
    } finally {
      await source.close();
    }
    const created = readFileSync(path.join(dir, "events.ndjson"), "utf8")
      .split("\n")
      .find((l) => l.includes('"ModelVersionCreated"'))!;
    expect(nestsDeeperThan((JSON.parse(created) as { data: unknown }).data, LIMITS.jsonMaxDepth)).toBe(true);
    const { target, error } = await restoreInto(dir);
    try {
      expect(error).toBeNull();
      expect(await count(target.config, "model_versions")).toBe(1);
    } finally {
      await target.destroy();
    }
  });
});

describe("a manifest larger than any backup writes", () => {
  it("is refused by its size, never read", { timeout: 20_000 }, async () => {
    const size = 700 * 1024 * 1024;
    expect(size).toBeGreaterThan(MAX_MANIFEST_BYTES);
    // Sparse: the file's size without its bytes on disk.
    const dir = await damaged((d) => truncateSync(path.join(d, "manifest.json"), size));
    const { target, blobDir, error } = await restoreInto(dir);
    try {
      expect(error).toBeInstanceOf(DamagedBackupError);
      expect(error!.message).toBe(
        `manifest.json is too large (${size} bytes, the most a backup writes is ${MAX_MANIFEST_BYTES}): not a manifest a backup wrote`,
      );
      expect(await count(target.config, "events")).toBe(0);
      expect(existsSync(blobDir)).toBe(false);
    } finally {
      await target.destroy();
    }
  });
});
