// Runs webhook commands with the shared machinery: the one event store (streams `webhook:<id>`),
// the shared conflict retry, and the inline projection in the same transaction. The secret and the
// delivery cursor are written in that same transaction, so a webhook never exists without them.
import { randomUUID } from "node:crypto";
import { retryConflicts } from "../application/executeCommand.ts";
import type { CommandDeps, RequestMetadata } from "../application/executeCommand.ts";
import type { Tx } from "../db/database.ts";
import { DomainError, IntegrityError, NotFoundError } from "../domain/errors.ts";
import { EVENT_TYPES } from "../domain/registeredModel/events.ts";
import { checkText } from "../domain/validation.ts";
import { appendRecorded, readStoredStream } from "../store/eventStore.ts";
import type { DisabledReason } from "./domain/events.ts";
import { WEBHOOK_EVENT_SCHEMA_VERSIONS, parseWebhookEvent, webhookStream } from "./domain/events.ts";
import type { WebhookCommand, WebhookDefinition, WebhookState } from "./domain/webhook.ts";
import { decideWebhook, evolveWebhook } from "./domain/webhook.ts";
import { projectWebhookEvent } from "./projection.ts";
import type { RecordedWebhookEvent } from "./projection.ts";

/** The model event types a webhook may subscribe to: derived from the model stream's events. */
export const deliverableEventTypes = (): readonly string[] => EVENT_TYPES;

export interface WebhookOutcome {
  readonly id: string;
  readonly state: WebhookState;
  readonly events: readonly RecordedWebhookEvent[];
}

type After = (tx: Tx, state: WebhookState, events: readonly RecordedWebhookEvent[]) => Promise<void>;

async function runWebhookCommand(
  deps: CommandDeps,
  id: string,
  command: WebhookCommand,
  metadata: RequestMetadata,
  after?: After,
): Promise<WebhookOutcome | DomainError> {
  const unstorable = checkText("id", id, 256, true);
  if (unstorable) return unstorable;
  const streamId = webhookStream(id);
  const outcome = await retryConflicts(() =>
    deps.db.write(async (tx): Promise<WebhookOutcome | DomainError> => {
      const stored = await readStoredStream(tx, streamId);
      let state: WebhookState | null = null;
      for (const e of stored)
        state = evolveWebhook(state, parseWebhookEvent(e.type, e.schemaVersion, e.data));
      if ((state === null || state.deleted) && command.type !== "RegisterWebhook")
        return new NotFoundError("Webhook", id);
      const decision = decideWebhook(command, state);
      if (decision instanceof DomainError) return decision;
      const meta = {
        actor: metadata.actor,
        occurredAt: deps.clock(),
        correlationId: metadata.correlationId,
        causationId: metadata.causationId ?? null,
      };
      const recorded = await appendRecorded(
        tx,
        streamId,
        stored.at(-1)?.revision ?? 0,
        decision,
        (type) => WEBHOOK_EVENT_SCHEMA_VERSIONS[type],
        meta,
      );
      for (const e of recorded) {
        await projectWebhookEvent(tx, e);
        state = evolveWebhook(state, e);
      }
      if (state === null) throw new Error(`webhook ${id} has no state after its command`);
      await after?.(tx, state, recorded);
      return { id, state, events: recorded };
    }),
  );
  if (outcome instanceof IntegrityError) deps.onIntegrityViolation?.(outcome);
  if (!(outcome instanceof DomainError) && outcome.events.length > 0) deps.onWebhooksChanged?.();
  return outcome;
}

async function storeSecret(tx: Tx, webhookId: string, secret: string, at: Date) {
  await tx.execute("DELETE FROM webhook_secrets WHERE webhook_id = ?", [webhookId]);
  await tx.execute("INSERT INTO webhook_secrets (webhook_id, secret, created_at) VALUES (?, ?, ?)", [
    webhookId,
    secret,
    at,
  ]);
}

