// GraphQL types and queries of the webhooks context: a webhook (never its secret), its delivery
// state and its delivery log. Only the owner or an ADMIN sees a webhook; to anyone else it does not
// exist.
import { ValidationError } from "../../domain/errors.ts";
import type {
  WebhookDelivery as DeliveryRow,
  Webhook as WebhookRow,
} from "../../db/generated/sqlite/client.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { countedConnection } from "../../graphql/types/common.ts";
import { RegistryEventTypeEnum } from "../../graphql/types/registryEvent.ts";
import type { RegisteredModelEventType } from "../../domain/registeredModel/events.ts";
import type { DISABLED_REASONS } from "../domain/events.ts";

export type { WebhookRow };

export const DisabledReasonEnum = builder.enumType("WebhookDisabledReason", {
  description: "Why a webhook is disabled.",
  values: {
    MANUAL: { value: "MANUAL", description: "Its owner or an ADMIN disabled it (disableWebhook)." },
    FAILING: {
      value: "FAILING",
      description:
        "Deliveries of one event kept failing for longer than the retry window; enableWebhook resumes from that event.",
    },
  } satisfies Record<(typeof DISABLED_REASONS)[number], unknown>,
});

export const DeliveryStatusEnum = builder.enumType("WebhookDeliveryStatus", {
  description: "Outcome of one delivery attempt.",
  values: {
    SUCCEEDED: { value: "SUCCEEDED", description: "The receiver answered 2xx in time." },
    FAILED: {
      value: "FAILED",
      description:
        "No 2xx in time: a refused target, a connection error, a timeout, a redirect, another status, or an answer over the size cap.",
    },
  },
});

export const DeliveryKindEnum = builder.enumType("WebhookDeliveryKind", {
  description: "Why a message was sent.",
  values: {
    NORMAL: { value: "NORMAL", description: "Following the event log (first attempt or a retry)." },
    REDELIVERY: { value: "REDELIVERY", description: "Sent again on request (redeliverWebhookDelivery)." },
    PING: { value: "PING", description: "A `registro.ping` test message (pingWebhook)." },
  },
});

export const WebhookDeliveryRef = builder.objectRef<DeliveryRow>("WebhookDelivery").implement({
  description: "One attempt to deliver a message to a webhook.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Id of this attempt (for redeliverWebhookDelivery)." }),
    position: t.exposeInt("position", {
      nullable: true,
      description: "Log position of the delivered event; null for pings.",
    }),
    messageId: t.exposeString("messageId", {
      description:
        "The `webhook-id` header: the same for every attempt and redelivery of one event to one webhook.",
    }),
    eventType: t.exposeString("eventType", { description: "The message's `type`." }),
    attempt: t.exposeInt("attempt", { description: "Attempt number of this message (1 for the first)." }),
    status: t.field({
      type: DeliveryStatusEnum,
      description: "Outcome.",
      resolve: (d) => d.status as "SUCCEEDED",
    }),
    kind: t.field({
      type: DeliveryKindEnum,
      description: "Why it was sent.",
      resolve: (d) => d.kind as "NORMAL",
    }),
    responseCode: t.exposeInt("responseCode", {
      nullable: true,
      description: "HTTP status of the answer; null without one.",
    }),
    latencyMs: t.exposeInt("latencyMs", {
      description: "Milliseconds from the start of the attempt to its outcome.",
    }),
    error: t.exposeString("error", { nullable: true, description: "Why it failed; null when it succeeded." }),
    responseBody: t.exposeString("responseBody", {
      nullable: true,
      description: "The start of the receiver's answer (at most 1,024 characters).",
    }),
    attemptedAt: t.expose("attemptedAt", { type: "DateTime", description: "When the attempt was made." }),
    instance: t.exposeString("instance", { description: "The server instance that made it." }),
  }),
});

const WebhookDeliveryConnection = countedConnection(WebhookDeliveryRef, "WebhookDelivery", "deliveries");

const DELIVERY_PAGE_MAX = 100;

function encodeDeliveryCursor(d: DeliveryRow): string {
  return Buffer.from(`${d.attemptedAt.getTime()}:${d.id}`).toString("base64url");
}

function decodeDeliveryCursor(cursor: string): { at: Date; id: string } | ValidationError {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(text);
  if (!match?.[1] || !match[2]) return new ValidationError("after", "is not a delivery cursor");
  return { at: new Date(Number(match[1])), id: match[2] };
}

