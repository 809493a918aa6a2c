// What the deployment rules need to know: the model's deployments by (environment, version). A folded
// stream holds every pair ever deployed (retired ones marked inactive, so a retried retirement is
// recognised); a command loads every active one from the projection (the per-model bound keeps them
// few) plus the pair it names, which is all the rules look at.
import type { ModelVersionDeploymentEvent } from "./events.ts";

export interface DeploymentState {
  readonly version: number;
  readonly environment: string;
  readonly endpoint: string;
  readonly description: string | null;
  /** False once retired. */
  readonly active: boolean;
}

/** Deployments by deploymentKey (see the header for which a state holds). */
export type Deployments = Readonly<Record<string, DeploymentState>>;

/**
 * The key of an (environment, version) pair. `@` is not allowed in environment names, so the key is
 * unambiguous; it is a plain string so that a folded state stays JSON (model snapshots store it).
 */
export const deploymentKey = (environment: string, version: number): string => `${environment}@${version}`;

export function evolveDeployments(deployments: Deployments, event: ModelVersionDeploymentEvent): Deployments {
  const { version, environment } = event.data;
  const key = deploymentKey(environment, version);
  switch (event.type) {
    case "ModelVersionDeployed":
      return {
        ...deployments,
        [key]: {
          version,
          environment,
          endpoint: event.data.endpoint,
          description: event.data.description,
          active: true,
        },
      };
    case "ModelVersionDeploymentRetired": {
      const current = Object.hasOwn(deployments, key) ? deployments[key] : undefined;
      return current ? { ...deployments, [key]: { ...current, active: false } } : deployments;
    }
  }
}

/** The environments serving `version`, sorted (for the errors that name them). */
export const environmentsServing = (deployments: Deployments, version: number | null): string[] =>
  [
    ...new Set(
      Object.values(deployments)
        .filter((d) => d.active && (version === null || d.version === version))
        .map((d) => d.environment),
    ),
  ].sort();

export const activeDeploymentCount = (deployments: Deployments): number =>
  Object.values(deployments).filter((d) => d.active).length;
