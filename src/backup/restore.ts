// Restores a backup folder (./backup.ts) into an empty database of either provider. Nothing is
// written before the whole backup has been verified: the manifest, every file's size and sha256,
// every event line, the chain of every stream up to the head the manifest records, every signed audit
// checkpoint (its signature, and its root against the backup's own events), and every blob.
// Every entry must be a regular file (blobs/ a real folder): a symlink, device or FIFO is refused,
// never followed or read. Every event's payload is decoded by its context's parser, and the rows
// outside the log (usage, MLflow tracking and artifact proxy files) are checked for repeated keys and
// missing parents, as the target's constraints would.
// Then the blobs are copied into the target's blob store (unreferenced until the events commit, so
// garbage collection reclaims them if the restore fails), and the events, with their original
// positions and hashes, the checkpoints with their signatures, and the usage, tracking and artifact
// proxy rows are written in ONE write transaction: a restore that fails there leaves the database
// without a single event (or row), and can be run again. The projections are rebuilt after it (the
// online rebuild needs connections of its own) and the tokens' last use re-applied; a failure of
// either says what was restored and how to finish.
import { storedHash } from "../store/eventCodec.ts";
import { createHash } from "node:crypto";
import { lstat, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { z } from "zod";
import { TrackingRowsCheck, trackingInsert } from "../mlflow/tracking/trackingBackup.ts";
import { UsageRowsCheck, usageInsert } from "../usage/usageBackup.ts";
import { stagedFileInsert } from "../mlflow/stagedFilesBackup.ts";
import { createBlobStore } from "../artifacts/createBlobStore.ts";
import type { BlobStoreConfig, DatabaseConfig } from "../config.ts";
import { openDatabase } from "../db/database.ts";
import type { Tx } from "../db/database.ts";
import { listMigrations, prepareSchema } from "../db/migrate.ts";
import { PostgresTx, pgTypes, placeholders, rowInt } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import { CorruptEventError } from "../domain/registeredModel/eventSchemas.ts";
import { LineTooLongError, boundedLines } from "../cli/boundedLines.ts";
import { NotARegularFileError, kindOf, openRegularFile } from "../cli/regularFile.ts";
import { rebuildProjections } from "../projections/rebuild.ts";
import type { RebuildSummary } from "../projections/rebuild.ts";
import { CHECKPOINT_COLUMNS, checkpointValues } from "../audit/checkpoints.ts";
import { eventTypeCodes } from "../store/eventTypes.ts";
import { eventActorRefs } from "../store/eventActors.ts";
import type { StoredActor } from "../store/eventActors.ts";
import type { Checkpoint } from "../audit/checkpoints.ts";
import { CheckpointsAlongLog, signedCheckpoints } from "./checkpointLines.ts";
import { StreamHeads, parseEventLine, referencedBlob, unreplayable } from "./eventLines.ts";
import type { BackedUpEvent } from "./eventLines.ts";
import {
  BLOBS_DIR,
  CHECKPOINTS_FILE,
  DamagedBackupError,
  EVENTS_FILE,
  MLFLOW_FILES_FILE,
  TOKEN_USAGE_FILE,
  TRACKING_FILE,
  USAGE_FILE,
  blobFile,
  readManifest,
} from "./manifest.ts";
import type { FileEntry, Manifest } from "./manifest.ts";
import type { FileHandle } from "node:fs/promises";

/** The target cannot take the backup (it is not empty, or too old for it); nothing was written. */
export class RestoreRefusedError extends Error {
  override name = "RestoreRefusedError";
}

export interface RestoreOptions {
  readonly from: string;
  /** The target database: it must hold no events. It is migrated first if needed. */
  readonly database: DatabaseConfig;
  /** Root of the target's blob store (with an S3 store, where its local temporary files go). */
  readonly blobDir: string;
  /** The target's blob store (BLOB_STORE, S3_*); default the folder \`blobDir\`. */
  readonly blobStore?: BlobStoreConfig;
  /** Events per INSERT statement. */
  readonly batchSize?: number;
}

export interface RestoreSummary {
  readonly position: number;
  readonly events: number;
  readonly streams: number;
  readonly checkpoints: number;
  readonly blobs: number;
  readonly projections: RebuildSummary;
}

/** Lines of a file, numbered from 1, with the sha256 and size of the bytes they came from. */
async function* numberedLines(
  file: string,
  digest: { hash: ReturnType<typeof createHash>; size: number },
): AsyncGenerator<{ line: number; text: string }> {
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.hash.update(chunk);
      digest.size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    yield* boundedLines(file, { through: meter, regularFileOnly: true });
  } catch (error) {
    if (error instanceof LineTooLongError)
      throw new DamagedBackupError(
        `${path.basename(file)} line ${error.line} is longer than ${error.maxChars} characters: not a line a backup writes`,
      );
    throw damagedIfNotRegular(error, path.basename(file));
  }
}

