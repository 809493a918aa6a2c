// GraphQL of deployments: the ModelVersionDeployment type, `ModelVersion.deployments`,
// `RegisteredModel.deployments`, the mutations serving systems call to record and retire a
// deployment, the `modelVersionDeploymentChanged` subscription, `RegisteredModelAsOf.deployments`
// for "what served where on a date", and the ActiveDeploymentError that deletions may return.
// Current deployments are read from the projection (model_version_deployments); the past from the log.
import { ActorRef } from "../../access/graphql/actor.ts";
import { executeCommand } from "../../application/executeCommand.ts";
import type { ModelAsOf } from "../../application/modelAsOf.ts";
import type { ModelVersionDeployment } from "../../db/generated/sqlite/client.ts";
import { DomainError } from "../../domain/errors.ts";
import type { RegisteredModelCommand } from "../../domain/registeredModel/commands.ts";
import { builder } from "../../graphql/builder.ts";
import { appendedEvents, needsNoRelations } from "../../graphql/commandResult.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { delivered, liveSubscription } from "../../graphql/liveSubscription.ts";
import type { Delivered } from "../../graphql/liveSubscription.ts";
import { countedConnection } from "../../graphql/types/common.ts";
import {
  EXPECTED_REVISION_FIELD,
  ErrorInterface,
  commandMutationErrors,
} from "../../graphql/types/errors.ts";
import { RegisteredModelAsOfRef } from "../../graphql/types/registeredModelAsOf.ts";
import { RegistryEventRef } from "../../graphql/types/registryEvent.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import type { ModelVersionDeploymentEvent } from "../domain/events.ts";
import { ActiveDeploymentError } from "../domain/errors.ts";
import { deploymentKey } from "../domain/state.ts";
import type { DeploymentState } from "../domain/state.ts";
import { actorJson, actorOfJson } from "../projection/deploymentRows.ts";
import type { DeploymentView } from "../projection/evolve.ts";

// ---- Errors -----------------------------------------------------------------------------------------

builder.objectType(ActiveDeploymentError, {
  name: "ActiveDeploymentError",
  description:
    "The version (or a version of the model) is still deployed: environments serve it. Retire those deployments (retireModelVersionDeployment) first.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    version: t.int({
      nullable: true,
      description: "The version refused; null when the whole model was (deleteRegisteredModel).",
      resolve: (e) => e.version,
    }),
    environments: t.stringList({
      description: "The environments still serving it, sorted.",
      resolve: (e) => [...e.environments],
    }),
  }),
});

// ---- The deployment ---------------------------------------------------------------------------------

export const ModelVersionDeploymentRef = builder.prismaObject("ModelVersionDeployment", {
  description:
    "A model version served by an environment at an endpoint, as the serving system recorded it: the latest deployment of that (environment, version), active or retired. Earlier deployments of the same pair are in the model's history.",
  fields: (t) => ({
    environment: t.exposeString("environment", {
      description: "The serving environment, e.g. `prod-eu`.",
    }),
    version: t.exposeInt("version", { description: "The version number served." }),
    endpoint: t.exposeString("endpoint", {
      description: "Where the environment serves the version (absolute http(s) URL, as recorded).",
    }),
    description: t.exposeString("description", {
      nullable: true,
      description: "What the serving system said about the deployment (e.g. `canary 5%`).",
    }),
    active: t.exposeBoolean("active", { description: "Whether the environment still serves the version." }),
    deployedAt: t.expose("deployedAt", {
      type: "DateTime",
      description: "When the deployment was recorded (a changed endpoint or description records it anew).",
    }),
    deployedBy: t.field({
      type: ActorRef,
      description: "Who recorded the deployment, and with which credential.",
      resolve: (d) => actorOfJson(d.deployedBy),
    }),
    retiredAt: t.expose("retiredAt", {
      type: "DateTime",
      nullable: true,
      description: "When it was retired; null while active.",
    }),
    retiredBy: t.field({
      type: ActorRef,
      nullable: true,
      description: "Who retired it; null while active.",
      resolve: (d) => (d.retiredBy === null ? null : actorOfJson(d.retiredBy)),
    }),
    retireReason: t.exposeString("retireReason", {
      nullable: true,
      description: "Why it was retired, as given.",
    }),
    modelVersion: t.relation("modelVersion", { description: "The version deployed." }),
  }),
});

