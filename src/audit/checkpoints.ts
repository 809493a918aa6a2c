// Signed checkpoints of the event log. The chains (./eventHash.ts) link each stream's events, but
// someone who can write the database can recompute a whole stream consistently, or drop a stream's
// newest events. A checkpoint binds every stream's head at a log position into one Merkle root
// (./merkleRoot.ts) and signs it with a key kept outside the database (./signingKey.ts): kept
// elsewhere (exported), it later proves what the log held at that position.
import { hashOf } from "../store/eventCodec.ts";
import { sign, verify } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import canonicalize from "canonicalize";
import { z } from "zod";
import type { Database } from "../db/database.ts";
import { rowDate, rowInt } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import { MerkleBuilder } from "./merkleRoot.ts";
import { SIGNATURE_ALGORITHM, keyFingerprint, publicKeyFromPem } from "./signingKey.ts";
import type { SigningKey } from "./signingKey.ts";

/** Names what a checkpoint signature covers, so a later statement format can be told apart. */
export const CHECKPOINT_ENCODING = "registro.checkpoint.v1";
/** The `format` of an exported checkpoint file. */
export const CHECKPOINT_EXPORT_FORMAT = "registro.audit-checkpoint.v1";

export interface Checkpoint {
  readonly position: number;
  readonly root: string;
  readonly streamCount: number;
  readonly createdAt: Date;
  readonly algorithm: string;
  readonly keyFingerprint: string;
  /** SubjectPublicKeyInfo PEM of the key that signed it. */
  readonly publicKey: string;
  /** Base64 Ed25519 signature over checkpointStatement(). */
  readonly signature: string;
}

type Statement = Pick<
  Checkpoint,
  "position" | "root" | "streamCount" | "createdAt" | "algorithm" | "keyFingerprint"
>;

/** The exact text a checkpoint's signature is over (RFC 8785 canonical JSON). */
export function checkpointStatement(c: Statement): string {
  const text = canonicalize({
    encoding: CHECKPOINT_ENCODING,
    position: c.position,
    root: c.root,
    streamCount: c.streamCount,
    createdAt: c.createdAt.toISOString(),
    algorithm: c.algorithm,
    keyFingerprint: c.keyFingerprint,
  });
  if (text === undefined) throw new Error("checkpoint could not be encoded canonically");
  return text;
}

export function signCheckpoint(
  fields: { position: number; root: string; streamCount: number; createdAt: Date },
  key: SigningKey,
): Checkpoint {
  const statement = { ...fields, algorithm: SIGNATURE_ALGORITHM, keyFingerprint: key.fingerprint };
  const signature = sign(null, Buffer.from(checkpointStatement(statement), "utf8"), key.privateKey);
  return { ...statement, publicKey: key.publicKeyPem, signature: signature.toString("base64") };
}