const notRegular = (name: string, kind: string) =>
  new DamagedBackupError(`${name} is ${kind}, not a regular file: not something a backup writes`);

/** A file of the backup replaced by a symlink, device, FIFO or folder since the listing was checked. */
function damagedIfNotRegular(error: unknown, name: string): unknown {
  return error instanceof NotARegularFileError ? notRegular(name, error.found) : error;
}

/** Opens a file of the backup, refusing anything but a regular file. */
async function openBackupFile(dir: string, name: string): Promise<{ handle: FileHandle; size: number }> {
  try {
    return await openRegularFile(path.join(dir, name));
  } catch (error) {
    throw damagedIfNotRegular(error, name);
  }
}

const newDigest = () => ({ hash: createHash("sha256"), size: 0 });

function checkFileEntry(name: string, expected: FileEntry, found: { sha256: string; size: number }): void {
  if (found.size !== expected.size)
    throw new DamagedBackupError(
      `${name} is ${found.size} bytes, the manifest says ${expected.size}: truncated or altered`,
    );
  if (found.sha256 !== expected.sha256)
    throw new DamagedBackupError(
      `${name} has sha256 ${found.sha256}, the manifest says ${expected.sha256}: altered after the backup`,
    );
}

async function hashFile(dir: string, name: string): Promise<{ sha256: string; size: number }> {
  const digest = newDigest();
  const { handle } = await openBackupFile(dir, name);
  await pipeline(handle.createReadStream(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      digest.hash.update(chunk);
      digest.size += chunk.length;
    }
  });
  return { sha256: digest.hash.digest("hex"), size: digest.size };
}

/**
 * Every file is listed in the manifest and every listed file is there, as a regular file (never a
 * symlink, device, FIFO or folder, which could make a read hang or leave the backup); answers each
 * file's size as lstat found it.
 */
async function checkListing(dir: string, manifest: Manifest): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const regular = async (name: string) => {
    const info = await lstat(path.join(dir, name));
    if (!info.isFile()) throw notRegular(name, kindOf(info));
    found.set(name, info.size);
  };
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === "manifest.json") continue;
    if (entry.name === BLOBS_DIR) {
      if (!entry.isDirectory())
        throw new DamagedBackupError(
          `${BLOBS_DIR} is ${kindOf(entry)}, not a folder: not something a backup writes`,
        );
      for (const blob of await readdir(path.join(dir, BLOBS_DIR))) await regular(blobFile(blob));
    } else await regular(entry.name);
  }
  for (const name of Object.keys(manifest.files))
    if (!found.has(name)) throw new DamagedBackupError(`${name} is missing from the backup`);
  for (const name of found.keys())
    if (!Object.hasOwn(manifest.files, name))
      throw new DamagedBackupError(`${name} is not listed in the manifest`);
  for (const name of [EVENTS_FILE, TOKEN_USAGE_FILE, CHECKPOINTS_FILE])
    if (!Object.hasOwn(manifest.files, name))
      throw new DamagedBackupError(`${name} is missing from the backup`);
  return found;
}

/** Characters of events.ndjson lines inserted at once at most (with the events parsed from them). */
const MAX_BATCH_CHARS = 16 * 1024 * 1024;

/**
 * Items collected for one insert, closed by count or by size, whichever comes first: 200 events of
 * megabytes each (a backup's lines may reach 64 MiB) would otherwise be held, parsed, all at once.
 */
