// Events of deployments: a serving system recording that one of its environments serves a model
// version at an endpoint, and that it stopped. They are events of the model's own stream (what served
// where, and since when, is part of the model's history: "what was deployed in prod-eu on 3 March?"
// is answered by folding the stream), so their types join the model stream's union in
// src/domain/registeredModel/events.ts. A deployment is keyed by (environment, version): one
// environment may serve several versions at once (a canary next to the stable version).

interface Event<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

/**
 * `environment` serves `version` at `endpoint` from now on: a new deployment, or an active one whose
 * endpoint or description changed (the whole new record, so each event reads on its own).
 */
export type ModelVersionDeployed = Event<
  "ModelVersionDeployed",
  { version: number; environment: string; endpoint: string; description: string | null }
>;

/** `environment` no longer serves `version`. */
export type ModelVersionDeploymentRetired = Event<
  "ModelVersionDeploymentRetired",
  { version: number; environment: string; reason: string | null }
>;

export type ModelVersionDeploymentEvent = ModelVersionDeployed | ModelVersionDeploymentRetired;

export const DEPLOYMENT_EVENT_SCHEMA_VERSIONS = {
  ModelVersionDeployed: 1,
  ModelVersionDeploymentRetired: 1,
} as const;