/** Why the checkpoint's signature does not hold with the public key it names, or null when it does. */
export function signatureProblem(c: Checkpoint): string | null {
  if (c.algorithm !== SIGNATURE_ALGORITHM) return `unsupported signature algorithm ${c.algorithm}`;
  let publicKey;
  try {
    publicKey = publicKeyFromPem(c.publicKey);
  } catch (error) {
    return `the public key cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (keyFingerprint(publicKey) !== c.keyFingerprint)
    return "the key fingerprint does not match the public key given with it";
  const ok = verify(
    null,
    Buffer.from(checkpointStatement(c), "utf8"),
    publicKey,
    Buffer.from(c.signature, "base64"),
  );
  return ok ? null : "the signature does not verify: the checkpoint was forged or altered after signing";
}

// ---- The heads of all streams at a position ---------------------------------------------------

interface HeadRow {
  stream_id: string;
  revision: number | string;
  /** As stored (32 bytes); ../store/eventCodec.ts reads it as hex. */
  hash: unknown;
}

/**
 * One page of stream heads at `position`, after stream `after`, in byte order of the stream ids
 * (PostgreSQL: the "C" collation and its index, whatever the database's own collation).
 */
function headsPage(db: Database, position: number, after: string | null, limit: number): Promise<HeadRow[]> {
  const { sql, params } = headsPageStatement(db.provider, position, after, limit);
  return db.query<HeadRow>(sql, params);
}

/**
 * The statement of headsPage. A range on the stream id even for the first page (every id is >=
 * ''), and the position compared as `+position` on SQLite: there `events` is a view that joins the
 * id back (migration 20261220000000_event_stream), and both keep the page a walk of the stream ids'
 * index that stops after `limit` streams instead of a read of the whole log.
 */
export function headsPageStatement(
  provider: Database["provider"],
  position: number,
  after: string | null,
  limit: number,
): { sql: string; params: SqlValue[] } {
  const id = provider === "postgresql" ? `stream_id COLLATE "C"` : "stream_id";
  const at = provider === "sqlite" ? "+position" : "position";
  return {
    sql: `SELECT e.stream_id AS stream_id, e.revision AS revision, e.hash AS hash
     FROM (SELECT ${id} AS stream_id, max(revision) AS revision FROM events
           WHERE ${id} ${after === null ? ">=" : ">"} ? AND ${at} <= ? GROUP BY 1 ORDER BY 1 LIMIT ?) h
     JOIN events e ON e.stream_id = h.stream_id AND e.revision = h.revision
     ORDER BY e.${id}`,
    params: [after ?? "", position, limit],
  };
}

/** The Merkle root over every stream's last event at or before `position`, a page of streams at a time. */
export async function headsRoot(
  db: Database,
  position: number,
  options: { pageSize?: number; signal?: AbortSignal } = {},
): Promise<{ root: string; streamCount: number }> {
  const pageSize = options.pageSize ?? 1000;
  const builder = new MerkleBuilder();
  let after: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await headsPage(db, position, after, pageSize);
    for (const row of rows)
      builder.add({ streamId: row.stream_id, revision: rowInt(row.revision), hash: hashOf(row.hash) ?? "" });
    const last = rows.at(-1);
    if (last === undefined || rows.length < pageSize) break;
    after = last.stream_id;
    // better-sqlite3 answers synchronously: without this, a server's periodic checkpoint over many
    // streams would hold the event loop (and every request) for the whole walk.
    await yieldToEventLoop();
  }
  return { root: builder.root(), streamCount: builder.leaves };
}

async function lastEventPosition(db: Database): Promise<number> {
  const [row] = await db.query<{ position: number | string | null }>(
    "SELECT max(position) AS position FROM events",
  );
  return row?.position == null ? 0 : rowInt(row.position);
}

// ---- Stored checkpoints ---------------------------------------------------------------------------

/** A row of audit_checkpoints as the SQL session of ../db/sql.ts returns it. */
export interface CheckpointRow {
  position: number | string;
  root: string;
  stream_count: number | string;
  created_at: unknown;
  algorithm: string;
  key_fingerprint: string;
  public_key: string;
  signature: string;
}

/** Every column of audit_checkpoints, in the order of checkpointValues(). */
export const CHECKPOINT_COLUMNS =
  "position, root, stream_count, created_at, algorithm, key_fingerprint, public_key, signature";

export const checkpointFromRow = (row: CheckpointRow): Checkpoint => ({
  position: rowInt(row.position),
  root: row.root,
  streamCount: rowInt(row.stream_count),
  createdAt: rowDate(row.created_at),
  algorithm: row.algorithm,
  keyFingerprint: row.key_fingerprint,
  publicKey: row.public_key,
  signature: row.signature,
});

/** The values of CHECKPOINT_COLUMNS for an INSERT. */
export const checkpointValues = (c: Checkpoint): SqlValue[] => [
  c.position,
  c.root,
  c.streamCount,
  c.createdAt,
  c.algorithm,
  c.keyFingerprint,
  c.publicKey,
  c.signature,
];

export async function latestCheckpoint(db: Database): Promise<Checkpoint | null> {
  const [row] = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY position DESC LIMIT 1`,
  );
  return row === undefined ? null : checkpointFromRow(row);
}

