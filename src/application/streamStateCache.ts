// PostgreSQL (#18): what a model command is decided on (the stream's head and the views its rule
// reads), as this instance's last command on the stream left it. A command whose stream is known
// here skips the round trip that locks the stream and reads its state: it decides on the remembered
// state and sends one batch (BEGIN, the stream lock, a guard that the remembered head is still the
// stream's head, the append lock, the writes, COMMIT). When the guard fails (another instance or
// process wrote the stream meanwhile, or the log changed outside Registro), the transaction rolls
// back, the entry is gone, and the command runs again on the normal path, which reads everything.
//
// Exactness: an entry is taken out of the cache by the command that uses it and only put back (or
// replaced) by a command whose writes are on their way to their commit: the next command on the
// stream may be decided on the state that one will leave (its guard, after that one's writes in the
// same group commit or behind its stream lock, fails if that one did not commit); any failure,
// rollback or unknown outcome leaves the stream out of the cache. Projection rows of a model stream change only with an append to it (the
// inline projection, ../projections/streamViews.ts), so a head that still holds means the views do.
import type { Tx } from "../db/database.ts";
import type { StateNeeds } from "../domain/registeredModel/decide.ts";
import type { CommentView } from "../comments/projection/evolve.ts";
import type { ArtifactView } from "../projections/modelVersionArtifacts/evolve.ts";
import type { ModelVersionView } from "../projections/modelVersions/evolve.ts";
import type { StreamViews } from "../projections/streamViews.ts";
import { storedHash } from "../store/eventCodec.ts";
import type { OwnHead } from "../store/ownHeads.ts";

/** Streams remembered per database; the least recently used is forgotten past it. */
export const MAX_CACHED_STREAMS = 1_000;
/** Versions (with their artifacts) and comments remembered per stream; the oldest go first. */
export const MAX_CACHED_ITEMS = 32;
/**
 * What all entries may weigh together, in characters of their views as JSON (about; see weightOf):
 * a version's params, description and tags can reach about a megabyte, so the counts above alone
 * would let an instance hold gigabytes. Past it the least recently used entries go.
 */
export const MAX_CACHED_WEIGHT = 32 * 1024 * 1024;
/** An entry heavier than this is not kept at all (its stream's next command reads its state). */
export const MAX_ENTRY_WEIGHT = 4 * 1024 * 1024;
/** Views are a few levels deep; one nested deeper than this (or cyclic) is not kept. */
const MAX_VIEW_DEPTH = 32;

/** Each view's weight, computed once: views are immutable, and a command reuses the unchanged ones. */
const weights = new WeakMap<object, number>();

/**
 * About what a value weighs as JSON text, without writing it (JSON.stringify, with the dates' ISO
 * strings, cost ten times as much, on every command): strings by length, each key with its quotes
 * and colon, numbers, booleans, null and dates at their usual size. Infinite past MAX_VIEW_DEPTH.
 */
function jsonWeight(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
    case "bigint":
      return 16;
    case "boolean":
      return 5;
    case "object": {
      if (value === null) return 4;
      if (value instanceof Date) return 26;
      if (depth >= MAX_VIEW_DEPTH) return Number.POSITIVE_INFINITY;
      let weight = 2;
      if (Array.isArray(value)) {
        for (const item of value as readonly unknown[]) weight += jsonWeight(item, depth + 1) + 1;
        return weight;
      }
      for (const key in value)
        weight += key.length + 4 + jsonWeight((value as Record<string, unknown>)[key], depth + 1);
      return weight;
    }
    default:
      return 0;
  }
}

/**
 * A view's (or list's) weight (jsonWeight); null weighs nothing. One nested too deep weighs more
 * than any entry may (it is not kept): remembering runs after the commit, and must not fail a
 * command that has committed.
 */
function weightOf(view: object | null): number {
  if (view === null) return 0;
  let weight = weights.get(view);
  if (weight === undefined) {
    weight = jsonWeight(view, 0);
    weights.set(view, weight);
  }
  return weight;
}

/** What an entry weighs: its model, versions, artifacts, comments and the head's payload. */
function entryWeight(entry: Entry): number {
  const { views, head } = entry;
  let weight = weightOf(views.model) + head.appended.data.length;
  for (const version of views.versions.values()) weight += weightOf(version);
  for (const list of views.artifacts.values()) weight += weightOf(list);
  for (const comment of views.comments.values()) weight += weightOf(comment);
  return weight;
}

