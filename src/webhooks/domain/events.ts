// Events of the webhooks context: a webhook's lifecycle on its stream `webhook:<id>`. Past tense,
// versioned payloads. The signing secret never appears here (auditors read the log and backups
// export it): it lives in its own table (src/webhooks/webhookSecrets.ts).
import { z } from "zod";

export const DISABLED_REASONS = ["MANUAL", "FAILING"] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

export type WebhookEvent =
  | {
      readonly type: "WebhookRegistered";
      readonly data: {
        readonly webhookId: string;
        readonly url: string;
        readonly eventTypes: readonly string[];
        /** Model names; null: every model the owner can read at delivery time. */
        readonly models: readonly string[] | null;
        readonly ownerId: string;
        readonly description: string | null;
      };
    }
  | {
      readonly type: "WebhookUpdated";
      readonly data: {
        readonly url: string;
        readonly eventTypes: readonly string[];
        readonly models: readonly string[] | null;
        readonly description: string | null;
      };
    }
  | { readonly type: "WebhookSecretRotated"; readonly data: Record<string, never> }
  | {
      readonly type: "WebhookDisabled";
      readonly data: { readonly reason: DisabledReason; readonly detail: string | null };
    }
  | { readonly type: "WebhookEnabled"; readonly data: Record<string, never> }
  | { readonly type: "WebhookDeleted"; readonly data: Record<string, never> };

export type WebhookEventType = WebhookEvent["type"];

export const WEBHOOK_EVENT_SCHEMA_VERSIONS: Record<WebhookEventType, number> = {
  WebhookRegistered: 1,
  WebhookUpdated: 1,
  WebhookSecretRotated: 1,
  WebhookDisabled: 1,
  WebhookEnabled: 1,
  WebhookDeleted: 1,
};

export const WEBHOOK_STREAM_CATEGORY = "webhook";
export const webhookStream = (id: string) => `${WEBHOOK_STREAM_CATEGORY}:${id}`;

const empty = z.object({}).transform(() => ({}) as Record<string, never>);
const models = z.array(z.string()).nullable();

const dataSchemas = {
  WebhookRegistered: z.object({
    webhookId: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    models,
    ownerId: z.string(),
    description: z.string().nullable(),
  }),
  WebhookUpdated: z.object({
    url: z.string(),
    eventTypes: z.array(z.string()),
    models,
    description: z.string().nullable(),
  }),
  WebhookSecretRotated: empty,
  WebhookDisabled: z.object({ reason: z.enum(DISABLED_REASONS), detail: z.string().nullable() }),
  WebhookEnabled: empty,
  WebhookDeleted: empty,
} satisfies Record<WebhookEventType, z.ZodType>;

export const isWebhookEventType = (type: string): type is WebhookEventType =>
  Object.hasOwn(WEBHOOK_EVENT_SCHEMA_VERSIONS, type);

/** Validates a stored webhook event (never trusted blindly); throws on anything it does not know. */
export function parseWebhookEvent(type: string, schemaVersion: number, data: unknown): WebhookEvent {
  if (!isWebhookEventType(type)) throw new Error(`unknown webhook event type ${type}`);
  if (schemaVersion < 1 || schemaVersion > WEBHOOK_EVENT_SCHEMA_VERSIONS[type])
    throw new Error(`unsupported schema version ${schemaVersion} of ${type}`);
  return { type, data: dataSchemas[type].parse(data) } as WebhookEvent;
}
