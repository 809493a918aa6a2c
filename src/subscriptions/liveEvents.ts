// Wires the EventHub to the database: the event table is the source (its model events for
// delivery, its access events for the subscriptions they concern), and the wake-ups are the
// in-process commit hook (both providers), PostgreSQL NOTIFY (commits by any instance sharing the
// database) and, on PostgreSQL, a slow safety poll in case the LISTEN connection is silently dead.
import type { Logger } from "pino";
import { readAccessChanges } from "../access/subscriberAccess.ts";
import type { Database } from "../db/database.ts";
import type { IntegrityError } from "../domain/errors.ts";
import { lastPosition, readAll } from "../store/eventStore.ts";
import type { CommittedEvent } from "../store/recordedEvent.ts";
import { listenForAppends } from "./appendNotifications.ts";
import type { AppendListener } from "./appendNotifications.ts";
import { EventHub } from "./eventHub.ts";

export interface SubscriptionOptions {
  /** Notifications a subscriber may have waiting before it is disconnected as too slow (default 10,000). */
  readonly maxBufferedNotifications?: number;
  /** PostgreSQL only: also read the table this often (ms) in case a notification was lost; 0 disables. Default 5,000. */
  readonly pollIntervalMs?: number;
}

export interface LiveEvents {
  readonly hub: EventHub;
  /**
   * Subscription events executed, and those a subscriber got from an identical execution for
   * another (src/graphql/sharedSubscriptionExecution.ts counts both).
   */
  readonly executions: { executed: number; shared: number };
  /** The in-process commit hook (CommandDeps.onCommitted). */
  committed(events: readonly CommittedEvent[]): void;
  /** Ends all subscriptions and stops listening. Idempotent. */
  close(): Promise<void>;
}

export async function startLiveEvents(
  db: Database,
  logger: Logger,
  options: SubscriptionOptions = {},
  /** An event in the log that its chain or its model's projection cannot vouch for (it is skipped). */
  onBroken?: (error: IntegrityError) => void,
): Promise<LiveEvents> {
  const log = logger.child({ component: "subscriptions" });
  const hub = new EventHub(
    {
      readAfter: (position, limit) => readAll(db, position, limit, onBroken),
      lastPosition: () => lastPosition(db.reader),
      readAccessChanges: (position, limit) => readAccessChanges(db, position, limit),
    },
    {
      ...(options.maxBufferedNotifications === undefined
        ? {}
        : { maxBufferedNotifications: options.maxBufferedNotifications }),
      onError: (error) => log.error({ err: error }, "reading the event log failed; retrying"),
    },
  );
  await hub.start();

  let listener: AppendListener | null = null;
  let poll: NodeJS.Timeout | null = null;
  if (db.pgPool) {
    listener = await listenForAppends(db.pgPool, log, (position) => hub.wake(position));
    const every = options.pollIntervalMs ?? 5_000;
    if (every > 0) poll = setInterval(() => hub.wake(), every).unref();
  }
  // LISTEN became active after start() read the head: catch up on anything committed in between.
  hub.wake();

  let closing: Promise<void> | null = null;
  return {
    hub,
    executions: { executed: 0, shared: 0 },
    committed(events) {
      hub.wake(events.at(-1)?.position ?? null);
    },
    close() {
      closing ??= (async () => {
        if (poll) clearInterval(poll);
        await hub.close();
        await listener?.close();
      })();
      return closing;
    },
  };
}