export class InsertBatches<T> {
  #batch: T[] = [];
  #chars = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxChars: number,
  ) {}

  /** Adds an item of `chars` characters; the batch to insert now when it is full, else null. */
  add(item: T, chars: number): T[] | null {
    this.#batch.push(item);
    this.#chars += chars;
    if (this.#batch.length < this.maxItems && this.#chars < this.maxChars) return null;
    return this.rest();
  }

  /** What is left to insert (possibly nothing), the collection starting afresh. */
  rest(): T[] {
    const batch = this.#batch;
    this.#batch = [];
    this.#chars = 0;
    return batch;
  }
}

/**
 * Reads events.ndjson in order, handing each event to `each` with its line number and the line's
 * length; returns the file's size and sha256.
 */

async function forEachEvent(
  dir: string,
  each: (event: BackedUpEvent, line: number, length: number) => Promise<void> | void,
): Promise<{ sha256: string; size: number }> {
  const digest = newDigest();
  for await (const { line, text } of numberedLines(path.join(dir, EVENTS_FILE), digest)) {
    const event = parseEventLine(text);
    if (typeof event === "string") throw new DamagedBackupError(`${EVENTS_FILE} line ${line} ${event}`);
    await each(event, line, text.length);
  }
  return { sha256: digest.hash.digest("hex"), size: digest.size };
}

/** The events file's bytes against the manifest's entry. */
function checkEventsFile(manifest: Manifest, found: { sha256: string; size: number }): void {
  const expected = manifest.files[EVENTS_FILE];
  if (expected === undefined) throw new DamagedBackupError(`${EVENTS_FILE} is missing from the backup`);
  checkFileEntry(EVENTS_FILE, expected, found);
}

/** The whole verification, before anything is written. Line-level findings come first: they say the most. */
async function verifyBackup(dir: string, manifest: Manifest): Promise<number> {
  const sizes = await checkListing(dir, manifest);
  const heads = new StreamHeads();
  const referenced = new Map<string, string>();
  let count = 0;
  const checkpointsDigest = newDigest();
  const checkpoints = new CheckpointsAlongLog(
    signedCheckpoints(numberedLines(path.join(dir, CHECKPOINTS_FILE), checkpointsDigest), manifest.position),
    heads.heads,
  );
  let checkpointCount: number;
  try {
    const eventsFile = await forEachEvent(dir, async (event, line) => {
      await checkpoints.before(event.position);
      const at = `${EVENTS_FILE} line ${line}`;
      if (event.position > manifest.position)
        throw new DamagedBackupError(
          `${at}: log position ${event.position} is after the backup's position ${manifest.position}`,
        );
      const broken = heads.next(event);
      if (broken !== null) throw new DamagedBackupError(`${at}: ${broken}`);
      const unparsable = unreplayable(event);
      if (unparsable !== null) throw new DamagedBackupError(`${at}: ${unparsable}`);
      let blob: ReturnType<typeof referencedBlob>;
      try {
        blob = referencedBlob(event);
      } catch (error) {
        if (error instanceof CorruptEventError) throw new DamagedBackupError(`${at}: ${error.message}`);
        throw error;
      }
      if (blob && !referenced.has(blob.sha256)) referenced.set(blob.sha256, blob.where);
      count += 1;
    });
    if (count !== manifest.events)
      throw new DamagedBackupError(
        `${EVENTS_FILE} holds ${count} events, the manifest says ${manifest.events}: lines were removed or added, or the file was cut short`,
      );
    if (count > 0 && heads.position !== manifest.position)
      throw new DamagedBackupError(
        `${EVENTS_FILE} ends at log position ${heads.position}, the manifest says ${manifest.position}`,
      );
    for (const [streamId, expected] of Object.entries(manifest.heads)) {
      const head = heads.heads.get(streamId);
      if (head === undefined)
        throw new DamagedBackupError(
          `stream ${streamId} is in the manifest but has no event in ${EVENTS_FILE}`,
        );
      if (head.revision !== expected.revision || head.hash !== expected.hash)
        throw new DamagedBackupError(
          `stream ${streamId} ends at revision ${head.revision} (hash ${head.hash}) in ${EVENTS_FILE}, the manifest says revision ${expected.revision} (hash ${expected.hash})`,
        );
    }
    for (const streamId of heads.heads.keys())
      if (!Object.hasOwn(manifest.heads, streamId))
        throw new DamagedBackupError(`stream ${streamId} of ${EVENTS_FILE} is not in the manifest`);
    if (heads.heads.size !== manifest.streams)
      throw new DamagedBackupError(
        `${EVENTS_FILE} holds ${heads.heads.size} streams, the manifest says ${manifest.streams}`,
      );
    checkEventsFile(manifest, eventsFile);
    await checkpoints.before(Number.POSITIVE_INFINITY);
    checkpointCount = checkpoints.finish();
    checkFileEntry(CHECKPOINTS_FILE, manifest.files[CHECKPOINTS_FILE]!, {
      sha256: checkpointsDigest.hash.digest("hex"),
      size: checkpointsDigest.size,
    });
  } finally {
    // Closes the file when the verification stopped before its end.
    await checkpoints.close();
  }
  for (const [sha256, where] of referenced)
    if (!Object.hasOwn(manifest.files, blobFile(sha256)))
      throw new DamagedBackupError(`${blobFile(sha256)} (${where}) is missing from the backup`);
  for (const [name, expected] of Object.entries(manifest.files)) {
    if (name === EVENTS_FILE || name === CHECKPOINTS_FILE) continue;
    // A file of another size is refused before it is read (a blob may be large).
    const size = sizes.get(name);
    if (size !== undefined && size !== expected.size)
      checkFileEntry(name, expected, { sha256: expected.sha256, size });
    const found = await hashFile(dir, name);
    if (name.startsWith(`${BLOBS_DIR}/`) && found.sha256 !== name.slice(BLOBS_DIR.length + 1))
      throw new DamagedBackupError(
        `${name} is damaged: its ${found.size} bytes hash to ${found.sha256}${referenced.has(name.slice(BLOBS_DIR.length + 1)) ? ` (${referenced.get(name.slice(BLOBS_DIR.length + 1))})` : ""}`,
      );
    checkFileEntry(name, expected, found);
  }
  return checkpointCount;
}

