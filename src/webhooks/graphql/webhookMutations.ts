// Registering and managing webhooks. Who may: the owner or an ADMIN (anyone else is told the
// webhook does not exist), with a credential that may write; naming models needs MANAGE on each of
// them, and a webhook for every model needs a role and credential that may manage models at all.
// The target is checked against the SSRF guard here (it needs the network), and again at each
// delivery.
import { GraphQLError } from "graphql";
import { permissionOnModel } from "../../access/scopedReader.ts";
import { requireWriteScope } from "../../access/graphql/caller.ts";
import {
  ConcurrencyError,
  DomainError,
  IntegrityError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from "../../domain/errors.ts";
import type { ErrorClass } from "../../domain/errors.ts";
import { includesPermission } from "../../domain/modelPermissions.ts";
import { checkModelName } from "../../domain/validation.ts";
import type { RegisteredModelEventType } from "../../domain/registeredModel/events.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { ErrorInterface, mutationErrors } from "../../graphql/types/errors.ts";
import { RegistryEventTypeEnum } from "../../graphql/types/registryEvent.ts";
import { resolveTarget } from "../delivery/targetGuard.ts";
import { WebhookTargetRefusedError } from "../domain/errors.ts";
import { checkWebhookUrl } from "../domain/webhook.ts";
import { checkWebhookSecret, newWebhookSecret } from "../signing.ts";
import {
  deleteWebhook,
  disableWebhook,
  enableWebhook,
  registerWebhook,
  rotateWebhookSecret,
  updateWebhook,
} from "../webhookCommands.ts";
import type { WebhookOutcome } from "../webhookCommands.ts";
import { WebhookDeliveryRef, WebhookRef, visibleWebhook } from "./webhookTypes.ts";
import type { WebhookRow } from "./webhookTypes.ts";

builder.objectType(WebhookTargetRefusedError, {
  name: "WebhookTargetRefusedError",
  description:
    "The target resolves to a private, loopback, link-local or otherwise internal address (or does not resolve), and WEBHOOK_ALLOWED_TARGETS does not allow it.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    url: t.exposeString("url", { description: "The refused URL." }),
    reason: t.exposeString("reason", { description: "What it resolved to and why that is refused." }),
  }),
});

const BASE_ERRORS: ErrorClass[] = [PermissionDeniedError, ValidationError, ConcurrencyError, IntegrityError];
const errors = (name: string, own: readonly ErrorClass[]) => mutationErrors(name, [...BASE_ERRORS, ...own]);

function done(outcome: WebhookOutcome | DomainError): { id: string } {
  if (outcome instanceof DomainError) throw outcome;
  return { id: outcome.id };
}

const loadWebhook = async (ctx: GraphQLContext, id: string): Promise<WebhookRow> => {
  const row = await ctx.db.reader.webhook.findUnique({ where: { id } });
  if (row === null) throw new GraphQLError(`webhook ${id} vanished`);
  return row;
};

const WebhookPayload = builder.objectRef<{ id: string }>("WebhookPayload").implement({
  description: "The webhook as the mutation left it.",
  fields: (t) => ({
    webhook: t.field({
      type: WebhookRef,
      description: "The webhook.",
      resolve: (p, _a, ctx) => loadWebhook(ctx, p.id),
    }),
  }),
});

const WebhookSecretPayload = builder
  .objectRef<{ id: string; secret: string }>("WebhookSecretPayload")
  .implement({
    description: "The webhook and its signing secret. The secret is shown this once: keep it now.",
    fields: (t) => ({
      webhook: t.field({
        type: WebhookRef,
        description: "The webhook.",
        resolve: (p, _a, ctx) => loadWebhook(ctx, p.id),
      }),
      secret: t.exposeString("secret", {
        description:
          "The signing secret (`whsec_…`), for verifying `webhook-signature` with a Standard Webhooks library. Shown once.",
      }),
    }),
  });

const DeleteWebhookPayload = builder.objectRef<{ id: string }>("DeleteWebhookPayload").implement({
  description:
    "A deleted webhook: its secret, cursor and delivery log are gone; its history stays in the log.",
  fields: (t) => ({ webhookId: t.exposeID("id", { description: "Id of the deleted webhook." }) }),
});

const WebhookDeliveryPayload = builder
  .objectRef<{ webhookId: string; deliveryId: string }>("WebhookDeliveryPayload")
  .implement({
    description: "The attempt just made (it is in the delivery log too).",
    fields: (t) => ({
      delivery: t.field({
        type: WebhookDeliveryRef,
        description: "The attempt: status, response code, latency.",
        resolve: async (p, _a, ctx) => {
          const row = await ctx.db.reader.webhookDelivery.findUnique({ where: { id: p.deliveryId } });
          if (row === null) throw new GraphQLError("delivery vanished");
          return row;
        },
      }),
      webhook: t.field({
        type: WebhookRef,
        description: "The webhook.",
        resolve: (p, _a, ctx) => loadWebhook(ctx, p.webhookId),
      }),
    }),
  });

