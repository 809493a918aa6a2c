// Replays the access context's events into its projection tables. Memberships and tokens reference
// principals in other streams, so events are replayed in log order rather than stream by stream.
import type { Tx } from "../db/database.ts";
import { readStoredEventsAfter } from "../store/eventStore.ts";
import { parseAccessEvent } from "./domain/events.ts";
import { ACCESS_TABLES, projectAccessEvent } from "./projection.ts";

export const ACCESS_STREAM_CATEGORIES = ["principal", "team", "token"] as const;
const PAGE_SIZE = 1000;

/** Clears and refills the access projections inside the rebuild's transaction; returns the event count. */
export async function rebuildAccessProjections(tx: Tx): Promise<{ streams: number; events: number }> {
  for (const table of ACCESS_TABLES) await tx.execute(`DELETE FROM ${table}`);
  const streams = new Set<string>();
  let after = 0;
  let events = 0;
  for (;;) {
    const page = await readStoredEventsAfter(tx, ACCESS_STREAM_CATEGORIES, after, PAGE_SIZE);
    for (const stored of page) {
      await projectAccessEvent(tx, {
        ...stored,
        ...parseAccessEvent(stored.type, stored.schemaVersion, stored.data),
      });
      streams.add(stored.streamId);
    }
    events += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE_SIZE) break;
    after = last.position;
  }
  return { streams: streams.size, events };
}