const tokenUsageLine = z.strictObject({ id: z.string().min(1), lastUsedAt: z.iso.datetime() });

async function readTokenUsage(dir: string): Promise<{ id: string; lastUsedAt: Date }[]> {
  const usage: { id: string; lastUsedAt: Date }[] = [];
  for await (const { line, text } of numberedLines(path.join(dir, TOKEN_USAGE_FILE), newDigest())) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    const parsed = tokenUsageLine.safeParse(json);
    if (!parsed.success)
      throw new DamagedBackupError(`${TOKEN_USAGE_FILE} line ${line} is not a token's last use`);
    usage.push({ id: parsed.data.id, lastUsedAt: new Date(parsed.data.lastUsedAt) });
  }
  return usage;
}

/**
 * Every line of mlflow-tracking.ndjson must be a row a backup writes, whose key is not repeated and
 * whose parent row comes before it: checked before anything is restored.
 */
async function checkTrackingFile(dir: string, manifest: Manifest): Promise<void> {
  if (!Object.hasOwn(manifest.files, TRACKING_FILE)) return;
  const rows = new TrackingRowsCheck();
  for await (const { line, text } of numberedLines(path.join(dir, TRACKING_FILE), newDigest())) {
    const insert = trackingInsert(text);
    if (typeof insert === "string") throw new DamagedBackupError(`${TRACKING_FILE} line ${line} ${insert}`);
    const wrong = rows.next(insert.table, insert.row);
    if (wrong !== null) throw new DamagedBackupError(`${TRACKING_FILE} line ${line} ${wrong}`);
  }
}

/**
 * Every line of the MLflow artifact proxy's file must be a row a backup writes, and its blob must
 * be in the backup: checked before anything is restored.
 */
