// Read model: one row per (model, environment, version) that was ever deployed (table
// model_version_deployments): the latest deployment of that pair, active or retired. Pure; never
// throws; rebuildable from the log. Earlier deployments of the same pair are in the event log (model
// history and `registeredModelAsOf` read them there).
import type { EventActor } from "../../access/actor.ts";
import { deploymentKey } from "../domain/state.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";

export interface DeploymentView {
  readonly modelId: string;
  readonly environment: string;
  readonly version: number;
  readonly endpoint: string;
  readonly description: string | null;
  readonly active: boolean;
  /** When the current (or last) deployment was recorded: a changed endpoint moves it. */
  readonly deployedAt: Date;
  readonly deployedBy: EventActor;
  readonly retiredAt: Date | null;
  readonly retiredBy: EventActor | null;
  readonly retireReason: string | null;
  /** Revision of the model stream's event that last changed the row. */
  readonly revision: number;
}

/** The deployment key (see deploymentKey) an event is about, or null for events of anything else. */
export const deploymentTouchedBy = (event: RecordedEvent): string | null =>
  event.type === "ModelVersionDeployed" || event.type === "ModelVersionDeploymentRetired"
    ? deploymentKey(event.data.environment, event.data.version)
    : null;

export function evolveDeploymentView(
  view: DeploymentView | null,
  event: RecordedEvent,
): DeploymentView | null {
  switch (event.type) {
    case "ModelVersionDeployed":
      return {
        modelId: event.streamId,
        environment: event.data.environment,
        version: event.data.version,
        endpoint: event.data.endpoint,
        description: event.data.description,
        active: true,
        deployedAt: event.occurredAt,
        deployedBy: event.actor,
        retiredAt: null,
        retiredBy: null,
        retireReason: null,
        revision: event.revision,
      };
    case "ModelVersionDeploymentRetired":
      // A retirement of a pair the view has never seen cannot be applied; the view stays as it is.
      if (view === null || view.environment !== event.data.environment || view.version !== event.data.version)
        return view;
      return {
        ...view,
        active: false,
        retiredAt: event.occurredAt,
        retiredBy: event.actor,
        retireReason: event.data.reason,
        revision: event.revision,
      };
    default:
      return view;
  }
}
