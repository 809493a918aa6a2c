// An online backup: every event up to one log position (read in one snapshot, see ./snapshot.ts,
// while the registry keeps writing), the artifact blobs those events reference, the files of
// MLflow's artifact proxy with their blobs, the tokens'
// last-used times, the signed audit checkpoints up to that position, and a manifest that makes the folder self-checking (./manifest.ts). The folder
// is assembled under a temporary name beside the target and renamed into place last, so a crash
// never leaves something that looks like a finished backup.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir } from "node:fs/promises";
import { once } from "node:events";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createBlobStore } from "../artifacts/createBlobStore.ts";
import { BlobNotFoundError } from "../artifacts/errors.ts";
import type { BlobStore } from "../artifacts/blobStore.ts";
import type { BlobStoreConfig, DatabaseConfig } from "../config.ts";
import { CorruptEventError } from "../domain/registeredModel/eventSchemas.ts";
import { CHECKPOINT_COLUMNS, checkpointFromRow } from "../audit/checkpoints.ts";
import type { CheckpointRow } from "../audit/checkpoints.ts";
import { listMigrations } from "../db/migrate.ts";
import { rowDate, rowInt } from "../db/sql.ts";
import type { SqlTx } from "../db/sql.ts";
import { describeBreak } from "../audit/chainVerifier.ts";
import { COLUMNS, EVENTS, decodeChainRow, isChainBreak } from "../store/eventStore.ts";
import type { ChainSqlRow } from "../store/eventStore.ts";
import { CheckpointsAlongLog, checkpointLine, signedCheckpoints } from "./checkpointLines.ts";
import { StreamHeads, eventLine, referencedBlob } from "./eventLines.ts";
import type { BackedUpEvent } from "./eventLines.ts";
import {
  BACKUP_FORMAT,
  BLOBS_DIR,
  CHECKPOINTS_FILE,
  DamagedBackupError,
  EVENTS_FILE,
  MLFLOW_FILES_FILE,
  TOKEN_USAGE_FILE,
  TRACKING_FILE,
  USAGE_FILE,
  blobFile,
  writeManifest,
} from "./manifest.ts";
import type { FileEntry } from "./manifest.ts";
import { openSnapshot } from "./snapshot.ts";
import { trackingLines } from "../mlflow/tracking/trackingBackup.ts";
import { usageLines } from "../usage/usageBackup.ts";
import { stagedFileLines } from "../mlflow/stagedFilesBackup.ts";

/** A backup that was not taken, and why; nothing was left behind. */
export class BackupRefusedError extends Error {
  override name = "BackupRefusedError";
}

export interface BackupOptions {
  readonly database: DatabaseConfig;
  /** Root of the source's blob store (with an S3 store, where its local temporary files go). */
  readonly blobDir: string;
  /** The source's blob store (BLOB_STORE, S3_*); default the folder \`blobDir\`. */
  readonly blobStore?: BlobStoreConfig;
  /** The backup folder to create: it must not exist, or be empty. */
  readonly to: string;
  /** Events read per query (keyset pages). */
  readonly pageSize?: number;
  /** Called after each page of events is written (tests use it to interleave writes). */
  readonly onPage?: (position: number) => Promise<void> | void;
}

export interface BackupSummary {
  readonly dir: string;
  readonly position: number;
  readonly events: number;
  readonly streams: number;
  /** Signed audit checkpoints copied (those at or before `position`). */
  readonly checkpoints: number;
  readonly blobs: number;
  /** Bytes of blobs copied. */
  readonly blobBytes: number;
  /** sha256 of manifest.json: keep it elsewhere to detect a backup rewritten as a whole. */
  readonly manifestSha256: string;
}

/** The type as its name (the column holds its code): backups name event types, whatever their codes. */
const EVENT_COLUMNS = `position, ${COLUMNS}, hash`;

/** Hashes and counts what passes through, for the manifest's file entries. */
class Digest {
  private readonly hash = createHash("sha256");
  size = 0;
  update(chunk: Buffer | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    this.hash.update(bytes);
    this.size += bytes.length;
  }
  entry(): FileEntry {
    return { sha256: this.hash.digest("hex"), size: this.size };
  }
}