async function checkStagedFiles(dir: string, manifest: Manifest): Promise<void> {
  if (!Object.hasOwn(manifest.files, MLFLOW_FILES_FILE)) return;
  const paths = new Set<string>();
  for await (const { line, text } of numberedLines(path.join(dir, MLFLOW_FILES_FILE), newDigest())) {
    const insert = stagedFileInsert(text);
    if (typeof insert === "string")
      throw new DamagedBackupError(`${MLFLOW_FILES_FILE} line ${line} ${insert}`);
    if (!Object.hasOwn(manifest.files, blobFile(insert.line.sha256)))
      throw new DamagedBackupError(
        `${blobFile(insert.line.sha256)} (MLflow artifact proxy file ${JSON.stringify(insert.line.path)}) is missing from the backup`,
      );
    if (paths.has(insert.line.path))
      throw new DamagedBackupError(
        `${MLFLOW_FILES_FILE} line ${line} repeats the path ${JSON.stringify(insert.line.path)} of an earlier line`,
      );
    paths.add(insert.line.path);
  }
}

/** Every line of usage.ndjson must be a row a backup writes: checked before anything is restored. */
async function checkUsageFile(dir: string, manifest: Manifest): Promise<void> {
  if (!Object.hasOwn(manifest.files, USAGE_FILE)) return;
  const rows = new UsageRowsCheck();
  for await (const { line, text } of numberedLines(path.join(dir, USAGE_FILE), newDigest())) {
    const insert = usageInsert(text);
    if (typeof insert === "string") throw new DamagedBackupError(`${USAGE_FILE} line ${line} ${insert}`);
    const wrong = rows.next(insert.table, insert.params);
    if (wrong !== null) throw new DamagedBackupError(`${USAGE_FILE} line ${line} ${wrong}`);
  }
}

/** PostgreSQL's integrity constraint violations (class 23) and SQLite's constraint errors. */
const isConstraintViolation = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_CONSTRAINT") || /^23\d{3}$/.test(code));
};

/**
 * Inserts the rows of one of the files outside the log, line by line, in the restore's transaction.
 * What the checks before could not see (a repeated metric value) the target's constraints refuse:
 * the transaction rolls back, and the backup is named damaged at that line.
 */
async function insertRows(
  tx: Tx,
  dir: string,
  name: string,
  insertOf: (text: string) => { sql: string; params: SqlValue[] } | string,
): Promise<void> {
  for await (const { line, text } of numberedLines(path.join(dir, name), newDigest())) {
    const insert = insertOf(text);
    if (typeof insert === "string") throw new DamagedBackupError(`${name} line ${line} ${insert}`);
    try {
      await tx.execute(insert.sql, insert.params);
    } catch (error) {
      if (isConstraintViolation(error))
        throw new DamagedBackupError(
          `${name} line ${line} cannot be restored: ${error instanceof Error ? error.message : String(error)}`,
        );
      throw error;
    }
  }
}

const INSERT_COLUMNS =
  "position, stream_id, revision, type, schema_version, data, actor_ref, occurred_at, correlation_id, causation_id, hash";

/**
 * The actor as appends store it (../store/eventActors.ts), from a backed up event's four values.
 * The credential's keys are in the source database's order (PostgreSQL's jsonb reorders them):
 * eventActorRefs looks it up and stores it by its canonical form, as it does for appends.
 */
const storedActor = (e: BackedUpEvent): StoredActor => ({
  actor: e.actor,
  actorId: e.actorId,
  actorKind: e.actorKind,
  actorCredential:
    e.actorCredential === null || e.actorCredential === undefined ? null : JSON.stringify(e.actorCredential),
});

const insertValues = (e: BackedUpEvent, typeCode: number, actorRef: number): SqlValue[] => [
  e.position,
  e.streamId,
  e.revision,
  typeCode,
  e.schemaVersion,
  JSON.stringify(e.data),
  actorRef,
  e.occurredAt,
  e.correlationId,
  e.causationId,
  storedHash(e.hash),
];

async function insertEvents(tx: Tx, events: readonly BackedUpEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map(() => `(${placeholders(11)})`).join(", ");
  // Backups name event types; the target gives each its code (its own, whatever the source's were).
  const typeCodes = await eventTypeCodes(
    tx,
    events.map((e) => e.type),
  );
  // Backups hold the four values of each actor; the target interns them (its own ids).
  const actorRefs = await eventActorRefs(tx, events.map(storedActor));
  await tx.execute(
    `INSERT INTO events (${INSERT_COLUMNS}) VALUES ${rows}`,
    events.flatMap((e, i) => insertValues(e, typeCodes[i] ?? 0, actorRefs[i] ?? 0)),
  );
}

