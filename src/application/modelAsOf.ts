// Audits ask what a model looked like in the past ("what was in Production on 3 March?", "who could
// manage it when version 4 was promoted?"). The answer is the domain's own fold over a prefix of
// the model's stream: the same evolve that decides commands, so history and current state can
// never disagree. The fold starts from the latest valid snapshot inside the prefix
// (../store/modelSnapshots.ts), so its cost is bounded by the snapshot interval, not by the
// stream's length; a read that folds past a snapshot revision stores that snapshot for the next one.
//
// Which prefix: at a log position, every event of the stream at or before that position (positions
// grow with revisions within a stream, since appends are serialised). At a moment, the events up to
// the first one recorded after that moment. occurredAt comes from the writer's clock, which may
// step back, so "every event recorded at or before the moment" would not always be a prefix: a
// later event stamped earlier would be folded without the event it followed. Stopping at the first
// later-stamped event never shows a change stamped after the moment, and grows with the moment.
import type { Database, Db } from "../db/database.ts";
import { ValidationError } from "../domain/errors.ts";
import { evolveHistory, initialModelHistory } from "../domain/registeredModel/history.ts";
import type { ModelHistory } from "../domain/registeredModel/history.ts";
import type { RegisteredModelState } from "../domain/registeredModel/state.ts";
import { readHashedStreamPage } from "../store/eventStore.ts";
import { SNAPSHOT_INTERVAL, latestUsableSnapshot, saveSnapshots } from "../store/modelSnapshots.ts";
import type { ModelSnapshot, SnapshotBound } from "../store/modelSnapshots.ts";

/** Exactly one of the two, as the caller gave them (validated by `asOfTarget`). */
export type AsOfTarget = { readonly at: Date } | { readonly position: number };

export interface ModelAsOf {
  /** The moment asked about; for a log position, when the last event folded in was recorded. */
  readonly at: Date;
  /** The log position asked about; for a moment, the position of the last event folded in. */
  readonly position: number;
  readonly modelId: string;
  /** Revision of the last event folded in. */
  readonly revision: number;
  readonly state: RegisteredModelState;
  readonly history: ModelHistory;
}

export interface AsOfOptions {
  /** Read and write snapshots (default true); the benchmark turns them off to measure the full fold. */
  readonly snapshots?: boolean;
  /** Revisions that are multiples of this get a snapshot (default SNAPSHOT_INTERVAL; tests use small ones). */
  readonly interval?: number;
}

/** What the fold did, for tests and the benchmark. */
export interface AsOfCost {
  /** Revision of the snapshot the fold started from (0: from the start). */
  readonly fromRevision: number;
  readonly eventsFolded: number;
  readonly snapshotsWritten: number;
}

const PAGE = 1000;

/** Refuses anything but exactly one of `at` and `position`, and a position beyond the log's end. */
export async function asOfTarget(
  database: Pick<Database, "query">,
  at: Date | null | undefined,
  position: number | null | undefined,
): Promise<AsOfTarget> {
  if ((at == null) === (position == null))
    throw new ValidationError("at", "give exactly one of at and position");
  if (at != null) return { at };
  const asked = position ?? 0;
  if (!Number.isSafeInteger(asked) || asked < 0)
    throw new ValidationError("position", "must be a log position (an integer, 0 or more)");
  const [last] = await database.query<{ end_position: number | string | null }>(
    "SELECT MAX(position) AS end_position FROM events",
  );
  const end = Number(last?.end_position ?? 0);
  if (asked > end)
    throw new ValidationError("position", `is beyond the end of the log (its last position is ${end})`);
  return { position: asked };
}

/**
 * The model whose current name (live, else most recently deleted) is `name`, as it was at the
 * target; null when no such model is readable through `reader` or it had not been registered yet.
 */
export async function modelAsOf(
  database: Database,
  reader: Db,
  name: string,
  target: AsOfTarget,
  options: AsOfOptions = {},
): Promise<(ModelAsOf & { readonly cost: AsOfCost }) | null> {
  const model = await reader.registeredModel.findFirst({
    where: { name },
    orderBy: [{ deleted: "asc" }, { deletedAt: "desc" }],
    select: { id: true },
  });
  if (!model) return null;
  return streamAsOf(database, model.id, target, options);
}

/** The model of stream `streamId` as it was at the target (no access check: callers check readability). */
export async function streamAsOf(
  database: Database,
  streamId: string,
  target: AsOfTarget,
  options: AsOfOptions = {},
): Promise<(ModelAsOf & { readonly cost: AsOfCost }) | null> {
  const useSnapshots = options.snapshots ?? true;
  const interval = options.interval ?? SNAPSHOT_INTERVAL;
  const bound: SnapshotBound = "at" in target ? { at: target.at } : { position: target.position };
  const start = useSnapshots ? await latestUsableSnapshot(database, streamId, bound) : null;

  let history = start?.history ?? initialModelHistory;
  let last = start;
  let maxOccurredAt = start?.maxOccurredAt ?? null;
  let eventsFolded = 0;
  const reached: ModelSnapshot[] = [];
  let done = false;
  while (!done) {
    const page = await readHashedStreamPage(database, streamId, {
      afterRevision: last?.revision ?? 0,
      limit: PAGE,
      ...("position" in target ? { maxPosition: target.position } : {}),
    });
    done = page.length < PAGE;
    for (const { event, hash } of page) {
      if ("at" in target && event.occurredAt.getTime() > target.at.getTime()) {
        done = true;
        break;
      }
      history = evolveHistory(history, event);
      eventsFolded++;
      if (maxOccurredAt === null || event.occurredAt > maxOccurredAt) maxOccurredAt = event.occurredAt;
      last = {
        streamId,
        revision: event.revision,
        position: event.position,
        occurredAt: event.occurredAt,
        maxOccurredAt,
        // Events from before the chain existed were all hashed by its migration.
        hash: hash ?? "",
        history,
      };
      if (event.revision % interval === 0 && hash !== null) reached.push(last);
    }
  }
  let snapshotsWritten = 0;
  if (useSnapshots && reached.length > 0) {
    try {
      await saveSnapshots(database, reached);
      snapshotsWritten = reached.length;
    } catch {
      // A snapshot only saves later reads some work; this read's answer stands, the next one retries.
    }
  }
  if (last === null) return null;
  return {
    at: "at" in target ? target.at : last.occurredAt,
    position: "position" in target ? target.position : last.position,
    modelId: streamId,
    revision: last.revision,
    state: history.model,
    history,
    cost: { fromRevision: start?.revision ?? 0, eventsFolded, snapshotsWritten },
  };
}
