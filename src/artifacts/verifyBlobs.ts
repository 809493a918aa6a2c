// `npm run verify`: re-hashes every stored blob and checks that every artifact the log references,
// and every file of MLflow's artifact proxy staging area, is present with the recorded size. Anything wrong makes the command exit non-zero. What it finds
// is also recorded in the blob store, as downloads do: damaged blobs are refused by every server
// sharing the store, and blobs found sound again are served again.
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Db } from "../db/database.ts";
import { referencedBlobs, stagedBlobs } from "./artifactReferences.ts";
import type { ArtifactReference } from "./artifactReferences.ts";
import type { BlobInfo, BlobStore } from "./blobStore.ts";

/** An artifact that uses a blob, named as people know it. */
export interface NamedReference extends ArtifactReference {
  /** The model's current name; null if the log names a model the projection does not know. */
  readonly model: string | null;
  readonly modelDeleted: boolean;
}

export interface VerifyReport {
  readonly blobsChecked: number;
  readonly bytesChecked: number;
  /** Blobs whose content no longer hashes to their name, with the artifacts that use them. */
  readonly corrupt: {
    sha256: string;
    actual: string;
    size: number;
    references: NamedReference[];
    stagedPaths: string[];
  }[];
  /** Referenced blobs that are absent, with who references them. */
  readonly missing: { sha256: string; references: NamedReference[]; stagedPaths: string[] }[];
  /** Referenced blobs whose size differs from the recorded one. */
  readonly sizeMismatch: {
    sha256: string;
    expected: number;
    actual: number;
    references: NamedReference[];
    /** Files of MLflow's artifact proxy staging area with these bytes. */
    stagedPaths: string[];
  }[];
  /** Blobs recorded as damaged (by a download or an earlier run) that are sound now. */
  readonly cleared: string[];
  /** Findings that could not be recorded in the blob store (e.g. no write permission). */
  readonly warnings: string[];
  readonly ok: boolean;
}

async function hashOf(blobs: BlobStore, sha256: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(await blobs.open(sha256), hash);
  return hash.digest("hex");
}

/** Adds the models' current names to references (only the few of a report: one query). */
async function named(db: Db, references: readonly ArtifactReference[]): Promise<NamedReference[]> {
  const ids = [...new Set(references.map((r) => r.streamId))];
  const models =
    ids.length === 0
      ? []
      : await db.registeredModel.findMany({
          where: { id: { in: ids } },
          select: { id: true, name: true, deleted: true },
        });
  const byId = new Map(models.map((m) => [m.id, m]));
  return references.map((r) => ({
    ...r,
    model: byId.get(r.streamId)?.name ?? null,
    modelDeleted: byId.get(r.streamId)?.deleted ?? false,
  }));
}

export async function verifyBlobs(
  db: Db,
  blobs: BlobStore,
  progress?: (sha256: string) => void,
): Promise<VerifyReport> {
  const references = await referencedBlobs(db);
  const staged = await stagedBlobs(db);
  const corrupt: { sha256: string; actual: string; size: number }[] = [];
  const sizeMismatch: { sha256: string; expected: number; actual: number }[] = [];
  const cleared: string[] = [];
  const warnings: string[] = [];
  const present = new Set<string>();
  let blobsChecked = 0;
  let bytesChecked = 0;
  // The report matters more than the record: a store this run may not write to still gets checked.
  const record = (blob: BlobInfo, actual: string) =>
    blobs
      .recordDamage(
        blob.sha256,
        { actual, size: blob.size, detectedAt: new Date(), detectedBy: "verify" },
        blob,
      )
      .catch((error: unknown) => {
        warnings.push(`could not record the damage of ${blob.sha256}: ${(error as Error).message}`);
      });
  const clear = (blob: BlobInfo) =>
    blobs.clearDamage(blob.sha256).catch((error: unknown) => {
      warnings.push(`could not clear the recorded damage of ${blob.sha256}: ${(error as Error).message}`);
      return false;
    });
  for await (const blob of blobs.list()) {
    present.add(blob.sha256);
    progress?.(blob.sha256);
    const actual = await hashOf(blobs, blob.sha256);
    blobsChecked++;
    bytesChecked += blob.size;
    const expected = (references.get(blob.sha256) ?? staged.get(blob.sha256))?.[0]?.size;
    const wrongSize = expected !== undefined && expected !== blob.size;
    if (actual !== blob.sha256) corrupt.push({ sha256: blob.sha256, actual, size: blob.size });
    if (wrongSize) sizeMismatch.push({ sha256: blob.sha256, expected, actual: blob.size });
    if (actual !== blob.sha256 || wrongSize) await record(blob, actual);
    else if (await clear(blob)) cleared.push(blob.sha256);
  }
  const refsOf = async (sha256: string) => ({
    references: await named(db, references.get(sha256) ?? []),
    stagedPaths: (staged.get(sha256) ?? []).map((r) => r.path),
  });
  const missing = [...new Set([...references.keys(), ...staged.keys()])].filter(
    (sha256) => !present.has(sha256),
  );
  return {
    blobsChecked,
    bytesChecked,
    corrupt: await Promise.all(corrupt.map(async (c) => ({ ...c, ...(await refsOf(c.sha256)) }))),
    missing: await Promise.all(missing.map(async (sha256) => ({ sha256, ...(await refsOf(sha256)) }))),
    sizeMismatch: await Promise.all(sizeMismatch.map(async (m) => ({ ...m, ...(await refsOf(m.sha256)) }))),
    cleared,
    warnings,
    ok: corrupt.length === 0 && missing.length === 0 && sizeMismatch.length === 0,
  };
}

const describeReference = (r: NamedReference) =>
  `${r.model === null ? `model stream ${r.streamId}` : JSON.stringify(r.model)}${r.modelDeleted ? " (deleted)" : ""} v${r.version} ${r.path}`;

const usedBy = ({
  references,
  stagedPaths,
}: {
  references: readonly NamedReference[];
  stagedPaths: readonly string[];
}) =>
  references.length === 0 && stagedPaths.length === 0
    ? "not used by any artifact"
    : `used by ${[...references.map(describeReference), ...stagedPaths.map((p) => `MLflow artifact proxy file ${JSON.stringify(p)}`)].join("; ")}`;

export function formatVerifyReport(report: VerifyReport): string[] {
  const lines: string[] = [];
  for (const c of report.corrupt)
    lines.push(`CORRUPT ${c.sha256}: content hashes to ${c.actual} (${c.size} bytes); ${usedBy(c)}`);
  for (const m of report.sizeMismatch)
    lines.push(`CORRUPT ${m.sha256}: ${m.actual} bytes stored, ${m.expected} recorded; ${usedBy(m)}`);
  for (const m of report.missing) lines.push(`MISSING ${m.sha256}: ${usedBy(m)}`);
  for (const sha256 of report.cleared) lines.push(`HEALED ${sha256}: recorded as damaged, sound now`);
  for (const warning of report.warnings) lines.push(`WARNING ${warning}`);
  if (!report.ok)
    lines.push(
      "To repair, upload the identical file again to one of the artifacts named above " +
        "(PUT /artifacts/{model}/{version}/{path}); it replaces the damaged copy.",
    );
  const damaged = new Set([...report.corrupt, ...report.sizeMismatch].map((d) => d.sha256)).size;
  lines.push(
    `${report.ok ? "OK" : "FAILED"}: ${report.blobsChecked} blobs (${report.bytesChecked} bytes) re-hashed; ` +
      `${damaged} corrupt, ${report.missing.length} missing`,
  );
  return lines;
}