/**
 * Inserts the checkpoints as they were signed. The file is read again and checked again (each
 * signature, and its bytes against the manifest), so a file changed since the verification fails the
 * transaction; the roots were recomputed from the same events, whose file is checked the same way.
 */
async function insertCheckpoints(tx: Tx, dir: string, manifest: Manifest): Promise<void> {
  const digest = newDigest();
  let batch: Checkpoint[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch.map(() => `(${placeholders(8)})`).join(", ");
    await tx.execute(
      `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ${rows}`,
      batch.flatMap(checkpointValues),
    );
    batch = [];
  };
  for await (const { checkpoint } of signedCheckpoints(
    numberedLines(path.join(dir, CHECKPOINTS_FILE), digest),
    manifest.position,
  )) {
    batch.push(checkpoint);
    if (batch.length >= 100) await flush();
  }
  await flush();
  checkFileEntry(CHECKPOINTS_FILE, manifest.files[CHECKPOINTS_FILE]!, {
    sha256: digest.hash.digest("hex"),
    size: digest.size,
  });
}

async function eventCount(tx: Tx): Promise<number> {
  const [row] = await tx.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM events");
  return rowInt(row?.n ?? 0);
}

/**
 * Moves PostgreSQL's position sequence past the restored log, so the next append continues it. setval
 * needs UPDATE on the sequence, which the application role of docs/audit.md does not hold: with
 * DATABASE_OWNER_URL the owner moves it, before the events are written (setval is not transactional
 * anyway; a failed restore leaves a sequence that merely skips numbers).
 */
async function movePositionSequence(tx: Tx, position: number): Promise<void> {
  if (position === 0) return;
  try {
    await tx.query("SELECT setval(pg_get_serial_sequence('events', 'position'), ?)", [position]);
  } catch (error) {
    if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE)
      throw new RestoreRefusedError(
        "DATABASE_URL's role may not move the event position sequence: set DATABASE_OWNER_URL to the role that owns the tables (docs/audit.md) and restore again",
      );
    throw error;
  }
}

const INSUFFICIENT_PRIVILEGE = "42501";

const refuseNonEmpty = (n: number) =>
  new RestoreRefusedError(
    `the target database holds ${n} events: a backup is only restored into an empty database (a new DATA_DIR or a new PostgreSQL database, before any server has used it)`,
  );