/** A stream's last event as this instance appended it (the shape SQLite's own heads keep too). */
export type CachedHead = OwnHead;

interface Entry {
  readonly head: CachedHead;
  /** The model (always), and the versions, artifacts and comments commands loaded or touched. */
  readonly views: StreamViews;
  /** Remembered when the command's writes were queued, before they committed (see `confirm`). */
  readonly provisional?: true;
}

/** Where a command stands in its stream's queue of this instance's commands (StreamStateCache.turn). */
interface Place {
  /** Its writes are queued for their commit (or it is done). */
  readonly queued: Promise<void>;
  /** It is done: committed, refused or failed. */
  readonly settled: Promise<void>;
}

/** A command's turn on its stream (StreamStateCache.turn). */
export interface Turn {
  /** The state it decides on without reading, taken out of the cache; null: it reads everything. */
  readonly cached: CachedState | null;
  /** Its writes are queued for their commit and the state they leave remembered: the next may go on. */
  queued(): void;
  /** It is done (committed, refused or failed): the next may read. A second call does nothing. */
  end(): void;
}

/** A command's state taken from the cache: views shaped as the normal path would load them. */
export interface CachedState {
  readonly head: CachedHead;
  readonly views: StreamViews;
  /** The whole entry, which the command's own result builds on. */
  readonly entry: Entry;
}

/**
 * Fails (division by zero, SQLSTATE 22012) unless `head` is the stream's last event, unchanged, and
 * the model's projection is at its revision. Unchanged means every value its chain hash covers is
 * the one this instance hashed when it appended it (payload compared as jsonb, actor through its
 * row of event_actors, type through its name), and the event before it still has the hash it was
 * chained onto: the head then holds without being read and hashed again, exactly as the normal
 * path's full check (../store/eventStore.ts, verifiedHead) would find; anything else sends the
 * command down that path, which refuses a broken head. Sent after the stream lock, so what it
 * checks stays true until the commit. Not the head's position itself: (stream, revision) is unique,
 * and a head remembered before its commit (a command queued behind the one that appends it) has
 * none yet; but that it lies after the event before it, as the full check requires.
 */
export function headGuard(
  streamId: string,
  head: CachedHead,
): { sql: string; params: (string | number | Buffer | Date | null)[] } {
  const event = head.appended;
  const actor = event.actor;
  return {
    // The stream and revision again in NOT EXISTS rather than correlated: the generic plan then
    // seeks the index past the revision instead of filtering every event of the stream.
    sql: `SELECT 1 / COUNT(*) AS current FROM events e JOIN registered_models m ON m.id = e.stream_id AND m.revision = e.revision
      JOIN event_types t ON t.code = e.type JOIN event_actors a ON a.id = e.actor_ref
      WHERE e.stream_id = ? AND e.revision = ? AND e.hash = ?
      AND t.name = ?::text AND e.schema_version = ?::integer AND e.data = ?::jsonb AND e.actor_ref = ?::integer
      AND e.occurred_at = ? AND e.correlation_id IS NOT DISTINCT FROM ?::text AND e.causation_id IS NOT DISTINCT FROM ?::text
      AND a.actor = ?::text AND a.actor_id IS NOT DISTINCT FROM ?::text AND a.actor_kind IS NOT DISTINCT FROM ?::text
      AND a.actor_credential IS NOT DISTINCT FROM ?::jsonb
      AND (SELECT p.hash FROM events p WHERE p.stream_id = ? AND p.revision = ?::integer - 1 AND p.position < e.position) IS NOT DISTINCT FROM ?::bytea
      AND NOT EXISTS (SELECT 1 FROM events n WHERE n.stream_id = ? AND n.revision > ?)`,
    params: [
      streamId,
      head.revision,
      storedHash(head.hash),
      event.type,
      event.schemaVersion,
      event.data,
      event.actorRef,
      event.occurredAt,
      event.correlationId,
      event.causationId,
      actor.actor,
      actor.actorId,
      actor.actorKind,
      actor.actorCredential,
      streamId,
      head.revision,
      event.previousHash === null ? null : storedHash(event.previousHash),
      streamId,
      head.revision,
    ],
  };
}

/** Whether a write failed on headGuard: the remembered state is stale, and nothing was written. */
export const isStaleState = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "22012";