export interface CreatedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** False when another server stored a checkpoint at the same position first (that one is returned). */
  readonly created: boolean;
}

/**
 * Signs and stores a checkpoint at the log's last position. Null when the log is empty or has not
 * advanced since the latest checkpoint. Servers sharing a database race safely: the position is the
 * table's key, so one checkpoint per position is stored and the others are dropped.
 */
export async function createCheckpoint(
  db: Database,
  key: SigningKey,
  now: Date,
  options: { signal?: AbortSignal } = {},
): Promise<CreatedCheckpoint | null> {
  const position = await lastEventPosition(db);
  const previous = await latestCheckpoint(db);
  if (position === 0 || (previous !== null && previous.position >= position)) return null;
  const { root, streamCount } = await headsRoot(db, position, options);
  const checkpoint = signCheckpoint({ position, root, streamCount, createdAt: now }, key);
  const inserted = await db.write((tx) =>
    tx.query<{ position: number }>(
      `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (position) DO NOTHING RETURNING position`,
      checkpointValues(checkpoint),
    ),
  );
  if (inserted.length > 0) return { checkpoint, created: true };
  const [winner] = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE position = ?`,
    [position],
  );
  return winner === undefined ? null : { checkpoint: checkpointFromRow(winner), created: false };
}

// ---- Verification ----------------------------------------------------------------------------------

export interface CheckpointVerdict {
  readonly ok: boolean;
  readonly position: number;
  readonly root: string;
  readonly streamCount: number;
  /** What the database holds at the checkpoint's position now (null when the signature already failed). */
  readonly recomputed: { readonly root: string; readonly streamCount: number } | null;
  readonly problems: readonly string[];
}

/** Why a checkpoint cannot be trusted as it stands (its signature, its key), or nothing. */
function authenticityProblems(
  checkpoint: Checkpoint,
  trustedFingerprint: string | null | undefined,
): string[] {
  const refused = signatureProblem(checkpoint);
  if (refused !== null) return [refused];
  if (trustedFingerprint != null && trustedFingerprint !== checkpoint.keyFingerprint)
    return [`signed by key ${checkpoint.keyFingerprint}, not by this server's key ${trustedFingerprint}`];
  return [];
}

/** Recomputes the root at the checkpoint's position and says how the log differs from what was signed. */
async function rootProblems(
  db: Database,
  checkpoint: Checkpoint,
  options: { pageSize?: number; signal?: AbortSignal },
): Promise<{ recomputed: { root: string; streamCount: number }; problems: string[] }> {
  const problems: string[] = [];
  const end = await lastEventPosition(db);
  if (end < checkpoint.position)
    problems.push(
      `the log now ends at position ${end}, before the checkpoint's position ${checkpoint.position}: its newest events were deleted`,
    );
  const recomputed = await headsRoot(db, checkpoint.position, options);
  if (recomputed.streamCount !== checkpoint.streamCount)
    problems.push(
      `at position ${checkpoint.position} the log now holds ${recomputed.streamCount} streams where the checkpoint recorded ${checkpoint.streamCount}: a stream was ${recomputed.streamCount < checkpoint.streamCount ? "deleted" : "inserted"} before that position`,
    );
  else if (recomputed.root !== checkpoint.root)
    problems.push(
      `the streams' heads at position ${checkpoint.position} no longer hash to the checkpoint's root (${recomputed.root} instead of ${checkpoint.root}): the history of at least one stream before that position was rewritten or cut`,
    );
  return { recomputed, problems };
}

/**
 * Checks a checkpoint's signature, then recomputes its root from the database and says how the log
 * differs from what was signed. `trustedFingerprint`, when given, is the only key accepted.
 */
