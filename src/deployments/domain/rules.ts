// Rules of deployments: record one, retire one, and what deletion must respect. Who may (EDIT on the
// model) is decided with the model's other permissions in src/access/modelAccess.ts before these run.
//
// A deployment is what a serving system reports, keyed by (environment, version), so one environment
// may serve several versions at once (a canary). Recording what is already recorded changes nothing;
// a changed endpoint or description is a new event. Only READY versions that are not deleted can be
// deployed: a pending version's artifacts are incomplete and a failed one has none to serve. The
// artifact safety gate is not applied here: it guards promotion (Production, aliases), which is what
// serving systems should deploy from; a deployment record is an observation, and refusing it would
// only hide from history what actually serves traffic.
import { DomainError, InvalidStateError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import { onLiveModel } from "../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../domain/registeredModel/rules/commandRule.ts";
import { liveVersion } from "../../domain/registeredModel/rules/liveVersion.ts";
import { LIMITS, checkText, checkVersionNumber, parseHttpUrl } from "../../domain/validation.ts";
import type { RecordModelVersionDeployment, RetireModelVersionDeployment } from "./commands.ts";
import { activeDeploymentCount, deploymentKey } from "./state.ts";

export const DEPLOYMENT_LIMITS = {
  environmentMaxLength: 64,
  endpointMaxLength: 2048,
  /** Active deployments per model: bounds the decision state a deployment command loads. */
  maxActivePerModel: 100,
} as const;

// Anchored, one character class, no nested quantifier: linear on any input (and the length is
// checked first anyway). No `@`: it separates environment and version in deployment keys.
const ENVIRONMENT_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** An environment name: lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit. */
export function checkEnvironment(field: string, environment: string): ValidationError | null {
  if (environment.length < 1 || environment.length > DEPLOYMENT_LIMITS.environmentMaxLength)
    return new ValidationError(field, `must be 1 to ${DEPLOYMENT_LIMITS.environmentMaxLength} characters`);
  if (!ENVIRONMENT_PATTERN.test(environment))
    return new ValidationError(
      field,
      "must be lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. prod-eu)",
    );
  return null;
}

/**
 * Where the environment serves the version: an absolute http(s) URL with a host, without
 * credentials (the log keeps it forever) or whitespace, stored exactly as given.
 */
export function checkEndpoint(field: string, endpoint: string): ValidationError | null {
  const text = checkText(field, endpoint, DEPLOYMENT_LIMITS.endpointMaxLength, true);
  if (text) return text;
  const parsed = parseHttpUrl(field, endpoint);
  return parsed instanceof ValidationError ? parsed : null;
}

const checkNote = (field: string, note: string | null): ValidationError | null =>
  note === null ? null : checkText(field, note, LIMITS.commentMaxLength, false);

export const recordModelVersionDeployment: CommandRule<RecordModelVersionDeployment> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const { version, environment, endpoint, description } = command.data;
    const invalid =
      checkEnvironment("environment", environment) ??
      checkEndpoint("endpoint", endpoint) ??
      checkNote("description", description);
    if (invalid) return invalid;
    const target = liveVersion(state, version);
    if (target instanceof DomainError) return target;
    if (target.status !== "READY")
      return new InvalidStateError(
        `version ${version} of ${state.name} is ${target.status}: only READY versions can be deployed`,
      );
    const key = deploymentKey(environment, version);
    const current = Object.hasOwn(state.deployments, key) ? state.deployments[key] : undefined;
    const active = current?.active === true ? current : undefined;
    if (active?.endpoint === endpoint && active.description === description) return [];
    if (
      active === undefined &&
      activeDeploymentCount(state.deployments) >= DEPLOYMENT_LIMITS.maxActivePerModel
    )
      return new InvalidStateError(
        `${state.name} already has ${DEPLOYMENT_LIMITS.maxActivePerModel} active deployments, the most a model may have; retire one first`,
      );
    return [{ type: "ModelVersionDeployed", data: { version, environment, endpoint, description } }];
  },
});

export const retireModelVersionDeployment: CommandRule<RetireModelVersionDeployment> = onLiveModel({
  errors: [ValidationError, NotFoundError],
  decide(command, state) {
    const { version, environment, reason } = command.data;
    const invalid =
      checkVersionNumber("version", version) ??
      checkEnvironment("environment", environment) ??
      checkNote("reason", reason);
    if (invalid) return invalid;
    // A pair never deployed is a mistake the serving system should see; one already retired is
    // this retirement run again (a retry after a lost answer), which changes nothing.
    const key = deploymentKey(environment, version);
    const current = Object.hasOwn(state.deployments, key) ? state.deployments[key] : undefined;
    if (current === undefined)
      return new NotFoundError("Deployment", `${state.name} v${version} in ${environment}`);
    if (!current.active) return [];
    return [{ type: "ModelVersionDeploymentRetired", data: { version, environment, reason } }];
  },
});