export async function restore(options: RestoreOptions): Promise<RestoreSummary> {
  const dir = path.resolve(options.from);
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw new DamagedBackupError(`${dir} is not a folder`);
  const manifest = await readManifest(dir);
  const known = listMigrations(options.database.provider).map((m) => m.name);
  if (!known.includes(manifest.source.migration))
    throw new RestoreRefusedError(
      `the backup was made by a newer Registro (schema migration ${manifest.source.migration}): restore it with that version or later`,
    );
  const checkpoints = await verifyBackup(dir, manifest);
  const tokenUsage = await readTokenUsage(dir);
  await checkUsageFile(dir, manifest);
  await checkTrackingFile(dir, manifest);
  await checkStagedFiles(dir, manifest);

  await prepareSchema(options.database);
  const db = openDatabase(options.database);
  const store = createBlobStore({ dir: options.blobDir, store: options.blobStore ?? { kind: "filesystem" } });
  try {
    const before = await db.write(eventCount);
    if (before > 0) throw refuseNonEmpty(before);
    const blobs = Object.keys(manifest.files).filter((name) => name.startsWith(`${BLOBS_DIR}/`));
    for (const name of blobs)
      await store.put((await openBackupFile(dir, name)).handle.createReadStream(), {
        expectedSha256: name.slice(BLOBS_DIR.length + 1),
      });
    if (options.database.provider === "postgresql" && options.database.ownerUrl !== undefined) {
      const owner = new pg.Client({ connectionString: options.database.ownerUrl });
      await owner.connect();
      try {
        await movePositionSequence(
          new PostgresTx(owner as unknown as pg.PoolClient, pgTypes(pg.types)),
          manifest.position,
        );
      } finally {
        await owner.end();
      }
    }
    const batchSize = options.batchSize ?? 200;
    await db.write(async (tx) => {
      // Checked again under the write lock: a server started meanwhile may have written.
      const n = await eventCount(tx);
      if (n > 0) throw refuseNonEmpty(n);
      const batches = new InsertBatches<BackedUpEvent>(batchSize, MAX_BATCH_CHARS);
      // Read again, and checked against the manifest again, so a file changed since the verification
      // fails this transaction instead of slipping in.
      const heads = new StreamHeads();
      const eventsFile = await forEachEvent(dir, async (event, line, length) => {
        const broken = heads.next(event);
        if (broken !== null) throw new DamagedBackupError(`${EVENTS_FILE} line ${line}: ${broken}`);
        const full = batches.add(event, length);
        if (full !== null) await insertEvents(tx, full);
      });
      await insertEvents(tx, batches.rest());
      checkEventsFile(manifest, eventsFile);
      await insertCheckpoints(tx, dir, manifest);
      // The rows outside the log, in the same transaction: restored with the events, or not at all.
      // Backups made before usage, MLflow tracking or its artifact proxy existed lack their files.
      if (Object.hasOwn(manifest.files, USAGE_FILE)) await insertRows(tx, dir, USAGE_FILE, usageInsert);
      if (Object.hasOwn(manifest.files, TRACKING_FILE))
        await insertRows(tx, dir, TRACKING_FILE, trackingInsert);
      if (Object.hasOwn(manifest.files, MLFLOW_FILES_FILE))
        await insertRows(tx, dir, MLFLOW_FILES_FILE, stagedFileInsert);
      if (options.database.provider === "postgresql" && options.database.ownerUrl === undefined)
        await movePositionSequence(tx, manifest.position);
    });
    // The projections are rebuilt from the committed log by the online rebuild, on connections of
    // its own (it cannot join the transaction above). Should it fail, the verified log is in place
    // and the registry is one `projections:rebuild` away from complete: said so, never hidden.
    const database = options.database;
    const connection =
      database.provider === "postgresql" && database.ownerUrl !== undefined
        ? { ...database, url: database.ownerUrl }
        : database;
    let projections: RebuildSummary;
    try {
      projections = await rebuildProjections(db, { connection });
    } catch (error) {
      throw new Error(
        `restore: the ${manifest.events} events were verified and restored, but rebuilding the projections failed (${error instanceof Error ? error.message : String(error)}); fix the cause and run npm run projections:rebuild against the same database to finish`,
        { cause: error },
      );
    }
    // Every event was verified and decoded above, so the rebuild should leave none out; should it
    // anyway, the registry lacks what those events made: never reported as restored.
    if (projections.breaks.length > 0 || projections.skippedEvents > 0) {
      const first = projections.breaks[0];
      throw new Error(
        `restore: the ${manifest.events} events were restored, but the projection rebuild left ${projections.skippedEvents} of them out` +
          (first === undefined
            ? ""
            : ` (${projections.breaks.length} stream${projections.breaks.length === 1 ? "" : "s"} broken, the first ${first.streamId} at revision ${first.revision}: ${first.reason})`) +
          `: the registry is incomplete; npm run audit:verify and npm run projections:rebuild against the same database say more`,
      );
    }
    try {
      await db.write(async (tx) => {
        for (const { id, lastUsedAt } of tokenUsage)
          await tx.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [lastUsedAt, id]);
      });
    } catch (error) {
      throw new Error(
        `restore: the events, checkpoints, usage and MLflow rows were restored and the projections rebuilt, but the tokens' last use was not (${error instanceof Error ? error.message : String(error)}): the registry is usable; tokens show when they were last used once used again`,
        { cause: error },
      );
    }
    return {
      position: manifest.position,
      events: manifest.events,
      streams: manifest.streams,
      checkpoints,
      blobs: blobs.length,
      projections,
    };
  } finally {
    await store.close();
    await db.close();
  }
}