export async function verifyCheckpoint(
  db: Database,
  checkpoint: Checkpoint,
  options: { trustedFingerprint?: string | null; pageSize?: number; signal?: AbortSignal } = {},
): Promise<CheckpointVerdict> {
  const base = { position: checkpoint.position, root: checkpoint.root, streamCount: checkpoint.streamCount };
  const refused = authenticityProblems(checkpoint, options.trustedFingerprint);
  if (refused.length > 0) return { ...base, ok: false, recomputed: null, problems: refused };
  const { recomputed, problems } = await rootProblems(db, checkpoint, options);
  return { ...base, ok: problems.length === 0, recomputed, problems };
}

export interface StoredCheckpointsReport {
  readonly ok: boolean;
  /** Checkpoints whose signature and key were checked: all of them. */
  readonly checked: number;
  /** How many roots were recomputed from the log. */
  readonly rootsRecomputed: number;
  /** Failed checkpoints (oldest first, at most `maxFailures`); `failed` counts them all. */
  readonly failures: readonly CheckpointVerdict[];
  readonly failed: number;
  /** The oldest checkpoint whose root no longer matches (every later one fails with it), or null. */
  readonly firstMismatch: number | null;
  /** The newest checkpoint before that one that still matches: the log was changed after it. */
  readonly lastMatch: number | null;
  readonly latest: { readonly position: number; readonly root: string; readonly createdAt: Date } | null;
}

async function storedCheckpoint(db: Database, position: number): Promise<Checkpoint> {
  const [row] = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE position = ?`,
    [position],
  );
  if (row === undefined)
    throw new Error(`the checkpoint at position ${position} disappeared during verification`);
  return checkpointFromRow(row);
}

/**
 * Verifies the checkpoints stored in the database: every signature (and key), then the roots.
 * Editing, inserting or deleting events up to a position changes the root of every checkpoint from
 * that position on (each head hash chains over all earlier events of its stream), so mismatches are
 * monotonic: the newest root is recomputed, and only when it fails a binary search finds the oldest
 * that fails. That is O(log n) root computations instead of n, each a pass over every stream. The
 * exception is an event moved to a free later position (positions are not hashed), which can change
 * an older root alone: `allRoots` recomputes every one and finds that too.
 */
export async function verifyStoredCheckpoints(
  db: Database,
  options: {
    trustedFingerprint?: string | null;
    maxFailures?: number;
    allRoots?: boolean;
    pageSize?: number;
    signal?: AbortSignal;
  } = {},
): Promise<StoredCheckpointsReport> {
  const maxFailures = options.maxFailures ?? 20;
  const failures: CheckpointVerdict[] = [];
  const record = (verdict: CheckpointVerdict) => {
    if (failures.length < maxFailures) failures.push(verdict);
  };
  const verdictOf = (c: Checkpoint, problems: string[], recomputed: CheckpointVerdict["recomputed"]) => ({
    ok: problems.length === 0,
    position: c.position,
    root: c.root,
    streamCount: c.streamCount,
    recomputed,
    problems,
  });
  // Positions of the checkpoints whose signature holds: the only ones whose roots mean anything.
  const authentic: number[] = [];
  let checked = 0;
  let failed = 0;
  let latest: Checkpoint | null = null;
  let after = -1;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await db.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE position > ? ORDER BY position LIMIT 100`,
      [after],
    );
    for (const row of rows) {
      const checkpoint = checkpointFromRow(row);
      checked++;
      latest = checkpoint;
      const problems = authenticityProblems(checkpoint, options.trustedFingerprint);
      if (problems.length === 0) authentic.push(checkpoint.position);
      else {
        failed++;
        record(verdictOf(checkpoint, problems, null));
      }
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < 100) break;
    after = rowInt(last.position);
  }

  let rootsRecomputed = 0;
  const verdictAt = async (index: number) => {
    const checkpoint = await storedCheckpoint(db, authentic[index]!);
    rootsRecomputed++;
    const { recomputed, problems } = await rootProblems(db, checkpoint, options);
    return verdictOf(checkpoint, problems, recomputed);
  };
  let firstMismatch: number | null = null;
  let lastMatch: number | null = null;
  if (options.allRoots) {
    for (let i = 0; i < authentic.length; i++) {
      const verdict = await verdictAt(i);
      if (verdict.ok) {
        if (firstMismatch === null) lastMatch = verdict.position;
        continue;
      }
      firstMismatch ??= verdict.position;
      failed++;
      record(verdict);
    }
  } else if (authentic.length > 0) {
    let newest = await verdictAt(authentic.length - 1);
    if (newest.ok) lastMatch = newest.position;
    else {
      // Invariant: the checkpoint at `high` fails; every one below `low` holds.
      let low = 0;
      let high = authentic.length - 1;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        const verdict = await verdictAt(middle);
        if (verdict.ok) low = middle + 1;
        else {
          high = middle;
          newest = verdict;
        }
      }
      // `newest` is always the verdict of the checkpoint at `high`.
      const oldest = newest;
      firstMismatch = oldest.position;
      lastMatch = high > 0 ? authentic[high - 1]! : null;
      const count = authentic.length - high;
      failed += count;
      record({
        ...oldest,
        problems: [
          ...oldest.problems,
          `${count === 1 ? "it is the newest checkpoint" : `the ${count - 1} later checkpoint(s) fail with it`}; ${lastMatch === null ? "no earlier checkpoint holds" : `the checkpoint at position ${lastMatch} still holds: the log was changed after that position`}`,
        ],
      });
    }
  }
  return {
    ok: failed === 0,
    checked,
    rootsRecomputed,
    failures,
    failed,
    firstMismatch,
    lastMatch,
    latest:
      latest === null ? null : { position: latest.position, root: latest.root, createdAt: latest.createdAt },
  };
}