/** Sends headGuard with the transaction's next round trip (after its stream lock). */
export function guardHead(tx: Tx, streamId: string, head: CachedHead): Promise<void> {
  const guard = headGuard(streamId, head);
  return tx.expect(guard.sql, guard.params);
}

export class StreamStateCache {
  private readonly streams = new Map<string, Entry>();
  /** Each cached entry's weight (entryWeight), and their sum. */
  private readonly weightOfEntry = new Map<string, number>();
  private total = 0;
  /** Per stream, the place of the last command of this instance waiting for it or holding it. */
  private readonly turns = new Map<string, Place>();

  /**
   * Waits for the command of this instance that asked before on the stream, and takes the state
   * this one decides on (`needs`; null: it reads everything). Commands on one stream wait for each
   * other at its lock anyway; waiting here instead, each finds the state the one before it left, and
   * no connection is held while waiting. A command that can decide on the state the one before it
   * will leave goes on once that one's writes are queued for their commit (`Turn.queued`: it is
   * remembered then, and its guard follows that one's writes); one that must read waits until that
   * one is done (`Turn.end`), or it would read the state before that one's writes, lock the stream
   * ahead of them, and make that one's group commit fail at its guard.
   */
  async turn(streamId: string, needs: StateNeeds | null): Promise<Turn> {
    const before = this.turns.get(streamId);
    let queued!: () => void;
    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    const place: Place = {
      queued: new Promise<void>((resolve) => (queued = resolve)),
      // Done only once every command before it on the stream is: one that reads goes after them all.
      settled: before === undefined ? done : Promise.all([done, before.settled]).then(() => undefined),
    };
    this.turns.set(streamId, place);
    const end = () => {
      if (this.turns.get(streamId) === place) this.turns.delete(streamId);
      queued();
      settled();
    };
    try {
      if (before !== undefined) await before.queued;
      let cached = needs === null ? null : this.take(streamId, needs);
      if (cached === null && before !== undefined) {
        await before.settled;
        cached = needs === null ? null : this.take(streamId, needs);
      }
      return { cached, queued, end };
    } catch (error) {
      // Never leave the commands after it waiting for a turn nobody holds.
      end();
      throw error;
    }
  }

  /**
   * Takes a stream's entry out of the cache when it holds everything `needs` asks for, and returns
   * the views the normal path would have loaded (../projections/streamViews.ts, loadStreamViews):
   * the model, the named versions with their artifacts, the named comment. Commands that need
   * every version in a stage, the open review requests or the deployments read them instead.
   */
  take(streamId: string, needs: StateNeeds): CachedState | null {
    const entry = this.streams.get(streamId);
    if (entry === undefined) return null;
    const views = viewsFor(entry.views, needs);
    if (views === null) return null;
    this.drop(streamId);
    return { head: entry.head, entry, views };
  }

  /** Puts back an entry a command took and committed nothing on top of (its guard held). */
  restore(streamId: string, state: CachedState): void {
    // Its guard committed: a provisional entry it took is the stream's committed state now.
    this.put(streamId, { head: state.entry.head, views: state.entry.views });
  }

  /** Whether the stream's entry is the one with the head `hash`. */
  holds(streamId: string, hash: string): boolean {
    return this.streams.get(streamId)?.head.hash === hash;
  }

  /**
   * Records a stream's state after a command committed events on top of revision `decidedOn`, or
   * (`provisional`) once they are queued for their commit: `views` as the command left them, plus
   * what an entry at `decidedOn` (the one the command took, or a committed one still cached) held
   * that the events did not touch (so it is still true).
   */
  remember(
    streamId: string,
    decidedOn: number,
    head: CachedHead,
    views: StreamViews,
    taken: CachedState | null,
    provisional = false,
  ): void {
    if (views.model === null || views.model.revision !== head.revision) return;
    const current = this.streams.get(streamId);
    // A provisional entry may never be committed: only the command that took it builds on it.
    const base =
      taken?.entry ??
      (current?.head.revision === decidedOn && current.provisional !== true ? current : undefined);
    const versions = newestLast(base?.views.versions, views.versions);
    const artifacts = new Map(
      [...versions.keys()].flatMap((v) => {
        const list = views.artifacts.get(v) ?? base?.views.artifacts.get(v);
        return list === undefined ? [] : [[v, list] as const];
      }),
    );
    this.put(streamId, {
      head,
      ...(provisional ? { provisional: true } : {}),
      views: {
        ...views,
        versions,
        artifacts,
        comments: newestLast(base?.views.comments, views.comments),
        reviews: new Map(),
        deployments: new Map(),
      },
    });
  }

