// Rebuilds every projection from the event log: after a projection bug is fixed, a read model is
// added, or to prove the projections still agree with the log. The same pure evolve functions and
// writer as the inline projection are used, so a rebuild reproduces exactly what commands wrote.
import type { Database, Tx } from "../db/database.ts";
import { rebuildAccessProjections } from "../access/rebuildAccessProjections.ts";
import { readStreamInTransaction, streamCategory, streamIdsAfter } from "../store/eventStore.ts";
import { applyEvents, emptyStreamViews, persistStreamViews } from "./streamViews.ts";
import type { StreamViews } from "./streamViews.ts";

const STREAM_PAGE_SIZE = 500;
const EVENT_PAGE_SIZE = 1000;

export interface RebuildSummary {
  readonly streams: number;
  readonly events: number;
}

/** Model projection rows only (access clears its own): the events table is immutable (its triggers would refuse anyway). */
async function clearProjections(tx: Tx): Promise<void> {
  // Children first, so the rebuild does not depend on ON DELETE CASCADE being honoured.
  for (const table of [
    "model_version_artifacts",
    "model_aliases",
    "model_permissions",
    "model_version_tags",
    "model_version_metrics",
    "model_versions",
    "registered_model_tags",
    "registered_models",
  ]) {
    await tx.execute(`DELETE FROM ${table}`);
  }
}

/** Stream ids in order of their first event (every stream starts at revision 1), a page at a time. */
async function* streamIdsByFirstPosition(tx: Tx): AsyncGenerator<string> {
  let afterPosition = 0;
  for (;;) {
    const page = await streamIdsAfter(tx, afterPosition, STREAM_PAGE_SIZE);
    // Other contexts' streams (`principal:…`) are rebuilt by their own context below.
    for (const row of page) if (streamCategory(row.streamId) === "registeredModel") yield row.streamId;
    const last = page.at(-1);
    if (last === undefined || page.length < STREAM_PAGE_SIZE) return;
    afterPosition = last.position;
  }
}

/** Folds one stream into its views; only that stream's views (not its events) are held in memory. */
async function replayStream(tx: Tx, streamId: string): Promise<{ views: StreamViews; events: number }> {
  let views = emptyStreamViews(streamId);
  let revision = 0;
  let events = 0;
  for (;;) {
    const page = await readStreamInTransaction(tx, streamId, {
      afterRevision: revision,
      limit: EVENT_PAGE_SIZE,
    });
    const last = page.at(-1);
    if (last === undefined) break;
    views = applyEvents(views, page);
    revision = last.revision;
    events += page.length;
    if (page.length < EVENT_PAGE_SIZE) break;
  }
  return { views, events };
}

/**
 * Deletes every projection row and replays the whole log into them, in one write transaction:
 * readers see the old projections until the new ones are committed, and writers wait.
 */
export async function rebuildProjections(db: Database): Promise<RebuildSummary> {
  return db.write(async (tx) => {
    await clearProjections(tx);
    let streams = 0;
    let events = 0;
    for await (const streamId of streamIdsByFirstPosition(tx)) {
      const replayed = await replayStream(tx, streamId);
      await persistStreamViews(tx, emptyStreamViews(streamId), replayed.views);
      streams += 1;
      events += replayed.events;
    }
    const access = await rebuildAccessProjections(tx);
    return { streams: streams + access.streams, events: events + access.events };
  });
}