/** Model names as given, or null for every model; checked for what the caller holds on each. */
async function checkModels(
  ctx: GraphQLContext,
  operation: string,
  models: readonly string[] | null,
): Promise<void> {
  if (models === null) {
    if (!includesPermission(ctx.rights.ceiling, "MANAGE"))
      throw new PermissionDeniedError(
        operation,
        "a role and credential that may manage models (MEMBER or ADMIN with the write scope) for a webhook on every model",
      );
    return;
  }
  for (const [i, name] of models.entries()) {
    const invalid = checkModelName(`modelNames.${i}`, name);
    if (invalid) throw invalid;
    const held = await permissionOnModel(ctx, name);
    if (held === null) throw new NotFoundError("RegisteredModel", name);
    if (!includesPermission(held, "MANAGE"))
      throw new PermissionDeniedError(operation, `MANAGE on model ${name}`);
  }
}

async function checkTarget(ctx: GraphQLContext, url: string): Promise<void> {
  if (checkWebhookUrl("url", url) !== null) return; // the decider reports it
  const resolved = await resolveTarget(new URL(url), ctx.webhooks.allow);
  if ("refused" in resolved) throw new WebhookTargetRefusedError(url, resolved.refused);
}

/** The webhook when the caller is its owner or an ADMIN; NotFound otherwise (existence is not revealed). */
async function ownWebhook(ctx: GraphQLContext, operation: string, id: string): Promise<WebhookRow> {
  requireWriteScope(ctx, operation);
  const row = await visibleWebhook(ctx, id);
  if (row === null) throw new NotFoundError("Webhook", id);
  return row;
}

function secretOf(given: string | null | undefined): string {
  if (given === null || given === undefined) return newWebhookSecret();
  const invalid = checkWebhookSecret("secret", given);
  if (invalid) throw invalid;
  return given;
}

const definitionFields = (required: boolean) => ({
  url: {
    required,
    description: "Where to POST: http:// or https://, no credentials, at most 2,048 characters.",
  },
  eventTypes: { required, description: "The model event types to deliver (at least one)." },
  modelNames: {
    required: false,
    description:
      "Names (or ids) of the models whose events to deliver (MANAGE on each needed); omitted or null: every model the owner can read at delivery time.",
  },
  description: { required: false, description: "What it is for (at most 1,000 characters)." },
});

const RegisterWebhookInput = builder.inputType("RegisterWebhookInput", {
  description: "A new webhook.",
  fields: (f) => {
    const d = definitionFields(true);
    return {
      url: f.string(d.url),
      eventTypes: f.field({ type: [RegistryEventTypeEnum], ...d.eventTypes }),
      modelNames: f.stringList(d.modelNames),
      description: f.string(d.description),
      secret: f.string({
        required: false,
        description:
          "A signing secret of your own (`whsec_` + base64 of 24-64 random bytes); omitted: the server generates one.",
      }),
    };
  },
});

const UpdateWebhookInput = builder.inputType("UpdateWebhookInput", {
  description:
    "A webhook and its new definition (omitted fields stay as they are; `modelNames: null` means every model).",
  fields: (f) => {
    const d = definitionFields(false);
    return {
      id: f.id({ description: "Id of the webhook." }),
      url: f.string(d.url),
      eventTypes: f.field({ type: [RegistryEventTypeEnum], ...d.eventTypes }),
      modelNames: f.stringList(d.modelNames),
      description: f.string(d.description),
    };
  },
});

const idInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (f) => ({ id: f.id({ description: "Id of the webhook." }) }),
  });

