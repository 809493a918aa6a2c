// Inline projection of webhook events into `webhooks`, in the same transaction as the append (a
// query right after a mutation sees it). Pure of anything but the event: rebuildable from the log
// (rebuildWebhookProjection). The delivery state (cursor, secret, delivery log) is not a projection.
import type { Database, Tx } from "../db/database.ts";
import { rowInt, rowJson } from "../db/sql.ts";
import { COLUMNS, EVENTS, metadataOfSqlRow } from "../store/eventStore.ts";
import type { EventSqlRow, Recorded } from "../store/eventStore.ts";
import type { WebhookEvent } from "./domain/events.ts";
import { WEBHOOK_STREAM_CATEGORY, parseWebhookEvent } from "./domain/events.ts";

/** A webhook event as committed. */
export type RecordedWebhookEvent = Recorded<WebhookEvent>;

const streamEntity = (streamId: string) => streamId.slice(streamId.indexOf(":") + 1);

export async function projectWebhookEvent(tx: Tx, e: RecordedWebhookEvent): Promise<void> {
  const id = streamEntity(e.streamId);
  const at = e.occurredAt;
  switch (e.type) {
    case "WebhookRegistered":
      await tx.execute(
        `INSERT INTO webhooks (id, owner_id, url, description, event_types, models, enabled, created_at, created_by, updated_at, revision)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.data.webhookId,
          e.data.ownerId,
          e.data.url,
          e.data.description,
          JSON.stringify(e.data.eventTypes),
          e.data.models === null ? null : JSON.stringify(e.data.models),
          true,
          at,
          e.actor.displayName,
          at,
          e.revision,
        ],
      );
      return;
    case "WebhookUpdated":
      await tx.execute(
        "UPDATE webhooks SET url = ?, description = ?, event_types = ?, models = ?, updated_at = ?, revision = ? WHERE id = ?",
        [
          e.data.url,
          e.data.description,
          JSON.stringify(e.data.eventTypes),
          e.data.models === null ? null : JSON.stringify(e.data.models),
          at,
          e.revision,
          id,
        ],
      );
      return;
    case "WebhookSecretRotated":
      await tx.execute("UPDATE webhooks SET updated_at = ?, revision = ? WHERE id = ?", [at, e.revision, id]);
      return;
    case "WebhookDisabled":
      await tx.execute(
        "UPDATE webhooks SET enabled = ?, disabled_reason = ?, disabled_detail = ?, updated_at = ?, revision = ? WHERE id = ?",
        [false, e.data.reason, e.data.detail, at, e.revision, id],
      );
      return;
    case "WebhookEnabled":
      await tx.execute(
        "UPDATE webhooks SET enabled = ?, disabled_reason = NULL, disabled_detail = NULL, updated_at = ?, revision = ? WHERE id = ?",
        [true, at, e.revision, id],
      );
      return;
    case "WebhookDeleted":
      await tx.execute("DELETE FROM webhooks WHERE id = ?", [id]);
      return;
  }
}

/** The projection table. */
export const WEBHOOK_TABLES = ["webhooks"] as const;

/**
 * Rebuilds `webhooks` from the `webhook:…` streams in one transaction (a small table: one row per
 * webhook). Returns the number of events replayed.
 */
export async function rebuildWebhookProjection(db: Database): Promise<number> {
  return db.write(async (tx) => {
    await tx.execute("DELETE FROM webhooks");
    let after = 0;
    let replayed = 0;
    for (;;) {
      const rows = await tx.query<EventSqlRow>(
        `SELECT position, ${COLUMNS}
         FROM ${EVENTS} WHERE position > ? AND stream_id LIKE ? ORDER BY position LIMIT 500`,
        [after, `${WEBHOOK_STREAM_CATEGORY}:%`],
      );
      for (const row of rows) {
        const event = parseWebhookEvent(row.type, rowInt(row.schema_version), rowJson(row.data));
        await projectWebhookEvent(tx, { ...event, ...metadataOfSqlRow(row) });
        replayed += 1;
      }
      const last = rows.at(-1);
      if (last === undefined || rows.length < 500) return replayed;
      after = rowInt(last.position);
    }
  });
}