// ---- Exported files ----------------------------------------------------------------------------------

/** A checkpoint as a JSON value: what an exported file holds, and a line of a backup's checkpoints.ndjson. */
export function checkpointJson(c: Checkpoint) {
  return {
    format: CHECKPOINT_EXPORT_FORMAT,
    position: c.position,
    root: c.root,
    streamCount: c.streamCount,
    createdAt: c.createdAt.toISOString(),
    algorithm: c.algorithm,
    keyFingerprint: c.keyFingerprint,
    publicKey: c.publicKey,
    signature: c.signature,
  };
}

/** The self-contained JSON of a checkpoint, to keep outside the database. */
export function exportCheckpoint(c: Checkpoint): string {
  return `${JSON.stringify(checkpointJson(c), null, 2)}\n`;
}

/** An exported checkpoint is at most a few KiB; anything larger is not one. */
export const MAX_EXPORT_BYTES = 64 * 1024;

const exportSchema = z.object({
  format: z.literal(CHECKPOINT_EXPORT_FORMAT),
  position: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  streamCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  createdAt: z.iso.datetime(),
  algorithm: z.string().max(32),
  keyFingerprint: z.string().max(100),
  publicKey: z.string().max(4096),
  signature: z.string().max(1024),
});

/** A parsed JSON value as a checkpoint, or what is wrong with it (its signature is not checked here). */
export function checkpointFromJson(json: unknown): Checkpoint | string {
  const parsed = exportSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  const { format: _format, createdAt, ...rest } = parsed.data;
  return { ...rest, createdAt: new Date(createdAt) };
}

/** Reads an exported checkpoint; throws a readable Error when the text is not one. */
export function parseCheckpointExport(text: string): Checkpoint {
  if (Buffer.byteLength(text, "utf8") > MAX_EXPORT_BYTES)
    throw new Error(`not a checkpoint file: larger than ${MAX_EXPORT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not a checkpoint file: ${error instanceof Error ? error.message : String(error)}`);
  }
  const checkpoint = checkpointFromJson(json);
  if (typeof checkpoint === "string") throw new Error(`not a checkpoint file: ${checkpoint}`);
  return checkpoint;
}
