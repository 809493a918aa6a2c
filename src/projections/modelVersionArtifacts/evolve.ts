// Read model: the artifacts (files) of one model version, in the order they were added. Pure; never
// throws; rebuildable from the log. Artifacts are immutable once added, so the view only grows.
import type { ArtifactRole } from "../../domain/artifacts.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { modelVersionId } from "../modelVersions/evolve.ts";

export interface ArtifactView {
  readonly versionId: string;
  readonly path: string;
  readonly role: ArtifactRole;
  readonly size: number;
  readonly sha256: string;
  readonly mediaType: string;
  readonly createdAt: Date;
  readonly createdBy: string;
}

/** Applies an event to the artifact list of version `version`; unrelated events return the same list. */
export function evolveVersionArtifacts(
  version: number,
  artifacts: readonly ArtifactView[],
  event: RecordedEvent,
): readonly ArtifactView[] {
  if (event.type !== "ModelVersionArtifactAdded" || event.data.version !== version) return artifacts;
  const { path, role, size, sha256, mediaType } = event.data;
  // The decider refuses duplicates; a replay of a damaged log keeps the first one instead of throwing.
  if (artifacts.some((a) => a.path === path)) return artifacts;
  return [
    ...artifacts,
    {
      versionId: modelVersionId(event.streamId, version),
      path,
      role,
      size,
      sha256,
      mediaType,
      createdAt: event.occurredAt,
      createdBy: event.actor,
    },
  ];
}
