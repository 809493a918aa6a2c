// The webhook aggregate: pure decide/evolve. Who may run a command (owner, admin, MANAGE on the
// models) and whether the target address is allowed are checked by the command runner
// (../webhookCommands.ts), which has the database and the network; the rules of the webhook itself
// (a well-formed URL, known event types, a sane model list, lifecycle) are here.
import { InvalidStateError, ValidationError } from "../../domain/errors.ts";
import type { DomainError } from "../../domain/errors.ts";
import { checkModelName, checkText, firstError, parseHttpUrl } from "../../domain/validation.ts";
import type { DisabledReason, WebhookEvent } from "./events.ts";

export const WEBHOOK_LIMITS = {
  urlLength: 2048,
  descriptionLength: 1000,
  models: 100,
  disabledDetailLength: 1000,
} as const;

export interface WebhookDefinition {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly models: readonly string[] | null;
  readonly description: string | null;
}

export type WebhookCommand =
  | {
      readonly type: "RegisterWebhook";
      readonly data: WebhookDefinition & {
        readonly webhookId: string;
        readonly ownerId: string;
        /** The model event types that exist (derived from the model stream's events). */
        readonly knownEventTypes: readonly string[];
      };
    }
  | {
      readonly type: "UpdateWebhook";
      readonly data: WebhookDefinition & { readonly knownEventTypes: readonly string[] };
    }
  | { readonly type: "RotateWebhookSecret"; readonly data: Record<string, never> }
  | {
      readonly type: "DisableWebhook";
      readonly data: { readonly reason: DisabledReason; readonly detail: string | null };
    }
  | { readonly type: "EnableWebhook"; readonly data: Record<string, never> }
  | { readonly type: "DeleteWebhook"; readonly data: Record<string, never> };

export interface WebhookState {
  readonly id: string;
  readonly ownerId: string;
  readonly definition: WebhookDefinition;
  readonly enabled: boolean;
  readonly deleted: boolean;
}

export function evolveWebhook(state: WebhookState | null, event: WebhookEvent): WebhookState | null {
  switch (event.type) {
    case "WebhookRegistered": {
      const { webhookId, ownerId, url, eventTypes, models, description } = event.data;
      return {
        id: webhookId,
        ownerId,
        definition: { url, eventTypes, models, description },
        enabled: true,
        deleted: false,
      };
    }
    case "WebhookUpdated":
      return state && { ...state, definition: event.data };
    case "WebhookSecretRotated":
      return state;
    case "WebhookDisabled":
      return state && { ...state, enabled: false };
    case "WebhookEnabled":
      return state && { ...state, enabled: true };
    case "WebhookDeleted":
      return state && { ...state, deleted: true, enabled: false };
  }
}

/** A target URL the registry may call: http(s), a host, no credentials, bounded length. */
export function checkWebhookUrl(field: string, url: string): ValidationError | null {
  const text = checkText(field, url, WEBHOOK_LIMITS.urlLength, true);
  if (text) return text;
  const parsed = parseHttpUrl(field, url, "; use the signature instead");
  if (parsed instanceof ValidationError) return parsed;
  if (parsed.hash !== "") return new ValidationError(field, "must not have a #fragment");
  return null;
}

function checkDefinition(d: WebhookDefinition, known: readonly string[]): ValidationError | null {
  const eventTypes = (): ValidationError | null => {
    if (d.eventTypes.length === 0) return new ValidationError("eventTypes", "name at least one event type");
    for (const [i, type] of d.eventTypes.entries())
      if (!known.includes(type))
        return new ValidationError(`eventTypes.${i}`, `unknown event type; one of ${known.join(", ")}`);
    return null;
  };
  const models = (): ValidationError | null => {
    if (d.models === null) return null;
    if (d.models.length === 0)
      return new ValidationError("modelNames", "name at least one model, or omit it for every model");
    if (d.models.length > WEBHOOK_LIMITS.models)
      return new ValidationError("modelNames", `at most ${WEBHOOK_LIMITS.models} models`);
    for (const [i, name] of d.models.entries()) {
      const invalid = checkModelName(`modelNames.${i}`, name);
      if (invalid) return invalid;
    }
    return null;
  };
  return firstError(
    checkWebhookUrl("url", d.url),
    eventTypes(),
    models(),
    d.description === null
      ? null
      : checkText("description", d.description, WEBHOOK_LIMITS.descriptionLength, false),
  );
}

const unique = (values: readonly string[]) => [...new Set(values)];

function normalized(d: WebhookDefinition): WebhookDefinition {
  return {
    url: d.url,
    eventTypes: unique(d.eventTypes),
    models: d.models === null ? null : unique(d.models),
    description: d.description === "" ? null : d.description,
  };
}

export function decideWebhook(
  command: WebhookCommand,
  state: WebhookState | null,
): WebhookEvent[] | DomainError {
  if (command.type === "RegisterWebhook") {
    if (state !== null) return new InvalidStateError(`webhook ${state.id} already exists`);
    const d = command.data;
    const invalid = checkDefinition(d, d.knownEventTypes);
    if (invalid) return invalid;
    return [
      {
        type: "WebhookRegistered",
        data: { webhookId: d.webhookId, ownerId: d.ownerId, ...normalized(d) },
      },
    ];
  }
  if (state === null) return new InvalidStateError("the webhook does not exist");
  if (state.deleted) return new InvalidStateError(`webhook ${state.id} is deleted`);
  switch (command.type) {
    case "UpdateWebhook": {
      const invalid = checkDefinition(command.data, command.data.knownEventTypes);
      if (invalid) return invalid;
      const next = normalized(command.data);
      return JSON.stringify(next) === JSON.stringify(state.definition)
        ? []
        : [{ type: "WebhookUpdated", data: next }];
    }
    case "RotateWebhookSecret":
      return [{ type: "WebhookSecretRotated", data: {} }];
    case "DisableWebhook": {
      if (!state.enabled) return [];
      const detail = command.data.detail;
      return [
        {
          type: "WebhookDisabled",
          data: {
            reason: command.data.reason,
            detail: detail === null ? null : detail.slice(0, WEBHOOK_LIMITS.disabledDetailLength),
          },
        },
      ];
    }
    case "EnableWebhook":
      return state.enabled ? [] : [{ type: "WebhookEnabled", data: {} }];
    case "DeleteWebhook":
      return [{ type: "WebhookDeleted", data: {} }];
  }
}