export const WebhookRef = builder.objectRef<WebhookRow>("Webhook").implement({
  description: "A webhook: where model events are POSTed, signed per the Standard Webhooks specification.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable id (its history is the stream `webhook:<id>`)." }),
    url: t.exposeString("url", { description: "Where messages are POSTed." }),
    description: t.exposeString("description", { nullable: true, description: "What it is for." }),
    eventTypes: t.field({
      type: [RegistryEventTypeEnum],
      description: "The model event types delivered.",
      resolve: (w) => JSON.parse(w.eventTypes) as RegisteredModelEventType[],
    }),
    models: t.stringList({
      nullable: true,
      description:
        "Names (or ids) of the models whose events are delivered; null: every model the owner can read when the event is delivered.",
      resolve: (w) => (w.models === null ? null : (JSON.parse(w.models) as string[])),
    }),
    ownerId: t.exposeID("ownerId", { description: "Id of the principal that registered it." }),
    owner: t.prismaField({
      type: "Principal",
      nullable: true,
      description: "The principal that registered it: events are filtered by what it may read.",
      resolve: (query, w, _args, ctx) =>
        ctx.db.reader.principal.findUnique({ ...query, where: { id: w.ownerId } }),
    }),
    enabled: t.exposeBoolean("enabled", { description: "Whether deliveries are made." }),
    disabledReason: t.field({
      type: DisabledReasonEnum,
      nullable: true,
      description: "Why it is disabled; null while enabled.",
      resolve: (w) => w.disabledReason as "MANUAL" | "FAILING" | null,
    }),
    disabledDetail: t.exposeString("disabledDetail", {
      nullable: true,
      description: "For FAILING: which event failed how often, and the last error.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was registered." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When it last changed." }),
    cursorPosition: t.int({
      description:
        "The log position delivered up to: everything at or before it was delivered or did not match.",
      resolve: async (w, _a, ctx) =>
        (await ctx.db.reader.webhookCursor.findUnique({ where: { webhookId: w.id } }))?.position ?? 0,
    }),
    lag: t.int({
      description: "Model events in the log after its cursor (not all of them will match its filter).",
      resolve: async (w, _a, ctx) => {
        const cursor = await ctx.db.reader.webhookCursor.findUnique({ where: { webhookId: w.id } });
        const [row] = await ctx.db.query<{ n: unknown }>(
          "SELECT COUNT(*) AS n FROM events WHERE position > ? AND stream_id NOT LIKE '%:%'",
          [cursor?.position ?? 0],
        );
        return Number(row?.n ?? 0);
      },
    }),
    failingAttempts: t.int({
      description: "Failed attempts of the event at the head of its queue (0 when nothing is failing).",
      resolve: async (w, _a, ctx) =>
        (await ctx.db.reader.webhookCursor.findUnique({ where: { webhookId: w.id } }))?.attempts ?? 0,
    }),
    nextAttemptAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the failing event is retried; null when nothing waits.",
      resolve: async (w, _a, ctx) =>
        (await ctx.db.reader.webhookCursor.findUnique({ where: { webhookId: w.id } }))?.nextAttemptAt ?? null,
    }),
    lastDelivery: t.field({
      type: WebhookDeliveryRef,
      nullable: true,
      description: "The most recent delivery attempt.",
      resolve: (w, _a, ctx) =>
        ctx.db.reader.webhookDelivery.findFirst({
          where: { webhookId: w.id },
          orderBy: [{ attemptedAt: "desc" }, { id: "desc" }],
        }),
    }),
    deliveries: t.field({
      type: WebhookDeliveryConnection,
      description: "Its delivery log, newest first (kept WEBHOOK_DELIVERY_LOG_RETENTION_DAYS).",
      args: {
        first: t.arg.int({
          required: false,
          description: `At most this many (default 20, at most ${DELIVERY_PAGE_MAX}).`,
        }),
        after: t.arg.string({
          required: false,
          description: "Deliveries after this cursor (`pageInfo.endCursor`).",
        }),
        status: t.arg({
          type: DeliveryStatusEnum,
          required: false,
          description: "Only attempts with this outcome.",
        }),
      },
      resolve: async (w, args, ctx) => {
        const first = args.first ?? 20;
        if (!Number.isSafeInteger(first) || first < 0 || first > DELIVERY_PAGE_MAX)
          throw new ValidationError("first", `must be 0-${DELIVERY_PAGE_MAX}`);
        const after = args.after ? decodeDeliveryCursor(args.after) : null;
        if (after instanceof ValidationError) throw after;
        const where = {
          webhookId: w.id,
          ...(args.status ? { status: args.status } : {}),
        };
        const rows = await ctx.db.reader.webhookDelivery.findMany({
          where: after
            ? {
                ...where,
                OR: [{ attemptedAt: { lt: after.at } }, { attemptedAt: after.at, id: { lt: after.id } }],
              }
            : where,
          orderBy: [{ attemptedAt: "desc" }, { id: "desc" }],
          take: first + 1,
        });
        const edges = rows.slice(0, first).map((node) => ({ cursor: encodeDeliveryCursor(node), node }));
        return {
          edges,
          pageInfo: {
            hasNextPage: rows.length > first,
            hasPreviousPage: false,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
          totalCount: () => ctx.db.reader.webhookDelivery.count({ where }),
        };
      },
    }),
  }),
});

/** The webhook as this caller may see it: its own, or any for an ADMIN; null otherwise. */
export async function visibleWebhook(ctx: GraphQLContext, id: string): Promise<WebhookRow | null> {
  if (id.length > 256) return null;
  const row = await ctx.db.reader.webhook.findUnique({ where: { id } });
  if (row === null) return null;
  return ctx.rights.readsAsAdministrator || row.ownerId === ctx.caller.principal.id ? row : null;
}

builder.queryFields((t) => ({
  webhooks: t.field({
    type: [WebhookRef],
    description: "Webhooks: the caller's own; every webhook for an ADMIN.",
    resolve: (_root, _args, ctx) =>
      ctx.db.reader.webhook.findMany({
        where: ctx.rights.readsAsAdministrator ? {} : { ownerId: ctx.caller.principal.id },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      }),
  }),
  webhook: t.field({
    type: WebhookRef,
    nullable: true,
    description:
      "One webhook by id; null when it does not exist or the caller is neither its owner nor an ADMIN.",
    args: { id: t.arg.id({ description: "Id of the webhook." }) },
    resolve: (_root, args, ctx) => visibleWebhook(ctx, String(args.id)),
  }),
}));
