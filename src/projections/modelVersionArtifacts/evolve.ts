// Read model: the artifacts (files) of one model version, in the order they were added. Pure; never
// throws; rebuildable from the log. An artifact's bytes are immutable once added; only its latest
// inspection (format, verdict, findings) is replaced, by each ModelVersionArtifactInspected.
import type { ArtifactRole } from "../../domain/artifacts.ts";
import type { ArtifactInspection } from "../../domain/inspection.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";

export interface ArtifactView {
  /** The version, by its model and number. */
  readonly modelId: string;
  readonly version: number;
  readonly path: string;
  readonly role: ArtifactRole;
  readonly size: number;
  readonly sha256: string;
  readonly mediaType: string;
  readonly createdAt: Date;
  readonly createdBy: string;
  /** The latest inspection of the artifact's bytes, or null before it was inspected. */
  readonly inspection: (ArtifactInspection & { readonly inspectedAt: Date }) | null;
}

/** Applies an event to the artifact list of version `version`; unrelated events return the same list. */
export function evolveVersionArtifacts(
  version: number,
  artifacts: readonly ArtifactView[],
  event: RecordedEvent,
): readonly ArtifactView[] {
  if (event.type === "ModelVersionArtifactInspected" && event.data.version === version) {
    const { path, sha256, format, formatVersion, producer, metadata, verdict, findings } = event.data;
    const index = artifacts.findIndex((a) => a.path === path && a.sha256 === sha256);
    // An inspection of bytes the artifact does not hold (a damaged log) changes nothing.
    if (index < 0) return artifacts;
    const inspected: ArtifactView = {
      ...artifacts[index]!,
      inspection: {
        format,
        formatVersion,
        producer,
        metadata,
        verdict,
        findings,
        inspectedAt: event.occurredAt,
      },
    };
    return artifacts.map((a, i) => (i === index ? inspected : a));
  }
  if (event.type !== "ModelVersionArtifactAdded" || event.data.version !== version) return artifacts;
  const { path, role, size, sha256, mediaType } = event.data;
  // The decider refuses duplicates; a replay of a damaged log keeps the first one instead of throwing.
  if (artifacts.some((a) => a.path === path)) return artifacts;
  return [
    ...artifacts,
    {
      modelId: event.streamId,
      version,
      path,
      role,
      size,
      sha256,
      mediaType,
      createdAt: event.occurredAt,
      createdBy: event.actor.displayName,
      inspection: null,
    },
  ];
}

/** The inspection columns of an artifact row as a view (null until the artifact was inspected). */
export function inspectionFromRow(row: {
  format: string | null;
  formatVersion: string | null;
  producer: unknown;
  metadata: unknown;
  verdict: string | null;
  findings: unknown;
  inspectedAt: Date | null;
}): ArtifactView["inspection"] {
  if (row.format === null || row.verdict === null || row.inspectedAt === null) return null;
  return {
    format: row.format,
    formatVersion: row.formatVersion,
    producer: (row.producer ?? null) as ArtifactInspection["producer"],
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    verdict: row.verdict as ArtifactInspection["verdict"],
    findings: (row.findings ?? []) as ArtifactInspection["findings"],
    inspectedAt: row.inspectedAt,
  };
}
