// Expected failures of the deployment rules, exposed as typed GraphQL errors.
import { DomainError } from "../../domain/errors.ts";

/**
 * A version (or a model) that environments still serve cannot be deleted: the registry would then
 * hide what production runs. Retire the deployments (retireModelVersionDeployment) first.
 */
export class ActiveDeploymentError extends DomainError {
  readonly code = "ACTIVE_DEPLOYMENT";
  constructor(
    /** The version refused; null when the whole model was. */
    readonly version: number | null,
    /** The environments still serving it, sorted. */
    readonly environments: readonly string[],
  ) {
    const what = version === null ? "the model" : `version ${version}`;
    super(
      `${what} is still deployed in ${environments.join(", ")}; retire ${environments.length === 1 ? "that deployment" : "those deployments"} first`,
    );
    this.name = "ActiveDeploymentError";
  }
}
