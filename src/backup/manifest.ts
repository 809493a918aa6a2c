// The manifest of a backup folder (docs/backup.md describes the format). Written last, so its
// presence means the rest was complete; it records the size and sha256 of every other file and the
// head of every stream, so a truncated, edited or partly copied backup is refused by `restore`.
// Its own `checksum` (sha256 of its canonical JSON without that field) catches an edited manifest;
// it is no defence against someone who rewrites the whole folder, which is why `backup` prints the
// manifest's sha256 for keeping elsewhere.
import { constants } from "node:buffer";
import { createHash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import canonicalize from "canonicalize";
import { z } from "zod";
import { NotARegularFileError, openRegularFile } from "../cli/regularFile.ts";

/** Bumped when the folder's layout or a file's meaning changes; restore refuses formats it does not know. */
export const BACKUP_FORMAT = "registro.backup.v1";
export const MANIFEST_FILE = "manifest.json";
export const EVENTS_FILE = "events.ndjson";
export const TOKEN_USAGE_FILE = "token-usage.ndjson";
export const CHECKPOINTS_FILE = "checkpoints.ndjson";
/** Download and serving time series (src/usage/usageBackup.ts); absent from backups made before usage existed. */
export const USAGE_FILE = "usage.ndjson";
/** MLflow tracking rows (src/mlflow/tracking/trackingBackup.ts); absent from backups made before them. */
export const TRACKING_FILE = "mlflow-tracking.ndjson";
/** Files of MLflow's artifact proxy (src/mlflow/stagedFilesBackup.ts); absent from backups made before it existed. */
export const MLFLOW_FILES_FILE = "mlflow-artifact-files.ndjson";
export const BLOBS_DIR = "blobs";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const fileEntry = z.object({ sha256: sha256Hex, size: z.number().int().min(0) });

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.iso.datetime(),
  source: z.object({
    provider: z.enum(["sqlite", "postgresql"]),
    /** The last schema migration applied to the source: a restore needs a Registro that knows it. */
    migration: z.string().min(1),
  }),
  /** Every event with a log position up to this one is in the backup, and none after it. */
  position: z.number().int().min(0),
  events: z.number().int().min(0),
  streams: z.number().int().min(0),
  /** Relative path (`events.ndjson`, `blobs/<sha256>`, …) to size and sha256. */
  files: z.record(z.string(), fileEntry),
  /** Each stream's last event in the backup: what a restore's chain walk must end on. */
  heads: z.record(z.string(), z.object({ revision: z.number().int().min(1), hash: sha256Hex })),
  checksum: sha256Hex,
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestContent = Omit<Manifest, "checksum">;
export type FileEntry = z.infer<typeof fileEntry>;

/**
 * The largest manifest restore reads. The manifest is one JSON text, written by one JSON.stringify
 * and read by one JSON.parse, so neither backup nor restore can handle a longer one than Node's
 * longest string (2^29 - 24 characters on 64-bit builds, about 512 MiB; its ids, hashes and file
 * names are ASCII, so as many bytes): no backup wrote a larger one, and refusing it by its size
 * means it is never read. At 130 to 160 bytes per stream (170 per file) that is 3 to 4 million
 * streams; reading a manifest costs about ten times its size in memory (measured: 80 MB, 500,000
 * streams, 0.7 to 0.9 GB), so one that large needs a heap beyond Node's default.
 */
export const MAX_MANIFEST_BYTES: number = constants.MAX_STRING_LENGTH;

/** A backup folder that cannot be restored, and exactly why. */
export class DamagedBackupError extends Error {
  override name = "DamagedBackupError";
}

const checksumOf = (content: ManifestContent): string => {
  const text = canonicalize(content);
  if (text === undefined) throw new Error("manifest could not be encoded canonically");
  return createHash("sha256").update(text, "utf8").digest("hex");
};

/** Writes the manifest beside its files (temp file, fsync, rename); returns the sha256 of its bytes. */
export async function writeManifest(dir: string, content: ManifestContent): Promise<string> {
  const manifest: Manifest = { ...content, checksum: checksumOf(content) };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const target = path.join(dir, MANIFEST_FILE);
  const temp = `${target}.${randomUUID()}.tmp`;
  const handle = await open(temp, "wx");
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The first `size` bytes of a file, as text: the size fstat found, so a file that grows while it is
 * read costs no more than the size that was checked.
 */
async function readPrefix(handle: FileHandle, size: number): Promise<string> {
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.toString("utf8", 0, filled);
}

/** A manifest's `format` for a message: never stringified whole (an array nested thousands deep overflows). */
const describeFormat = (format: unknown): string =>
  typeof format === "object" && format !== null
    ? `an ${Array.isArray(format) ? "array" : "object"}`
    : typeof format === "string" && format.length > 100
      ? `${JSON.stringify(format.slice(0, 100))}…`
      : String(JSON.stringify(format));

/** Reads and checks a backup's manifest: present, well-formed, of a known format, unedited. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    // Never followed or read if it is a symlink, device or FIFO (/dev/zero would never end).
    const { handle, size } = await openRegularFile(file);
    try {
      if (size > MAX_MANIFEST_BYTES)
        throw new DamagedBackupError(
          `${MANIFEST_FILE} is too large (${size} bytes, the most a backup writes is ${MAX_MANIFEST_BYTES}): not a manifest a backup wrote`,
        );
      text = await readPrefix(handle, size);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new DamagedBackupError(
        `${MANIFEST_FILE} is missing in ${dir}: not a backup, or one that never finished`,
      );
    if (error instanceof NotARegularFileError)
      throw new DamagedBackupError(
        `${MANIFEST_FILE} is ${error.found}, not a regular file: not something a backup writes`,
      );
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DamagedBackupError(`${MANIFEST_FILE} is not valid JSON (truncated or edited)`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== BACKUP_FORMAT)
    throw new DamagedBackupError(
      `${MANIFEST_FILE} has format ${describeFormat(format)}; this Registro reads ${BACKUP_FORMAT}`,
    );
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new DamagedBackupError(`${MANIFEST_FILE} is malformed: ${problems}`);
  }
  const { checksum, ...content } = parsed.data;
  if (checksumOf(content) !== checksum)
    throw new DamagedBackupError(
      `${MANIFEST_FILE} does not match its checksum: it was edited after the backup was written`,
    );
  return parsed.data;
}

export const blobFile = (sha256: string) => `${BLOBS_DIR}/${sha256}`;
