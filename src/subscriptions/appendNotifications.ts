// Wake-ups across processes on PostgreSQL: every write transaction ends with
// pg_notify(APPEND_CHANNEL, <newest position>) (see Database.write), which PostgreSQL delivers only
// when, and only if, the transaction commits. Each process holds one dedicated LISTEN connection and
// turns notifications into EventHub wake-ups. Notifications carry no events: the table stays the
// source of truth, so a lost connection costs nothing but a catch-up read after reconnecting.
import pg from "pg";
import type { Logger } from "pino";
import { APPEND_CHANNEL } from "../db/database.ts";

export interface AppendListener {
  close(): Promise<void>;
}

/**
 * LISTENs on a connection of its own (a pooled one would be handed to other queries), reconnecting
 * with back-off. `onAppend(null)` after a reconnect means "notifications may have been missed".
 * `notifier` is the server process id of the committing connection (see Database.writerBackends).
 * Resolves once the first LISTEN is active, so nothing committed after start-up goes unnoticed.
 */
export async function listenForAppends(
  pool: pg.Pool,
  logger: Logger,
  onAppend: (position: number | null, notifier: number | null) => void,
): Promise<AppendListener> {
  let client: pg.Client | null = null;
  let closed = false;
  let reconnect: NodeJS.Timeout | null = null;
  let failures = 0;

  const connect = async () => {
    const next = new pg.Client({ ...pool.options, keepAlive: true });
    next.on("notification", (message) => {
      const position = Number(message.payload);
      onAppend(Number.isSafeInteger(position) ? position : null, message.processId);
    });
    const lost = (error?: Error) => {
      if (client !== next) return;
      client = null;
      next.removeAllListeners("end");
      void next.end().catch(() => undefined);
      if (closed) return;
      logger.warn({ err: error }, "lost the LISTEN connection; reconnecting");
      schedule();
    };
    next.on("error", lost);
    next.on("end", () => lost());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${APPEND_CHANNEL}`);
    } catch (error) {
      if (client === next) client = null;
      next.removeAllListeners("end");
      void next.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      client = null;
      await next.end().catch(() => undefined);
      return;
    }
    failures = 0;
  };

  const schedule = () => {
    if (closed || reconnect) return;
    const delay = Math.min(100 * 2 ** failures++, 5_000);
    reconnect = setTimeout(() => {
      reconnect = null;
      connect().then(
        () => onAppend(null, null),
        (error: unknown) => {
          logger.warn({ err: error }, "LISTEN reconnect failed");
          schedule();
        },
      );
    }, delay);
    reconnect.unref();
  };

  await connect();
  return {
    async close() {
      closed = true;
      if (reconnect) clearTimeout(reconnect);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}
