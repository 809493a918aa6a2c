// Read model: the current view of one model version. Pure; never throws; rebuildable from the log.
import type { VersionSignature } from "../../domain/inspection.ts";
import type { Metrics, Params, Stage, Tags, VersionStatus } from "../../domain/registeredModel/events.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { modelVersionId } from "./versionId.ts";

export interface ModelVersionView {
  readonly id: string;
  readonly modelId: string;
  readonly version: number;
  readonly stage: Stage;
  readonly status: VersionStatus;
  readonly source: string;
  readonly runId: string | null;
  readonly description: string;
  readonly params: Params;
  readonly metrics: Metrics;
  readonly deleted: boolean;
  readonly deletedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Display name of who registered it, as it was then. */
  readonly createdBy: string;
  readonly tags: Tags;
  /** Named inputs and outputs, set explicitly (USER) or extracted from an inspected artifact (INSPECTION). */
  readonly signature: VersionSignature | null;
  /**
   * The revision of the ModelVersionCreated event, on a view built from it. The row's integer key
   * is that event's global position, which the projection writer looks up by this revision (the
   * position is given by the insert). Not stored: a view read back from its row needs no key.
   */
  readonly createdRevision?: number;
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function fields(view: ModelVersionView, event: RecordedEvent): Partial<ModelVersionView> | null {
  if (event.type === "ModelVersionStageTransitioned") {
    if (event.data.version === view.version) return { stage: event.data.to };
    return event.data.archived.some((a) => a.version === view.version) ? { stage: "Archived" } : null;
  }
  if (!("version" in event.data) || event.data.version !== view.version) return null;
  switch (event.type) {
    case "ModelVersionDescriptionUpdated":
      return { description: event.data.description };
    case "ModelVersionTagSet":
      return { tags: { ...view.tags, [event.data.key]: event.data.value } };
    case "ModelVersionTagDeleted":
      return { tags: without(view.tags, event.data.key) };
    case "ModelVersionMetricsLogged":
      return { metrics: { ...view.metrics, ...event.data.metrics } };
    case "ModelVersionDeleted":
      return { deleted: true, deletedAt: event.occurredAt };
    case "ModelVersionRestored":
      return { deleted: false, deletedAt: null };
    case "ModelVersionArtifactAdded":
    case "ModelVersionArtifactInspected":
      return {};
    case "ModelVersionSignatureSet":
      return { signature: { ...event.data.signature, source: event.data.source, path: event.data.path } };
    case "ModelVersionFinalized":
      return { status: "READY" };
    case "ModelVersionRegistrationFailed":
      return { status: "FAILED_REGISTRATION" };
    default:
      return null;
  }
}

/** Applies an event to the view of version `view.version` (or creates it); unrelated events leave it unchanged. */
export function evolveModelVersionView(
  view: ModelVersionView | null,
  event: RecordedEvent,
): ModelVersionView | null {
  if (event.type === "ModelVersionCreated") {
    if (view !== null) return view;
    const { version, source, runId, description, tags, params, metrics, status } = event.data;
    return {
      id: modelVersionId(event.streamId, version),
      modelId: event.streamId,
      version,
      stage: "None",
      status,
      source,
      runId,
      description,
      params,
      metrics,
      deleted: false,
      deletedAt: null,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt,
      createdBy: event.actor.displayName,
      tags,
      signature: null,
      createdRevision: event.revision,
    };
  }
  if (view === null) return null;
  const changed = fields(view, event);
  return changed === null ? view : { ...view, ...changed, updatedAt: event.occurredAt };
}