export interface RegisterWebhookInput extends WebhookDefinition {
  readonly ownerId: string;
  /** The signing secret (`whsec_…`), generated or checked by the caller. */
  readonly secret: string;
}

/**
 * Registers a webhook. Its cursor starts at the head of the log: it delivers what is committed
 * after its registration, never the history before it.
 */
export function registerWebhook(
  deps: CommandDeps,
  input: RegisterWebhookInput,
  metadata: RequestMetadata,
  webhookId: string = randomUUID(),
): Promise<WebhookOutcome | DomainError> {
  return runWebhookCommand(
    deps,
    webhookId,
    {
      type: "RegisterWebhook",
      data: {
        webhookId,
        ownerId: input.ownerId,
        url: input.url,
        eventTypes: input.eventTypes,
        models: input.models,
        description: input.description,
        knownEventTypes: deliverableEventTypes(),
      },
    },
    metadata,
    async (tx) => {
      await storeSecret(tx, webhookId, input.secret, deps.clock());
      await tx.execute(
        "INSERT INTO webhook_cursors (webhook_id, position, attempts) VALUES (?, (SELECT COALESCE(MAX(position), 0) FROM events), 0)",
        [webhookId],
      );
    },
  );
}

/**
 * Changes a webhook's definition. A failing event is then due at once: the next pass retries it (or
 * passes it, if it no longer applies) instead of waiting out a backoff of up to an hour, since the
 * change (a corrected URL, say) is most often why it would succeed now. Its attempt count goes on.
 */
export const updateWebhook = (
  deps: CommandDeps,
  webhookId: string,
  definition: WebhookDefinition,
  metadata: RequestMetadata,
) =>
  runWebhookCommand(
    deps,
    webhookId,
    { type: "UpdateWebhook", data: { ...definition, knownEventTypes: deliverableEventTypes() } },
    metadata,
    async (tx, _s, events) => {
      if (events.length > 0)
        await tx.execute("UPDATE webhook_cursors SET next_attempt_at = NULL WHERE webhook_id = ?", [
          webhookId,
        ]);
    },
  );

export const rotateWebhookSecret = (
  deps: CommandDeps,
  webhookId: string,
  secret: string,
  metadata: RequestMetadata,
) =>
  runWebhookCommand(deps, webhookId, { type: "RotateWebhookSecret", data: {} }, metadata, (tx) =>
    storeSecret(tx, webhookId, secret, deps.clock()),
  );

export const disableWebhook = (
  deps: CommandDeps,
  webhookId: string,
  reason: DisabledReason,
  detail: string | null,
  metadata: RequestMetadata,
) => runWebhookCommand(deps, webhookId, { type: "DisableWebhook", data: { reason, detail } }, metadata);

/** Enables a webhook; delivery resumes at its cursor (the event that failed, for a FAILING one), retried at once. */
export const enableWebhook = (deps: CommandDeps, webhookId: string, metadata: RequestMetadata) =>
  runWebhookCommand(
    deps,
    webhookId,
    { type: "EnableWebhook", data: {} },
    metadata,
    async (tx, _s, events) => {
      if (events.length > 0)
        await tx.execute(
          "UPDATE webhook_cursors SET attempts = 0, failing_since = NULL, next_attempt_at = NULL WHERE webhook_id = ?",
          [webhookId],
        );
    },
  );

/** Deletes a webhook with its secret, cursor and delivery log (its events stay in the log). */
export const deleteWebhook = (deps: CommandDeps, webhookId: string, metadata: RequestMetadata) =>
  runWebhookCommand(deps, webhookId, { type: "DeleteWebhook", data: {} }, metadata, async (tx) => {
    for (const table of ["webhook_secrets", "webhook_cursors", "webhook_deliveries"])
      await tx.execute(`DELETE FROM ${table} WHERE webhook_id = ?`, [webhookId]);
  });