const DeploymentConnectionRef = countedConnection(
  ModelVersionDeploymentRef,
  "ModelVersionDeployment",
  "deployments",
);

const ORDER = [{ active: "desc" }, { environment: "asc" }, { version: "desc" }] as const;

builder.prismaObjectField("ModelVersion", "deployments", (t) =>
  t.relatedConnection(
    "deployments",
    {
      cursor: "modelId_environment_version",
      totalCount: true,
      description: "Environments serving this version (active first, then by environment).",
      args: {
        includeRetired: t.arg.boolean({
          required: false,
          description: "Include retired deployments (default false: only what serves it now).",
        }),
      },
      query: (args) => ({
        where: args.includeRetired ? {} : { active: true },
        orderBy: [...ORDER],
      }),
    },
    DeploymentConnectionRef,
  ),
);

builder.prismaObjectField("RegisteredModel", "deployments", (t) =>
  t.relatedConnection(
    "deployments",
    {
      cursor: "modelId_environment_version",
      totalCount: true,
      description:
        'Deployments of this model\'s versions (active first, then by environment, newest version first). `environment: "prod-eu"` answers what serves prod-eu now.',
      args: {
        environment: t.arg.string({
          required: false,
          description: "Only this environment.",
        }),
        includeRetired: t.arg.boolean({
          required: false,
          description: "Include retired deployments (default false).",
        }),
      },
      query: (args) => ({
        where: {
          ...(args.includeRetired ? {} : { active: true }),
          ...(args.environment == null ? {} : { environment: args.environment }),
        },
        orderBy: [...ORDER],
      }),
    },
    DeploymentConnectionRef,
  ),
);

// ---- Mutations --------------------------------------------------------------------------------------

interface DeploymentPayload {
  readonly modelId: string;
  readonly environment: string;
  readonly version: number;
  readonly view: DeploymentView | null;
  readonly events: readonly RecordedEvent[];
}

/** The row shape Prisma would return, from the view the command just wrote. */
const rowOf = (view: DeploymentView): ModelVersionDeployment => ({
  ...view,
  deployedBy: actorJson(view.deployedBy) ?? "",
  retiredBy: actorJson(view.retiredBy),
});

const DeploymentPayloadRef = builder.objectRef<DeploymentPayload>("ModelVersionDeploymentPayload").implement({
  description: "The deployment after a successful change, and the events the change appended.",
  fields: (t) => ({
    deployment: t.prismaField({
      type: "ModelVersionDeployment",
      description: "The deployment as it is now.",
      resolve: (query, payload, _args, ctx) =>
        (needsNoRelations(query) && payload.view !== null ? rowOf(payload.view) : undefined) ??
        ctx.reader.modelVersionDeployment.findUniqueOrThrow({
          ...query,
          where: {
            modelId_environment_version: {
              modelId: payload.modelId,
              environment: payload.environment,
              version: payload.version,
            },
          },
        }),
    }),
    events: t.prismaField({
      type: ["Event"],
      description: "Events appended by this change, in order; empty when it changed nothing (a repeat).",
      resolve: (query, payload, _args, ctx) => appendedEvents(query, payload.events, ctx),
    }),
  }),
});

async function runDeploymentCommand(
  ctx: GraphQLContext,
  name: string,
  command: RegisteredModelCommand & { data: { environment: string; version: number } },
  expectedRevision: number | null | undefined,
): Promise<DeploymentPayload> {
  const outcome = await executeCommand(
    ctx.commands,
    { kind: "live", name },
    command,
    ctx,
    expectedRevision ?? undefined,
  );
  if (outcome instanceof DomainError) throw outcome;
  const { environment, version } = command.data;
  return {
    modelId: outcome.modelId,
    environment,
    version,
    view: outcome.views.deployments.get(deploymentKey(environment, version)) ?? null,
    events: outcome.events,
  };
}

