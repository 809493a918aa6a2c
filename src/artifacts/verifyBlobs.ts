// `npm run verify`: re-hashes every stored blob and checks that every artifact the log references
// is present with the recorded size. Anything wrong makes the command exit non-zero.
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Db } from "../db/database.ts";
import { referencedBlobs } from "./artifactReferences.ts";
import type { ArtifactReference } from "./artifactReferences.ts";
import type { BlobStore } from "./blobStore.ts";

export interface VerifyReport {
  readonly blobsChecked: number;
  readonly bytesChecked: number;
  /** Blobs whose content no longer hashes to their name. */
  readonly corrupt: { sha256: string; actual: string; size: number }[];
  /** Referenced blobs that are absent, with who references them. */
  readonly missing: { sha256: string; references: ArtifactReference[] }[];
  /** Referenced blobs whose size differs from the recorded one. */
  readonly sizeMismatch: {
    sha256: string;
    expected: number;
    actual: number;
    references: ArtifactReference[];
  }[];
  readonly ok: boolean;
}

async function hashOf(blobs: BlobStore, sha256: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(await blobs.open(sha256), hash);
  return hash.digest("hex");
}

export async function verifyBlobs(
  db: Db,
  blobs: BlobStore,
  progress?: (sha256: string) => void,
): Promise<VerifyReport> {
  const references = await referencedBlobs(db);
  const corrupt: VerifyReport["corrupt"] = [];
  const sizeMismatch: VerifyReport["sizeMismatch"] = [];
  const present = new Set<string>();
  let blobsChecked = 0;
  let bytesChecked = 0;
  for await (const blob of blobs.list()) {
    present.add(blob.sha256);
    progress?.(blob.sha256);
    const actual = await hashOf(blobs, blob.sha256);
    blobsChecked++;
    bytesChecked += blob.size;
    if (actual !== blob.sha256) corrupt.push({ sha256: blob.sha256, actual, size: blob.size });
    const refs = references.get(blob.sha256);
    const expected = refs?.[0]?.size;
    if (refs && expected !== undefined && expected !== blob.size)
      sizeMismatch.push({ sha256: blob.sha256, expected, actual: blob.size, references: refs });
  }
  const missing = [...references]
    .filter(([sha256]) => !present.has(sha256))
    .map(([sha256, refs]) => ({ sha256, references: refs }));
  return {
    blobsChecked,
    bytesChecked,
    corrupt,
    missing,
    sizeMismatch,
    ok: corrupt.length === 0 && missing.length === 0 && sizeMismatch.length === 0,
  };
}

const describe = (r: ArtifactReference) => `stream ${r.streamId} v${r.version} ${r.path}`;

export function formatVerifyReport(report: VerifyReport): string[] {
  const lines: string[] = [];
  for (const c of report.corrupt)
    lines.push(`CORRUPT ${c.sha256}: content hashes to ${c.actual} (${c.size} bytes)`);
  for (const m of report.sizeMismatch)
    lines.push(
      `CORRUPT ${m.sha256}: ${m.actual} bytes stored, ${m.expected} recorded (${m.references.map(describe).join("; ")})`,
    );
  for (const m of report.missing)
    lines.push(`MISSING ${m.sha256}: referenced by ${m.references.map(describe).join("; ")}`);
  lines.push(
    `${report.ok ? "OK" : "FAILED"}: ${report.blobsChecked} blobs (${report.bytesChecked} bytes) re-hashed; ` +
      `${report.corrupt.length + report.sizeMismatch.length} corrupt, ${report.missing.length} missing`,
  );
  return lines;
}
