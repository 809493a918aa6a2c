// The typed-error part of a mutation's selection, built from the mutation's result union: a shared
// selection must not name an error the mutation cannot return (GraphQL refuses such a fragment).
import { getNamedType, isUnionType } from "graphql";
import { schema } from "../../src/graphql/schema.ts";

/** The fields tests read from each error type. */
const ERROR_FIELDS: Readonly<Record<string, string>> = {
  ValidationError: "field",
  ConcurrencyError: "expectedRevision actualRevision",
  NotFoundError: "resource key",
  AlreadyExistsError: "resource key",
  PermissionDeniedError: "operation needed",
  UnsafeArtifactError: "version action total artifacts { path verdict }",
  ArtifactDigestMismatchError: "expected actual",
  IntegrityError: "revision reason",
  ApprovalRequiredError: "requiredApprovals target { kind stage alias }",
  ReviewerNotEligibleError: "requestId ineligibility",
  ActiveDeploymentError: "version environments",
};

/** The errors a mutation's union holds, by type name. */
export function mutationErrorTypes(mutation: string): string[] {
  const field = schema.getMutationType()?.getFields()[mutation];
  const result = field && getNamedType(field.type);
  if (!result || !isUnionType(result)) throw new Error(`${mutation} does not return a union`);
  return result
    .getTypes()
    .filter((t) => t.getInterfaces().some((i) => i.name === "Error"))
    .map((t) => t.name);
}

/** `__typename`, `code message`, and the fields of each error this mutation can return. */
export function errorSelection(mutation: string): string {
  return [
    "__typename ... on Error { code message }",
    ...mutationErrorTypes(mutation)
      .filter((name) => ERROR_FIELDS[name] !== undefined)
      .map((name) => `... on ${name} { ${ERROR_FIELDS[name]} }`),
  ].join(" ");
}

/** The payload type of a mutation's union (the member that is not an error). */
export function payloadType(mutation: string): string {
  const field = schema.getMutationType()?.getFields()[mutation];
  const result = field && getNamedType(field.type);
  if (!result || !isUnionType(result)) throw new Error(`${mutation} does not return a union`);
  const payload = result.getTypes().find((t) => !t.getInterfaces().some((i) => i.name === "Error"));
  if (!payload) throw new Error(`${mutation} has no payload type`);
  return payload.name;
}
