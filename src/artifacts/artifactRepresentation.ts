// The one representation of an artifact outside GraphQL. What the artifact routes answer (PUT,
// healing) uses exactly the field names and shapes of the GraphQL `Artifact` type, enums as their
// GraphQL values and dates as DateTime strings, so a client reads an artifact the same way whichever
// way it arrived; `model` and `version` say whose artifact it is. A test compares the two field by
// field, so they cannot drift apart.
import type { ArtifactRole } from "../domain/artifacts.ts";
import { knownFormat } from "../inspection/types.ts";
import type { ArtifactRecord } from "./artifactService.ts";
import { artifactIntegrity } from "./blobIntegrity.ts";
import type { BlobStore } from "./blobStore.ts";
import { artifactUrl } from "./downloadUrl.ts";

export async function artifactRepresentation(artifact: ArtifactRecord, blobs: BlobStore) {
  const inspection = artifact.inspection;
  return {
    model: artifact.modelName,
    version: artifact.version,
    path: artifact.path,
    // The GraphQL enum's value names: MODEL, TOKENIZER, …
    role: artifact.role.toUpperCase() as Uppercase<ArtifactRole>,
    size: artifact.size,
    sha256: artifact.sha256,
    mediaType: artifact.mediaType,
    integrity: await artifactIntegrity(blobs, { sha256: artifact.sha256, size: artifact.size }),
    createdAt: artifact.createdAt.toISOString(),
    createdBy: artifact.createdBy,
    downloadUrl: artifactUrl(artifact.modelName, artifact.version, artifact.path),
    // With inspection switched off every inspection field is null (verdict null: never inspected).
    format: knownFormat(inspection?.format ?? null),
    formatVersion: inspection?.formatVersion ?? null,
    producer:
      inspection?.producer == null
        ? null
        : { framework: inspection.producer.framework ?? null, version: inspection.producer.version ?? null },
    metadata: inspection?.metadata ?? null,
    verdict: inspection?.verdict ?? null,
    findings: (inspection?.findings ?? []).map((f) => ({
      severity: f.severity,
      message: f.message,
      location: f.location ?? null,
    })),
    inspectedAt: inspection?.inspectedAt.toISOString() ?? null,
  };
}