  /** Forgets a stream (tests; a caller that knows its entry is wrong). */
  forget(streamId: string): void {
    this.drop(streamId);
  }

  /**
   * The command that remembered the head with `hash` provisionally has committed it: the entry, if
   * it is still that one, is committed state from now on.
   */
  confirm(streamId: string, hash: string): void {
    const entry = this.streams.get(streamId);
    if (entry?.provisional === true && entry.head.hash === hash)
      this.streams.set(streamId, { head: entry.head, views: entry.views });
  }

  /** Forgets the stream's entry if it is the provisional one with `hash` (its write runs again, or failed). */
  forgetProvisional(streamId: string, hash: string): void {
    const entry = this.streams.get(streamId);
    if (entry?.provisional === true && entry.head.hash === hash) this.drop(streamId);
  }

  get size(): number {
    return this.streams.size;
  }

  /** What the cached entries weigh together (tests). */
  get weight(): number {
    return this.total;
  }

  private drop(streamId: string): void {
    this.streams.delete(streamId);
    this.total -= this.weightOfEntry.get(streamId) ?? 0;
    this.weightOfEntry.delete(streamId);
  }

  private put(streamId: string, entry: Entry): void {
    // Another command on the stream may have committed later and been remembered first; committed
    // state replaces a provisional entry of its revision (whose command then cannot commit).
    const current = this.streams.get(streamId);
    const replaces =
      current?.provisional === true &&
      entry.provisional !== true &&
      current.head.revision === entry.head.revision;
    if (current !== undefined && current.head.revision >= entry.head.revision && !replaces) return;
    this.drop(streamId);
    const weight = entryWeight(entry);
    if (weight > MAX_ENTRY_WEIGHT) return;
    this.streams.set(streamId, entry);
    this.weightOfEntry.set(streamId, weight);
    this.total += weight;
    // The least recently remembered first (a Map iterates in insertion order).
    for (const oldest of this.streams.keys()) {
      if (this.streams.size <= MAX_CACHED_STREAMS && this.total <= MAX_CACHED_WEIGHT) break;
      if (oldest !== streamId) this.drop(oldest);
    }
  }
}

/**
 * What a command with these needs decides on, taken from views a command left (shaped as
 * loadStreamViews would load it: the model, the named versions with their artifacts, the named
 * comment); null when they lack some of it, or the command needs what they never hold (every
 * version in a stage, the open review requests, the deployments).
 */
export function viewsFor(views: StreamViews, needs: StateNeeds): StreamViews | null {
  if (needs.versionsInStage !== null || needs.openReviews || needs.deployments || needs.deployment)
    return null;
  const comments = new Map<string, CommentView | null>();
  const numbers = new Set(needs.versions);
  if (needs.comment !== undefined) {
    if (!views.comments.has(needs.comment)) return null;
    const comment = views.comments.get(needs.comment) ?? null;
    comments.set(needs.comment, comment);
    if (comment !== null) numbers.add(comment.version);
  }
  const versions = new Map<number, ModelVersionView | null>();
  const artifacts = new Map<number, readonly ArtifactView[]>();
  for (const number of numbers) {
    if (!views.versions.has(number)) return null;
    const version = views.versions.get(number) ?? null;
    versions.set(number, version);
    if (version === null) continue;
    const list = views.artifacts.get(number);
    if (list === undefined) return null;
    artifacts.set(number, list);
  }
  return {
    streamId: views.streamId,
    model: views.model,
    versions,
    artifacts,
    comments,
    reviews: new Map(),
    deployments: new Map(),
  };
}

/** `older` entries `newer` does not replace, then `newer`'s, at most MAX_CACHED_ITEMS (the oldest go). */
function newestLast<K, V>(older: ReadonlyMap<K, V> | undefined, newer: ReadonlyMap<K, V>): Map<K, V> {
  const entries = [...(older ?? new Map<K, V>())].filter(([key]) => !newer.has(key));
  return new Map([...entries, ...newer].slice(-MAX_CACHED_ITEMS));
}