builder.mutationFields((t) => ({
  recordModelVersionDeployment: t.field({
    type: DeploymentPayloadRef,
    description:
      "Records that an environment serves a READY, live version at an endpoint (serving systems call this when they deploy). One environment may serve several versions at once. Recording what is recorded already changes nothing; a changed endpoint or description is recorded anew. At most 100 active deployments per model. Needs EDIT on the model.",
    errors: commandMutationErrors("RecordModelVersionDeployment", "RecordModelVersionDeployment"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RecordModelVersionDeploymentInput", {
          description: "The version, where it is served, and how to reach it.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            environment: f.string({
              description:
                "The serving environment: 1 to 64 lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit (e.g. `prod-eu`).",
            }),
            endpoint: f.string({
              description:
                "Where the environment serves the version: an absolute http(s) URL with a host, without credentials or whitespace, at most 2,048 characters. It stays in the model's history forever: never put secrets in it.",
            }),
            description: f.string({
              required: false,
              description: "A note about the deployment (e.g. `canary 5%`), at most 5,000 characters.",
            }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runDeploymentCommand(
        ctx,
        input.name,
        {
          type: "RecordModelVersionDeployment",
          data: {
            version: input.version,
            environment: input.environment,
            endpoint: input.endpoint,
            description: input.description ?? null,
          },
        },
        input.expectedRevision,
      ),
  }),

  retireModelVersionDeployment: t.field({
    type: DeploymentPayloadRef,
    description:
      "Records that an environment no longer serves a version. A deployment never recorded is NotFoundError (resource `Deployment`); one retired already changes nothing (a retry). Needs EDIT on the model.",
    errors: commandMutationErrors("RetireModelVersionDeployment", "RetireModelVersionDeployment"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RetireModelVersionDeploymentInput", {
          description: "The deployment to retire, and why.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            environment: f.string({ description: "The environment that stopped serving it." }),
            reason: f.string({
              required: false,
              description: "Why (e.g. `rolled back`), at most 5,000 characters.",
            }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runDeploymentCommand(
        ctx,
        input.name,
        {
          type: "RetireModelVersionDeployment",
          data: { version: input.version, environment: input.environment, reason: input.reason ?? null },
        },
        input.expectedRevision,
      ),
  }),
}));

// ---- Subscription -----------------------------------------------------------------------------------

type DeploymentChange = Delivered<RecordedEvent<ModelVersionDeploymentEvent>>;

const DeploymentChangeKindEnum = builder.enumType("ModelVersionDeploymentChangeKind", {
  description: "What happened to a deployment.",
  values: {
    DEPLOYED: {
      description: "Recorded, or recorded anew with another endpoint or description (ModelVersionDeployed).",
    },
    RETIRED: { description: "Retired (ModelVersionDeploymentRetired)." },
  } as const,
});

const DeploymentChangeRef = builder.objectRef<DeploymentChange>("ModelVersionDeploymentChange").implement({
  description: "A deployment was recorded or retired.",
  fields: (t) => ({
    cursor: t.string({
      description: "Resume token: pass it as `after` to continue after this notification.",
      resolve: (change) => change.cursor,
    }),
    kind: t.field({
      type: DeploymentChangeKindEnum,
      description: "Deployed or retired.",
      resolve: (change) => (change.value.type === "ModelVersionDeployed" ? "DEPLOYED" : "RETIRED"),
    }),
    modelId: t.string({
      description: "Id of the model (stable across renames).",
      resolve: (change) => change.value.streamId,
    }),
    version: t.int({ description: "The version number.", resolve: (change) => change.value.data.version }),
    environment: t.string({
      description: "The environment.",
      resolve: (change) => change.value.data.environment,
    }),
    endpoint: t.string({
      nullable: true,
      description: "Where it is served (DEPLOYED); null for RETIRED.",
      resolve: (change) => (change.value.type === "ModelVersionDeployed" ? change.value.data.endpoint : null),
    }),
    description: t.string({
      nullable: true,
      description: "The note of a DEPLOYED change; null for RETIRED.",
      resolve: (change) =>
        change.value.type === "ModelVersionDeployed" ? change.value.data.description : null,
    }),
    reason: t.string({
      nullable: true,
      description: "Why a RETIRED deployment was retired; null for DEPLOYED.",
      resolve: (change) =>
        change.value.type === "ModelVersionDeploymentRetired" ? change.value.data.reason : null,
    }),
    actor: t.field({
      type: ActorRef,
      description: "Who recorded the change, and with which credential.",
      resolve: (change) => change.value.actor,
    }),
    occurredAt: t.field({
      type: "DateTime",
      description: "When the change was recorded.",
      resolve: (change) => change.value.occurredAt,
    }),
    deployment: t.prismaField({
      type: "ModelVersionDeployment",
      nullable: true,
      description: "The deployment as it is now (by the time this notification is resolved).",
      resolve: (query, change, _args, ctx) =>
        ctx.reader.modelVersionDeployment.findUnique({
          ...query,
          where: {
            modelId_environment_version: {
              modelId: change.value.streamId,
              environment: change.value.data.environment,
              version: change.value.data.version,
            },
          },
        }),
    }),
    event: t.field({
      type: RegistryEventRef,
      description: "The event itself.",
      resolve: (change) => change.event as unknown as typeof RegistryEventRef.$inferType,
    }),
  }),
});

const isDeploymentEvent = (event: RecordedEvent): event is RecordedEvent<ModelVersionDeploymentEvent> =>
  event.type === "ModelVersionDeployed" || event.type === "ModelVersionDeploymentRetired";

builder.subscriptionFields((t) => ({
  modelVersionDeploymentChanged: t.field({
    type: DeploymentChangeRef,
    description:
      "Deployments recorded and retired as they commit, in log order, each exactly once; resumable with `after`.",
    args: {
      name: t.arg.string({
        required: false,
        description:
          "Only this model: the live model holding the name when the subscription starts (followed through renames), or a model that takes the name later.",
      }),
      environment: t.arg.string({ required: false, description: "Only changes in this environment." }),
      after: t.arg.string({
        required: false,
        description: "Resume after this cursor (`cursor` of the last notification received).",
      }),
    },
    subscribe: (_root, args, ctx) => {
      const environment = args.environment ?? null;
      return liveSubscription(
        ctx,
        { after: args.after, names: args.name == null ? null : [args.name] },
        (event) =>
          isDeploymentEvent(event) && (environment === null || event.data.environment === environment)
            ? [event]
            : [],
      );
    },
    resolve: (notification) => delivered(notification),
  }),
}));

// ---- As of a past moment ----------------------------------------------------------------------------

const DeploymentAsOfRef = builder.objectRef<DeploymentState>("ModelVersionDeploymentAsOf").implement({
  description: "A deployment that was active at the requested point.",
  fields: (t) => ({
    environment: t.exposeString("environment", { description: "The environment." }),
    version: t.exposeInt("version", { description: "The version it served." }),
    endpoint: t.exposeString("endpoint", { description: "Where it served it." }),
    description: t.exposeString("description", {
      nullable: true,
      description: "The note recorded with the deployment.",
    }),
  }),
});

builder.objectField(RegisteredModelAsOfRef, "deployments", (t) =>
  t.field({
    type: [DeploymentAsOfRef],
    description:
      'Deployments active at that point, by environment then newest version first. `environment: "prod-eu"` answers what prod-eu served then; who recorded them, and when, is in the model\'s history.',
    args: {
      environment: t.arg.string({ required: false, description: "Only this environment." }),
    },
    resolve: (m: ModelAsOf, args) =>
      Object.values(m.state.deployments)
        .filter((d) => d.active && (args.environment == null || d.environment === args.environment))
        .sort((a, b) =>
          a.environment < b.environment ? -1 : a.environment > b.environment ? 1 : b.version - a.version,
        ),
  }),
);
