// The manifest of a backup folder (docs/backup.md describes the format). Written last, so its
// presence means the rest was complete; it records the size and sha256 of every other file and the
// head of every stream, so a truncated, edited or partly copied backup is refused by `restore`.
// Its own `checksum` (sha256 of its canonical JSON without that field) catches an edited manifest;
// it is no defence against someone who rewrites the whole folder, which is why `backup` prints the
// manifest's sha256 for keeping elsewhere.
import { createHash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
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

/** Reads and checks a backup's manifest: present, well-formed, of a known format, unedited. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    // Never followed or read if it is a symlink, device or FIFO (/dev/zero would never end).
    const { handle } = await openRegularFile(file);
    try {
      text = await handle.readFile("utf8");
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
      `${MANIFEST_FILE} has format ${JSON.stringify(format)}; this Registro reads ${BACKUP_FORMAT}`,
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