builder.mutationFields((t) => ({
  registerWebhook: t.field({
    type: WebhookSecretPayload,
    description:
      "Registers a webhook owned by the caller; it receives model events committed from now on. Returns its signing secret, once.",
    errors: errors("RegisterWebhook", [NotFoundError, WebhookTargetRefusedError]),
    args: { input: t.arg({ type: RegisterWebhookInput, description: "The webhook." }) },
    resolve: async (_root, { input }, ctx) => {
      requireWriteScope(ctx, "registerWebhook");
      const models = input.modelNames ?? null;
      await checkModels(ctx, "registerWebhook", models);
      const secret = secretOf(input.secret);
      await checkTarget(ctx, input.url);
      const outcome = await registerWebhook(
        ctx.commands,
        {
          ownerId: ctx.caller.principal.id,
          url: input.url,
          eventTypes: input.eventTypes as RegisteredModelEventType[],
          models,
          description: input.description ?? null,
          secret,
        },
        ctx,
      );
      return { ...done(outcome), secret };
    },
  }),

  updateWebhook: t.field({
    type: WebhookPayload,
    description: "Changes a webhook's target, event types, models or description. Owner or ADMIN.",
    errors: errors("UpdateWebhook", [NotFoundError, WebhookTargetRefusedError]),
    args: { input: t.arg({ type: UpdateWebhookInput, description: "The webhook and what changes." }) },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "updateWebhook", String(input.id));
      const models =
        input.modelNames === undefined
          ? row.models === null
            ? null
            : (JSON.parse(row.models) as string[])
          : input.modelNames;
      if (input.modelNames !== undefined) await checkModels(ctx, "updateWebhook", models);
      const url = input.url ?? row.url;
      if (url !== row.url) await checkTarget(ctx, url);
      return done(
        await updateWebhook(
          ctx.commands,
          row.id,
          {
            url,
            eventTypes: input.eventTypes ?? (JSON.parse(row.eventTypes) as string[]),
            models,
            description: input.description === undefined ? row.description : input.description,
          },
          ctx,
        ),
      );
    },
  }),

  rotateWebhookSecret: t.field({
    type: WebhookSecretPayload,
    description:
      "Replaces a webhook's signing secret (the old one stops at once). Returns the new secret, once. Owner or ADMIN.",
    errors: errors("RotateWebhookSecret", [NotFoundError]),
    args: {
      input: t.arg({
        type: builder.inputType("RotateWebhookSecretInput", {
          description: "The webhook, and optionally a secret of your own.",
          fields: (f) => ({
            id: f.id({ description: "Id of the webhook." }),
            secret: f.string({
              required: false,
              description:
                "The new secret (`whsec_` + base64 of 24-64 random bytes); omitted: the server generates one.",
            }),
          }),
        }),
        description: "The webhook.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "rotateWebhookSecret", String(input.id));
      const secret = secretOf(input.secret);
      return { ...done(await rotateWebhookSecret(ctx.commands, row.id, secret, ctx)), secret };
    },
  }),

  disableWebhook: t.field({
    type: WebhookPayload,
    description: "Stops deliveries (events keep accumulating behind its cursor). Owner or ADMIN.",
    errors: errors("DisableWebhook", [NotFoundError]),
    args: {
      input: t.arg({
        type: idInput("DisableWebhookInput", "The webhook to disable."),
        description: "The webhook.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "disableWebhook", String(input.id));
      return done(await disableWebhook(ctx.commands, row.id, "MANUAL", null, ctx));
    },
  }),

  enableWebhook: t.field({
    type: WebhookPayload,
    description:
      "Resumes deliveries from the webhook's cursor (for one disabled as FAILING: the event that failed, retried at once). Owner or ADMIN.",
    errors: errors("EnableWebhook", [NotFoundError]),
    args: {
      input: t.arg({
        type: idInput("EnableWebhookInput", "The webhook to enable."),
        description: "The webhook.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "enableWebhook", String(input.id));
      return done(await enableWebhook(ctx.commands, row.id, ctx));
    },
  }),

  deleteWebhook: t.field({
    type: DeleteWebhookPayload,
    description: "Deletes a webhook with its secret and delivery log. Owner or ADMIN.",
    errors: errors("DeleteWebhook", [NotFoundError]),
    args: {
      input: t.arg({
        type: idInput("DeleteWebhookInput", "The webhook to delete."),
        description: "The webhook.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "deleteWebhook", String(input.id));
      return done(await deleteWebhook(ctx.commands, row.id, ctx));
    },
  }),

  pingWebhook: t.field({
    type: WebhookDeliveryPayload,
    description:
      "Sends a signed `registro.ping` message now and returns the attempt (also in the delivery log). Works on disabled webhooks too. Owner or ADMIN.",
    errors: mutationErrors("PingWebhook", [
      PermissionDeniedError,
      ValidationError,
      NotFoundError,
      InvalidStateError,
    ]),
    args: {
      input: t.arg({
        type: idInput("PingWebhookInput", "The webhook to ping."),
        description: "The webhook.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const row = await ownWebhook(ctx, "pingWebhook", String(input.id));
      const sent = await ctx.webhooks.ping(row.id);
      if (sent === null)
        throw new InvalidStateError(`webhook ${row.id} has no signing secret: rotate it first`);
      return { webhookId: row.id, deliveryId: sent.id };
    },
  }),

  redeliverWebhookDelivery: t.field({
    type: WebhookDeliveryPayload,
    description:
      "Sends the message of an earlier delivery again, now, with the same `webhook-id` (receivers dedupe on it); out of band: the webhook's queue and cursor are untouched. Owner or ADMIN.",
    errors: mutationErrors("RedeliverWebhookDelivery", [
      PermissionDeniedError,
      ValidationError,
      NotFoundError,
      InvalidStateError,
    ]),
    args: {
      input: t.arg({
        type: builder.inputType("RedeliverWebhookDeliveryInput", {
          description: "The delivery to send again.",
          fields: (f) => ({ id: f.id({ description: "Id of the delivery (WebhookDelivery.id)." }) }),
        }),
        description: "The delivery.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireWriteScope(ctx, "redeliverWebhookDelivery");
      const id = String(input.id);
      const delivery =
        id.length > 64 ? null : await ctx.db.reader.webhookDelivery.findUnique({ where: { id } });
      const row = delivery === null ? null : await visibleWebhook(ctx, delivery.webhookId);
      if (delivery === null || row === null) throw new NotFoundError("WebhookDelivery", id);
      const sent = await ctx.webhooks.redeliver(id);
      if (sent === null)
        throw new InvalidStateError(
          `delivery ${id} cannot be sent again: its webhook has no secret or its event is gone`,
        );
      return { webhookId: row.id, deliveryId: sent.id };
    },
  }),
}));
