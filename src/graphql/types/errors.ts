// Expected failures as GraphQL types. Every mutation's result is a union of its payload and the
// errors it can return, all implementing `Error`, so clients branch on __typename. Anything else
// stays masked by Yoga.
import { commandErrors } from "../../application/executeCommand.ts";
import type { DomainError, ErrorClass } from "../../domain/errors.ts";
import {
  AlreadyExistsError,
  ConcurrencyError,
  IntegrityError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  UnsafeArtifactError,
  ValidationError,
} from "../../domain/errors.ts";
import type { RegisteredModelCommandType } from "../../domain/registeredModel/commands.ts";
import type { UnsafeArtifact } from "../../domain/errors.ts";
import { ERROR_CODES } from "../../http/errorCodes.ts";
import type { ErrorCode } from "../../http/errorCodes.ts";
import { builder } from "../builder.ts";
import { ArtifactVerdictEnum } from "./inspectionEnums.ts";

export const ErrorCodeEnum = builder.enumType("ErrorCode", {
  description:
    "Every code a client can receive: `code` of the typed errors in mutation results, `extensions.code` of GraphQL errors, and `error.code` of the HTTP routes. Branch on these, never on messages.",
  values: Object.fromEntries(
    Object.entries(ERROR_CODES).map(([code, description]) => [code, { value: code, description }]),
  ) as Record<ErrorCode, { value: ErrorCode; description: string }>,
});

export const ErrorInterface = builder.interfaceRef<DomainError>("Error").implement({
  description: "An expected failure of a mutation. Inspect `__typename` for the kind and its extra fields.",
  fields: (t) => ({
    message: t.exposeString("message", { description: "Human-readable explanation." }),
    code: t.field({
      type: ErrorCodeEnum,
      description: "Stable machine-readable code of this kind of failure.",
      // Every DomainError's code is in ERROR_CODES (test/http/errorCodes.unit.test.ts keeps them so).
      resolve: (error) => error.code as ErrorCode,
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: "NotFoundError",
  description:
    "The model, version, alias, artifact, principal, team or token the input names does not exist.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    resource: t.exposeString("resource", { description: "Kind of the missing object." }),
    key: t.exposeString("key", { description: "How the missing object was identified." }),
  }),
});

builder.objectType(AlreadyExistsError, {
  name: "AlreadyExistsError",
  description: "A live object with this identity already exists (e.g. a model name).",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    resource: t.exposeString("resource", { description: "Kind of the conflicting object." }),
    key: t.exposeString("key", { description: "The identity that is taken." }),
  }),
});

builder.objectType(ValidationError, {
  name: "ValidationError",
  description: "An input value breaks a registry rule; `field` names the offending input field.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString("field", { description: "Dotted path of the input field, e.g. `tags.0.key`." }),
  }),
});

builder.objectType(ConcurrencyError, {
  name: "ConcurrencyError",
  description:
    "`expectedRevision` did not match the model's current revision: someone changed it first. Re-read and retry.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    expectedRevision: t.exposeInt("expectedRevision", { description: "The revision the input expected." }),
    actualRevision: t.exposeInt("actualRevision", {
      description: "The model's revision when the command ran.",
    }),
  }),
});

builder.objectType(IntegrityError, {
  name: "IntegrityError",
  description:
    "The stored history of the model (or principal, team, token) failed its integrity check: its hash chain is broken, or the log holds events Registro never wrote. Writes to it are refused until an operator has investigated (`npm run audit:verify`); reads go on.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    revision: t.exposeInt("revision", { description: "Revision of the stream where the check failed." }),
    reason: t.exposeString("reason", { description: "What the check found." }),
  }),
});

builder.objectType(PermissionDeniedError, {
  name: "PermissionDeniedError",
  description: "The caller's registry role does not allow this operation.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    operation: t.exposeString("operation", { description: "What was refused." }),
    needed: t.exposeString("needed", { description: "What would allow it (e.g. `registry role ADMIN`)." }),
  }),
});

builder.objectType(InvalidStateError, {
  name: "InvalidStateError",
  description:
    "The command is not allowed in the object's current state (e.g. transitioning a deleted version).",
  interfaces: [ErrorInterface],
});

const UnsafeArtifactRef = builder.objectRef<UnsafeArtifact>("UnsafeArtifact").implement({
  description: "An artifact that blocks promotion to Production or aliasing.",
  fields: (t) => ({
    path: t.exposeString("path", { description: "Path of the artifact in its version." }),
    verdict: t.field({
      type: ArtifactVerdictEnum,
      nullable: true,
      description:
        "Its latest verdict (DANGEROUS or UNSCANNABLE); null when it was never inspected (fail closed).",
      resolve: (a) => a.verdict,
    }),
  }),
});

const GatedActionEnum = builder.enumType("SafetyGatedAction", {
  description: "Changes the artifact safety gate applies to.",
  values: {
    TRANSITION: { value: "TRANSITION", description: "Moving a version to Production." },
    ALIAS: { value: "ALIAS", description: "Pointing an alias at a version." },
  } as const,
});

builder.objectType(UnsafeArtifactError, {
  name: "UnsafeArtifactError",
  description:
    "The version has DANGEROUS or UNSCANNABLE artifacts (or artifacts never inspected), so it cannot move to Production or receive an alias. Repeat the mutation with `overrideReason` to proceed anyway; the override is recorded in history.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    version: t.exposeInt("version", { description: "The version refused." }),
    action: t.field({ type: GatedActionEnum, description: "What was refused.", resolve: (e) => e.action }),
    artifacts: t.field({
      type: [UnsafeArtifactRef],
      description: "The blocking artifacts, in the order they were added (at most 100; see `total`).",
      resolve: (e) => [...e.artifacts],
    }),
    total: t.exposeInt("total", { description: "How many artifacts block in all." }),
  }),
});

/**
 * The `errors` option of a mutation: exactly the typed failures it can return, as members of a
 * union named `<Mutation>Result`, next to the payload. An error a resolver throws that is not
 * listed is not a result but an unexpected failure (masked), so lists must be complete; tests run
 * hostile commands to check that they are.
 */
export const mutationErrors = (name: string, types: readonly ErrorClass[]) => ({
  types: [...new Set(types)],
  union: {
    name: `${name}Result`,
    description: `Outcome of ${name.charAt(0).toLowerCase()}${name.slice(1)}: its payload, or a typed error.`,
  },
});

/**
 * The errors of a mutation that runs one model command: what the command can return
 * (commandErrors), plus what the resolver itself may throw.
 */
export const commandMutationErrors = (
  name: string,
  command: RegisteredModelCommandType,
  resolverErrors: readonly ErrorClass[] = [],
) => mutationErrors(name, [...commandErrors(command), ...resolverErrors]);

/** The optional optimistic-concurrency field every mutation input carries. */
export const EXPECTED_REVISION_FIELD = {
  required: false,
  description: "Fail with ConcurrencyError unless the model is at this revision.",
} as const;