/** A file written line by line with backpressure, hashed on the way, fsynced on close. */
async function writeLines(file: string, lines: Iterable<string> | AsyncIterable<string>): Promise<FileEntry> {
  const digest = new Digest();
  const out = createWriteStream(file, { flags: "wx", flush: true });
  try {
    for await (const text of lines) {
      digest.update(text);
      if (!out.write(text)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
  } finally {
    out.destroy();
  }
  return digest.entry();
}

/** The migration the source stands at; refuses a source this Registro's schema does not match. */
async function sourceMigration(tx: SqlTx, provider: DatabaseConfig["provider"]): Promise<string> {
  const rows = await tx.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Set(rows.map((r) => r.migration_name));
  const known = listMigrations(provider).map((m) => m.name);
  const missing = known.filter((name) => !applied.has(name));
  if (missing.length > 0)
    throw new BackupRefusedError(
      `the source database is not fully migrated (missing ${missing.join(", ")}): start this version of Registro on it once, then back up`,
    );
  const unknown = [...applied].filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new BackupRefusedError(
      `the source database was migrated by a newer Registro (${unknown.join(", ")}): back up with that version`,
    );
  return known.at(-1) ?? "";
}

async function prepareTarget(to: string): Promise<{ target: string; temp: string; replaceEmpty: boolean }> {
  const target = path.resolve(to);
  let replaceEmpty = false;
  try {
    const entries = await readdir(target);
    if (entries.length > 0)
      throw new BackupRefusedError(
        `${target} is not empty: a backup is only written to a new or empty folder`,
      );
    replaceEmpty = true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") throw new BackupRefusedError(`${target} is a file, not a folder`);
    if (code !== "ENOENT") throw error;
  }
  await mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.partial-${randomUUID()}`);
  await mkdir(path.join(temp, BLOBS_DIR), { recursive: true });
  return { target, temp, replaceEmpty };
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The lines of checkpoints.ndjson, a page at a time. Checkpoints are committed after the events they
 * cover, so a snapshot's are all at or before its position; the bound only makes that explicit.
 */
async function* checkpointPages(tx: SqlTx, position: number, pageSize: number): AsyncGenerator<string[]> {
  let after = 0;
  for (;;) {
    const rows = await tx.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
      [after, position, pageSize],
    );
    const last = rows.at(-1);
    if (last === undefined) return;
    yield rows.map((row) => checkpointLine(checkpointFromRow(row)));
    after = rowInt(last.position);
  }
}

/** Copies one blob out of the store, hashing while copying; a damaged or missing source is refused. */
async function copyBlob(store: BlobStore, sha256: string, where: string, target: string): Promise<FileEntry> {
  let source;
  try {
    source = await store.open(sha256);
  } catch (error) {
    if (error instanceof BlobNotFoundError)
      throw new BackupRefusedError(
        `artifact blob ${sha256} (${where}) is missing from the blob store ${store.location}: run npm run verify, then upload the identical file again`,
      );
    throw error;
  }
  const digest = new Digest();
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(target, { flags: "wx", flush: true }));
  const entry = digest.entry();
  if (entry.sha256 !== sha256)
    throw new BackupRefusedError(
      `artifact blob ${sha256} (${where}) is damaged in the blob store ${store.location}: its ${entry.size} bytes hash to ${entry.sha256}. Run npm run verify, then upload the identical file again`,
    );
  return entry;
}

export async function backup(options: BackupOptions): Promise<BackupSummary> {
  const pageSize = options.pageSize ?? 1000;
  if (options.database.provider === "sqlite" && !existsSync(options.database.file))
    throw new BackupRefusedError(
      `there is no database at ${options.database.file}: check DATA_DIR or DATABASE_URL`,
    );
  const { target, temp, replaceEmpty } = await prepareTarget(options.to);
  const store = createBlobStore({ dir: options.blobDir, store: options.blobStore ?? { kind: "filesystem" } });
  try {
    const files: Record<string, FileEntry> = {};
    const heads = new StreamHeads();
    const blobs = new Map<string, string>();
    let events = 0;
    let checkpoints = 0;
    let position = 0;
    let migration: string;
    const snapshot = await openSnapshot(options.database);
    try {
      migration = await sourceMigration(snapshot.tx, options.database.provider);
      // The first read of the snapshot: from here on, nothing committed later is visible.
      const [top] = await snapshot.tx.query<{ p: number | string }>(
        "SELECT COALESCE(MAX(position), 0) AS p FROM events",
      );
      position = rowInt(top?.p ?? 0);
      const tx = snapshot.tx;
      // The checkpoints are checked as restore will check them, against the events as they are
      // copied: a backup that restore would refuse is no backup.
      async function* checkedLines(): AsyncGenerator<{ line: number; text: string }> {
        let line = 0;
        for await (const page of checkpointPages(tx, position, pageSize))
          for (const text of page) yield { line: ++line, text: text.slice(0, -1) };
      }
      const along = new CheckpointsAlongLog(signedCheckpoints(checkedLines(), position), heads.heads);
      async function* lines(): AsyncGenerator<string> {
        let after = 0;
        while (after < position) {
          const rows = await tx.query<ChainSqlRow>(
            `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
            [after, position, pageSize],
          );
          if (rows.length === 0) break;
          let page = "";
          for (const row of rows) {
            const decoded = decodeChainRow(row);
            if (isChainBreak(decoded))
              throw new BackupRefusedError(
                `the source's event log does not verify: ${describeBreak(decoded)}`,
              );
            const event = decoded as BackedUpEvent;
            await along.before(event.position);
            // A backup that restore would refuse is no backup: the log is checked as it is copied.
            const broken = heads.next(event);
            if (broken !== null)
              throw new BackupRefusedError(`the source's event log does not verify: ${broken}`);
            let blob: ReturnType<typeof referencedBlob>;
            try {
              blob = referencedBlob(event);
            } catch (error) {
              if (error instanceof CorruptEventError)
                throw new BackupRefusedError(
                  `the source's event at log position ${event.position} (stream ${event.streamId}) is unreadable: ${error.message}`,
                );
              throw error;
            }
            if (blob && !blobs.has(blob.sha256)) blobs.set(blob.sha256, blob.where);
            page += eventLine(event);
            events += 1;
          }
          yield page;
          after = heads.position;
          await options.onPage?.(after);
        }
      }
      try {
        files[EVENTS_FILE] = await writeLines(path.join(temp, EVENTS_FILE), lines());
        await along.before(Number.POSITIVE_INFINITY);
        along.finish();
      } catch (error) {
        if (error instanceof DamagedBackupError)
          throw new BackupRefusedError(
            `the source's audit checkpoints do not verify (npm run audit:verify says more): ${error.message}`,
          );
        throw error;
      } finally {
        await along.close();
      }
      if (heads.position !== position)
        throw new BackupRefusedError(
          `the source's event log ends at position ${heads.position}, not at its highest position ${position}`,
        );
      // Not derived from events (../access/lastUsed.ts), so copied as is, from the same snapshot.
      const usage = await tx.query<{ id: string; last_used_at: unknown }>(
        "SELECT id, last_used_at FROM api_tokens WHERE last_used_at IS NOT NULL ORDER BY id",
      );
      files[TOKEN_USAGE_FILE] = await writeLines(
        path.join(temp, TOKEN_USAGE_FILE),
        usage.map(
          (row) => `${JSON.stringify({ id: row.id, lastUsedAt: rowDate(row.last_used_at).toISOString() })}\n`,
        ),
      );
      // Not in the log either (src/usage): copied from the same snapshot, a page at a time.
      files[USAGE_FILE] = await writeLines(path.join(temp, USAGE_FILE), usageLines(tx));
      // MLflow's experiments, runs and logged models (src/mlflow/tracking): not in the log either.
      files[TRACKING_FILE] = await writeLines(path.join(temp, TRACKING_FILE), trackingLines(tx));
      // Nor are the files of MLflow's artifact proxy: rows and the blobs they name.
      files[MLFLOW_FILES_FILE] = await writeLines(
        path.join(temp, MLFLOW_FILES_FILE),
        stagedFileLines(tx, (file) => {
          if (!blobs.has(file.sha256))
            blobs.set(file.sha256, `MLflow artifact proxy file ${JSON.stringify(file.path)}`);
        }),
      );
      async function* checkpointLines(): AsyncGenerator<string> {
        for await (const page of checkpointPages(tx, position, pageSize)) {
          checkpoints += page.length;
          yield page.join("");
        }
      }
      files[CHECKPOINTS_FILE] = await writeLines(path.join(temp, CHECKPOINTS_FILE), checkpointLines());
    } finally {
      // Blobs are immutable and named by content: they need no snapshot, and a long-open read
      // transaction holds back SQLite checkpoints and PostgreSQL vacuum.
      await snapshot.close();
    }
    let blobBytes = 0;
    for (const sha256 of [...blobs.keys()].sort()) {
      const entry = await copyBlob(store, sha256, blobs.get(sha256) ?? "", path.join(temp, blobFile(sha256)));
      files[blobFile(sha256)] = entry;
      blobBytes += entry.size;
    }
    await fsyncDirectory(path.join(temp, BLOBS_DIR));
    const manifestSha256 = await writeManifest(temp, {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      source: { provider: options.database.provider, migration },
      position,
      events,
      streams: heads.heads.size,
      files,
      heads: Object.fromEntries(
        [...heads.heads].map(([streamId, head]) => [streamId, { revision: head.revision, hash: head.hash }]),
      ),
    });
    await fsyncDirectory(temp);
    if (replaceEmpty) await rmdir(target);
    await rename(temp, target);
    await fsyncDirectory(path.dirname(target));
    return {
      dir: target,
      position,
      events,
      streams: heads.heads.size,
      checkpoints,
      blobs: blobs.size,
      blobBytes,
      manifestSha256,
    };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    await store.close();
  }
}
