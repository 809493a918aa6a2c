import { readFileSync } from "node:fs";
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isUnionType } from "graphql";
import { describe, expect, it } from "vitest";
import { commandErrors } from "../../src/application/executeCommand.ts";
import { ArtifactDigestMismatchError } from "../../src/artifacts/errors.ts";
import {
  POSSIBLE_TYPES_PATH,
  SDL_PATH,
  printedPossibleTypes,
  printedSchema,
} from "../../src/cli/printSchema.ts";
import {
  AlreadyExistsError,
  ConcurrencyError,
  IntegrityError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from "../../src/domain/errors.ts";
import type { ErrorClass } from "../../src/domain/errors.ts";
import type { RegisteredModelCommandType } from "../../src/domain/registeredModel/commands.ts";
import { schema } from "../../src/graphql/schema.ts";
import { COMMAND_TYPES } from "../support/commands.ts";
import { mutationErrorTypes } from "../support/mutationResult.ts";

/**
 * Each model mutation, the command it runs, and what its resolver adds (the property tests check
 * that a command returns only what commandErrors declares).
 */
const MODEL_MUTATIONS: Record<string, [RegisteredModelCommandType, ErrorClass[]]> = {
  createRegisteredModel: ["CreateRegisteredModel", []],
  renameRegisteredModel: ["RenameRegisteredModel", []],
  updateRegisteredModel: ["UpdateRegisteredModel", []],
  deleteRegisteredModel: ["DeleteRegisteredModel", []],
  restoreRegisteredModel: ["RestoreRegisteredModel", []],
  setRegisteredModelTag: ["SetRegisteredModelTag", []],
  deleteRegisteredModelTag: ["DeleteRegisteredModelTag", []],
  setRegisteredModelAlias: ["SetRegisteredModelAlias", []],
  deleteRegisteredModelAlias: ["DeleteRegisteredModelAlias", []],
  grantModelPermission: ["GrantModelPermission", [ValidationError]],
  revokeModelPermission: ["RevokeModelPermission", [ValidationError]],
  createModelVersion: ["CreateModelVersion", []],
  updateModelVersion: ["UpdateModelVersion", []],
  logModelVersionMetrics: ["LogModelVersionMetrics", []],
  setModelVersionTag: ["SetModelVersionTag", []],
  deleteModelVersionTag: ["DeleteModelVersionTag", []],
  transitionModelVersionStage: ["TransitionModelVersionStage", []],
  deleteModelVersion: ["DeleteModelVersion", []],
  restoreModelVersion: ["RestoreModelVersion", []],
  uploadModelVersionArtifact: [
    "AddModelVersionArtifact",
    [ArtifactDigestMismatchError, NotFoundError, PermissionDeniedError, InvalidStateError],
  ],
  finalizeModelVersion: ["FinalizeModelVersion", []],
  failModelVersionRegistration: ["FailModelVersionRegistration", []],
  inspectModelVersionArtifacts: [
    "InspectModelVersionArtifacts",
    [InvalidStateError, NotFoundError, ValidationError],
  ],
  setModelVersionSignature: ["SetModelVersionSignature", [ValidationError]],
  addModelVersionComment: ["AddModelVersionComment", []],
  editModelVersionComment: ["EditModelVersionComment", []],
  deleteModelVersionComment: ["DeleteModelVersionComment", []],
  recordModelVersionDeployment: ["RecordModelVersionDeployment", []],
  retireModelVersionDeployment: ["RetireModelVersionDeployment", []],
  // Reviews (src/reviews/): the policy's reviewers are looked up; a request is found by its id.
  setModelReviewPolicy: ["SetModelReviewPolicy", [ValidationError]],
  requestReview: ["OpenReviewRequest", [ValidationError]],
  approveReviewRequest: ["ApproveReviewRequest", [NotFoundError, ValidationError]],
  rejectReviewRequest: ["RejectReviewRequest", [NotFoundError, ValidationError]],
  cancelReviewRequest: ["CancelReviewRequest", [NotFoundError, ValidationError]],
};

/** Every access mutation can be refused by role or scope, input rules, and a lost race. */
// IntegrityError: the principal, team or token stream's stored history does not hold (appendEvents).
const ACCESS_ERRORS = [PermissionDeniedError, ValidationError, ConcurrencyError, IntegrityError];
const ACCESS_MUTATIONS: Record<string, ErrorClass[]> = {
  createUser: [InvalidStateError],
  createServiceAccount: [InvalidStateError],
  updatePrincipal: [NotFoundError],
  setPrincipalRole: [NotFoundError, InvalidStateError],
  disablePrincipal: [NotFoundError, InvalidStateError],
  enablePrincipal: [NotFoundError],
  createTeam: [AlreadyExistsError, InvalidStateError],
  renameTeam: [NotFoundError, AlreadyExistsError],
  addTeamMember: [NotFoundError],
  removeTeamMember: [NotFoundError],
  createApiToken: [NotFoundError, InvalidStateError],
  revokeApiToken: [NotFoundError],
};

/** Webhook mutations (src/webhooks/graphql/webhookMutations.ts): what each resolver and command can return. */
const WEBHOOK_COMMAND_ERRORS = [
  "PermissionDeniedError",
  "ValidationError",
  "ConcurrencyError",
  "IntegrityError",
];
/** Serving reports are not commands: input rules, the model's EDIT grant, the version's existence. */
const USAGE_MUTATIONS: Record<string, readonly string[]> = {
  reportModelServing: ["ValidationError", "NotFoundError", "PermissionDeniedError"],
};

const WEBHOOK_MUTATIONS: Record<string, readonly string[]> = {
  registerWebhook: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError", "WebhookTargetRefusedError"],
  updateWebhook: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError", "WebhookTargetRefusedError"],
  rotateWebhookSecret: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError"],
  disableWebhook: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError"],
  enableWebhook: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError"],
  deleteWebhook: [...WEBHOOK_COMMAND_ERRORS, "NotFoundError"],
  pingWebhook: ["PermissionDeniedError", "ValidationError", "NotFoundError", "InvalidStateError"],
  redeliverWebhookDelivery: [
    "PermissionDeniedError",
    "ValidationError",
    "NotFoundError",
    "InvalidStateError",
  ],
};

describe("GraphQL schema", () => {
  it("matches the checked-in schema/schema.graphql (run `npm run schema:print` after changing it)", () => {
    expect(readFileSync(SDL_PATH, "utf8")).toBe(printedSchema());
  });

  it("ships the possible types of every interface and union (schema/possible-types.json)", () => {
    expect(readFileSync(POSSIBLE_TYPES_PATH, "utf8")).toBe(printedPossibleTypes());
    const shipped = JSON.parse(printedPossibleTypes()) as Record<string, string[]>;
    // The shapes caches need: every typed error behind Error, every node type behind Node.
    expect(shipped.Error).toEqual(expect.arrayContaining(["NotFoundError", "PermissionDeniedError"]));
    expect(shipped.Node).toEqual(["ModelVersion", "RegisteredModel", "RegistryEvent"]);
    expect(shipped.CreateRegisteredModelResult).toContain("RegisteredModelPayload");
  });

  it("documents every public type, field, argument and enum value", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || ["String", "Int", "Float", "Boolean", "ID"].includes(type.name))
        continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          if ("args" in field)
            for (const arg of field.args)
              if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type))
        for (const v of type.getValues()) if (!v.description) missing.push(`${type.name}.${v.name}`);
      if (isUnionType(type) && !type.description) missing.push(type.name);
    }
    expect(missing).toEqual([]);
  });

  it("exposes one mutation per command, each returning its payload or exactly the errors it can return", () => {
    const mutations = schema.getMutationType()!.getFields();
    const covered = new Set<string>();
    for (const [name, [command, resolverErrors]] of Object.entries(MODEL_MUTATIONS)) {
      const field = mutations[name];
      expect(field, name).toBeDefined();
      expect(field!.args.map((a) => a.name)).toEqual(["input"]);
      const declared = [...commandErrors(command), ...resolverErrors].map((e) => e.name);
      expect(mutationErrorTypes(name).sort(), name).toEqual([...new Set(declared)].sort());
      covered.add(command);
    }
    expect([...covered].sort()).toEqual([...COMMAND_TYPES].sort());
  });

  it("gives each access mutation exactly the errors its resolver and command can return", () => {
    for (const [name, errors] of Object.entries(ACCESS_MUTATIONS))
      expect(mutationErrorTypes(name).sort(), name).toEqual(
        [...ACCESS_ERRORS, ...errors].map((e) => e.name).sort(),
      );
  });

  it("gives each webhook mutation exactly the errors its resolver and command can return", () => {
    const command = ["PermissionDeniedError", "ValidationError", "ConcurrencyError", "IntegrityError"];
    for (const [name, errors] of Object.entries(WEBHOOK_MUTATIONS))
      expect(mutationErrorTypes(name).sort(), name).toEqual([...errors].sort());
    expect(WEBHOOK_MUTATIONS.registerWebhook).toEqual(expect.arrayContaining(command));
  });

  it("gives each usage mutation exactly the errors its resolver can return", () => {
    for (const [name, errors] of Object.entries(USAGE_MUTATIONS))
      expect(mutationErrorTypes(name).sort(), name).toEqual([...errors].sort());
  });

  it("has no mutation whose errors this test does not check", () => {
    const checked = [
      ...Object.keys(MODEL_MUTATIONS),
      ...Object.keys(ACCESS_MUTATIONS),
      ...Object.keys(WEBHOOK_MUTATIONS),
      ...Object.keys(USAGE_MUTATIONS),
    ];
    expect(Object.keys(schema.getMutationType()!.getFields()).sort()).toEqual(checked.sort());
  });
});
