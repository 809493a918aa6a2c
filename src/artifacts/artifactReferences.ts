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
      where: { type: "ModelVersionArtifactAdded", position: { gt: after } },
      orderBy: { position: "asc" },
      take: PAGE_SIZE,
      select: { position: true, streamId: true, type: true, schemaVersion: true, data: true },
    });
    for (const row of rows) {
      const event = parseRegisteredModelEvent(row.type, row.schemaVersion, row.data);
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
