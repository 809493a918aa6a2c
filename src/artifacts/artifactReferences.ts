// Every artifact the log has ever recorded. Versions and models are restorable after deletion, so a
// blob stays referenced for as long as any ModelVersionArtifactAdded event names it: the log, not
// the projection, is what garbage collection and verification trust.
import type { Db } from "../db/database.ts";
import { parseRegisteredModelEvent } from "../domain/registeredModel/eventSchemas.ts";

export interface ArtifactReference {
  readonly position: number;
  readonly streamId: string;
  readonly version: number;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

const PAGE_SIZE = 1000;

export async function* artifactReferences(db: Db, afterPosition = 0): AsyncGenerator<ArtifactReference> {
  let after = afterPosition;
  for (;;) {
    const rows = await db.event.findMany({
      where: { eventType: { name: "ModelVersionArtifactAdded" }, position: { gt: after } },
      orderBy: { position: "asc" },
      take: PAGE_SIZE,
      select: {
        position: true,
        streamId: true,
        eventType: { select: { name: true } },
        schemaVersion: true,
        data: true,
      },
    });
    for (const row of rows) {
      const event = parseRegisteredModelEvent(row.eventType.name, row.schemaVersion, row.data);
      if (event.type !== "ModelVersionArtifactAdded") continue;
      const { version, path, sha256, size } = event.data;
      yield { position: row.position, streamId: row.streamId, version, path, sha256, size };
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE_SIZE) return;
    after = last.position;
  }
}

/** Referenced digests, each with the references (for reports). */
export async function referencedBlobs(db: Db, afterPosition = 0): Promise<Map<string, ArtifactReference[]>> {
  const byDigest = new Map<string, ArtifactReference[]>();
  for await (const reference of artifactReferences(db, afterPosition)) {
    const list = byDigest.get(reference.sha256);
    if (list) list.push(reference);
    else byDigest.set(reference.sha256, [reference]);
  }
  return byDigest;
}

/** A file of MLflow's artifact proxy staging area (src/mlflow/stagedFiles.ts) naming a blob. */
export interface StagedReference {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Blobs the staging area of MLflow's artifact proxy names. They are in no event (the files are not
 * registered yet, maybe never), yet they are uploads someone wants kept: gc, migration, verify and
 * backups treat them as referenced, exactly like the log's artifacts.
 */
export async function stagedBlobs(db: Db): Promise<Map<string, StagedReference[]>> {
  const byDigest = new Map<string, StagedReference[]>();
  let after: string | null = null;
  for (;;) {
    const rows: { path: string; sha256: string; size: bigint }[] = await db.mlflowArtifactFile.findMany({
      ...(after === null ? {} : { where: { path: { gt: after } } }),
      orderBy: { path: "asc" },
      take: PAGE_SIZE,
      select: { path: true, sha256: true, size: true },
    });
    for (const row of rows) {
      const reference = { path: row.path, sha256: row.sha256, size: Number(row.size) };
      const list = byDigest.get(row.sha256);
      if (list) list.push(reference);
      else byDigest.set(row.sha256, [reference]);
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE_SIZE) return byDigest;
    after = last.path;
  }
}
