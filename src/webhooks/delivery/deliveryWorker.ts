// The delivery worker: follows the event log from each webhook's stored cursor and POSTs every
// matching model event, one at a time and in log order (a failing event blocks the ones behind it,
// so receivers see a webhook's events in order). At least once: the cursor moves past an event it
// still wants only after its delivery succeeded (in the transaction that logs the attempt), so a
// crash mid-delivery means the event is sent again, with the same webhook-id.
//
// The attempt count, failing-since time and retry time of a cursor belong to the event right after
// it: a failed attempt leaves the cursor just before the failing event, and every other move of the
// cursor past it (the event no longer applies: filter changed, model gone, owner without READ)
// starts them afresh, so the next event does not inherit another event's backoff or retry window.
//
// Several instances on one PostgreSQL database share the work with a lease per webhook (a
// conditional UPDATE, so it works on both providers): only the lease holder delivers and moves the
// cursor (every cursor write is conditional on still holding it). A lease that is not renewed
// expires, and another instance carries on from the cursor.
//
// Most webhooks want nothing of most commits. A pass therefore reads the new page of the log once
// for all the webhooks whose cursors stand at the same position (usually all of them: caught up),
// decides in memory which of them want one of its events, and hands only those to a delivery loop
// of their own (lease, page, deliveries). The others' cursors are moved past the page together, in
// one conditional UPDATE (the cursor still where it was read, no retry pending, no lease of another
// instance): the same effect as taking the lease, moving the cursor and letting go, in one
// statement, so the statements a commit costs do not grow with the number of idle webhooks.
//
// Loops are few (`concurrency`), webhooks many, and any member may own a slow one. A loop that has
// had its share (FAIR_SHARE_MS, at least one delivery) gives its slot up, at the next event it would
// deliver, when a pass turned a webhook away for want of a free loop: it keeps what it delivered,
// lets its lease go and waits for its turn. Passes launch webhooks that were waiting before those
// that gave a slot up, and those in the order they gave it up: round robin over the slots. A
// webhook still has at most one loop, so its events still go out one at a time in log order.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { accessRights, permissionOn } from "../../access/modelAccess.ts";
import type { AccessPolicy, AccessRights } from "../../access/modelAccess.ts";
import type { Caller, RegistryRole } from "../../access/principal.ts";
import { systemActor } from "../../access/actor.ts";
import type { CommandDeps } from "../../application/executeCommand.ts";
import type { Database, Tx } from "../../db/database.ts";
import { rowDateOrNull, rowInt, rowJson } from "../../db/sql.ts";
import { grantsFrom, includesPermission } from "../../domain/modelPermissions.ts";
import type { Grants } from "../../domain/modelPermissions.ts";
import { readAll, readTailPage } from "../../store/eventStore.ts";
import type { TailPage } from "../../store/eventStore.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { listenForAppends } from "../../subscriptions/appendNotifications.ts";
import type { AppendListener } from "../../subscriptions/appendNotifications.ts";
import { disableWebhook } from "../webhookCommands.ts";
import { signMessage } from "../signing.ts";
import { eventMessage, messageIdFor, pingMessage } from "./message.ts";
import type { WebhookMessage } from "./message.ts";
import { sendWebhook } from "./sendWebhook.ts";
import type { SendOutcome } from "./sendWebhook.ts";
import type { TargetAllowList } from "./targetGuard.ts";
import { storablePrefix } from "../../domain/validation.ts";

export interface DeliveryConfig {
  /** Whole-request deadline of one delivery (ms). */
  readonly timeoutMs: number;
  /** Response bytes read per delivery; a longer answer is a failure. */
  readonly maxResponseBytes: number;
  /** First retry delay (ms); doubled per failed attempt (with jitter), at most an hour. */
  readonly retryBaseMs: number;
  /** How long an event may keep failing before the webhook is disabled (ms). */
  readonly maxRetryDurationMs: number;
  /** Lease of a webhook held by the instance delivering it (ms); another instance takes over after it lapses. */
  readonly leaseMs: number;
  /** Safety poll (ms): commits wake the worker directly; this catches retries and missed wake-ups. */
  readonly pollIntervalMs: number;
  /** Webhooks this instance delivers to at once. */
  readonly concurrency: number;
  /** Delivery log rows older than this are pruned (ms). */
  readonly logRetentionMs: number;
  /** Internal targets allowed despite the SSRF guard. */
  readonly allow: TargetAllowList;
}

export const DEFAULT_DELIVERY_CONFIG: Omit<DeliveryConfig, "allow"> = {
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
  retryBaseMs: 5_000,
  maxRetryDurationMs: 24 * 3_600_000,
  leaseMs: 30_000,
  pollIntervalMs: 1_000,
  concurrency: 16,
  logRetentionMs: 30 * 86_400_000,
};

const PAGE = 200;
/**
 * How long a loop keeps its slot while other webhooks wait for one (ms, real time; it always makes
 * at least one delivery). A waiting webhook is served within about this plus one delivery in flight
 * (at most `timeoutMs`), however long the others' backlogs. Giving up the slot costs a handful of
 * statements (release, pass, claim, page): small next to a second of deliveries, each a transaction.
 */
const FAIR_SHARE_MS = 1_000;
const MAX_RETRY_DELAY_MS = 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

export type DeliveryKind = "NORMAL" | "REDELIVERY" | "PING";

export interface DeliveryRecord {
  readonly id: string;
  readonly outcome: SendOutcome;
}

interface WebhookRow {
  owner_id: string;
  url: string;
  event_types: string;
  models: string | null;
  enabled: unknown;
  secret: string | null;
  position: number | string;
  attempts: number | string;
  failing_since: unknown;
  next_attempt_at: unknown;
  lease_owner: string | null;
}

interface ModelInfo {
  readonly name: string;
  readonly grants: Grants;
}

/** What the owner may read now; null when the owner is gone or disabled (nothing is delivered). */
type OwnerRights = AccessRights | null;

/** A webhook as a pass sees it: where its cursor stands and what it wants. */
interface CursorRow {
  webhook_id: string;
  owner_id: string;
  event_types: string;
  models: string | null;
  position: number | string;
  attempts: number | string;
  next_attempt_at: unknown;
  has_secret: unknown;
}

interface Follower {
  readonly id: string;
  readonly ownerId: string;
  readonly eventTypes: ReadonlySet<string>;
  readonly models: readonly string[] | null;
  /** Where its cursor stands (as read, then as this pass moved it). */
  at: number;
}

/** Ids per IN list: far below either provider's bound on parameters per statement. */
const IN_CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IN_CHUNK) out.push(items.slice(i, i + IN_CHUNK));
  return out;
}

/**
 * What the pass already read for a webhook it hands to its loop: the loop's first step uses it
 * instead of reading the head, the page, the models and the owner again (a delivery's latency).
 */
interface Prefetched {
  readonly head: number;
  /** The page holds the model events after this position, decoded for these types. */
  readonly from: number;
  readonly types: ReadonlySet<string>;
  readonly page: TailPage;
  readonly models: ReadonlyMap<string, ModelInfo>;
  readonly owners: ReadonlyMap<string, OwnerRights>;
}

/** A loop's tenure of its slot: since when (performance.now()) and how many deliveries it made. */
interface Share {
  readonly since: number;
  delivered: number;
  gaveUp: boolean;
}

const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

const truthy = (v: unknown) => v === true || v === 1 || v === "1";

export interface DeliveryWorkerDeps {
  readonly db: Database;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly accessPolicy: AccessPolicy;
  /** For the system's own WebhookDisabled (FAILING) events. */
  readonly commands: CommandDeps;
  readonly config: DeliveryConfig;
  /** Names this instance in leases and the delivery log (default: a random id). */
  readonly instanceId?: string;
  /** Told each delivery attempt's outcome (for /metrics). */
  readonly onDelivery?: (outcome: "succeeded" | "failed" | "disabled") => void;
}

export class DeliveryWorker {
  readonly instanceId: string;
  private readonly active = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private passing = false;
  private again = false;
  private closed = false;
  private poll: NodeJS.Timeout | null = null;
  private listener: AppendListener | null = null;
  private lastNotified = 0;
  private lastPrune = 0;
  /**
   * Counts what may have enabled a webhook (a webhook command of this instance, a commit of another,
   * a poll tick): a probe that found none enabled holds for the count it was made at
   * (`noneEnabledAt`), so a commit of this instance's model commands needs no probe.
   */
  private webhookChanges = 0;
  private noneEnabledAt = -1;
  /** A pass left a webhook alone because its loop was running or no loop was free (see launch). */
  private skippedBusy = false;
  /**
   * Webhooks the latest pass turned away for want of a free loop, less the loops that have given
   * their slot up since: while above 0, a loop that has had its share gives its slot up.
   */
  private waiting = 0;
  /** Webhooks whose loop gave its slot up, by when (a sequence): passes launch them last, oldest first. */
  private readonly gaveUp = new Map<string, number>();
  private gaveUpCount = 0;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** When each lease this instance holds expires, as last written (renewals are skipped while far off). */
  private readonly leases = new Map<string, number>();

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.instanceId = deps.instanceId ?? `instance-${randomUUID()}`;
  }

  private get log() {
    return this.deps.logger;
  }

  async start(): Promise<void> {
    const pool = this.deps.db.pgPool;
    // Commits of other instances sharing the database: their NOTIFY carries the newest position.
    // Our own lease and cursor writes notify too, with an unchanged position: those are ignored.
    if (pool)
      this.listener = await listenForAppends(pool, this.log, (position, notifier) => {
        // Another instance's commit (or notifications possibly missed) may have enabled a webhook.
        // One arriving after a later commit of ours wakes nothing (as before): the next wake-up
        // probes, at the latest the poll's.
        if (notifier === null || !this.deps.db.writerBackends.has(notifier)) this.webhookChanges += 1;
        if (position === null || position > this.lastNotified) {
          if (position !== null) this.lastNotified = position;
          this.wake();
        }
      });
    await this.adoptWebhooksWithoutCursor();
    // The poll also bounds how long a webhook enabled by any other path (another instance whose
    // notification came after one of ours, a restore, SQL) can go unseen: one interval.
    this.poll = setInterval(() => this.webhooksChanged(), this.deps.config.pollIntervalMs);
    this.poll.unref();
    this.wake();
  }

  /**
   * This instance committed events up to `position`. On PostgreSQL the same commit also comes back
   * as a notification: whichever of the two arrives second names a position already seen and wakes
   * nothing (the pass the first one started began after the commit), so a commit costs one pass,
   * not two (#18).
   */
  committed(position: number): void {
    if (position > 0 && position <= this.lastNotified) return;
    this.lastNotified = Math.max(this.lastNotified, position);
    this.wake();
  }

  /** A webhook was registered, enabled or changed (by this instance): probe the webhooks again. */
  webhooksChanged(): void {
    this.webhookChanges += 1;
    this.wake();
  }

  /** Something was committed (or a retry is due): look for work. */
  wake(): void {
    if (this.closed) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    void this.pass()
      .catch((error: unknown) => this.log.error({ err: error }, "webhook delivery pass failed; retrying"))
      .finally(() => {
        this.passing = false;
        if (this.again && !this.closed) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops taking work, waits for deliveries in flight and releases this instance's leases. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    for (const timer of this.retryTimers) clearTimeout(timer);
    await this.listener?.close();
    await Promise.allSettled([...this.running]);
    await this.deps.db
      .write((tx) =>
        tx.execute(
          "UPDATE webhook_cursors SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?",
          [this.instanceId],
        ),
      )
      .catch((error: unknown) => this.log.warn({ err: error }, "could not release webhook leases"));
  }

  /**
   * Whether any webhook is enabled. Every commit wakes the worker, and most registries have no
   * webhook: the answer "none" is remembered until something may have enabled one, so a registry
   * without webhooks does not query for them on every commit (on PostgreSQL a round trip, #18).
   */
  private async anyEnabled(): Promise<boolean> {
    if (this.noneEnabledAt === this.webhookChanges) return false;
    const asOf = this.webhookChanges;
    const rows = await this.deps.db.query("SELECT 1 AS one FROM webhooks WHERE enabled = ? LIMIT 1", [true]);
    if (rows.length === 0) this.noneEnabledAt = asOf;
    return rows.length > 0;
  }

  private async head(): Promise<number> {
    const [row] = await this.deps.db.query<{ last: unknown }>(
      "SELECT COALESCE(MAX(position), 0) AS last FROM events",
    );
    return rowInt(row?.last ?? 0);
  }

  private async pass(): Promise<void> {
    const now = this.deps.clock();
    await this.prune(now);
    // Every commit wakes the worker, and most registries have no webhook: the probe (or its
    // remembered answer) then replaces reading the log's head and the cursors.
    if (this.active.size === 0 && !(await this.anyEnabled())) return;
    const head = await this.head();
    if (head > this.lastNotified) this.lastNotified = head;
    // Every webhook behind the head that this instance may work on, with what it wants: one
    // statement, whatever their number.
    const rows = await this.deps.db.query<CursorRow>(
      `SELECT c.webhook_id, w.owner_id, w.event_types, w.models, c.position, c.attempts, c.next_attempt_at,
              CASE WHEN s.webhook_id IS NULL THEN 0 ELSE 1 END AS has_secret
       FROM webhook_cursors c JOIN webhooks w ON w.id = c.webhook_id
       LEFT JOIN webhook_secrets s ON s.webhook_id = c.webhook_id
       WHERE w.enabled = ? AND c.position < ? AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)
         AND (c.lease_owner IS NULL OR c.lease_owner = ? OR c.lease_expires_at < ?)
       ORDER BY c.position`,
      [true, head, now, this.instanceId, now],
    );
    const behind = new Set(rows.map((r) => r.webhook_id));
    for (const id of this.gaveUp.keys()) if (!behind.has(id)) this.gaveUp.delete(id);
    const followers: Follower[] = [];
    const retries: string[] = [];
    for (const row of rows) {
      if (this.active.has(row.webhook_id)) {
        this.skippedBusy = true;
        continue;
      }
      // A webhook restored from a backup has no secret: it waits, cursor unmoved, for
      // rotateWebhookSecret (its own loop would stop at once, see step).
      if (!truthy(row.has_secret)) continue;
      // A retry that is due goes to its own loop, which retries the event at the cursor.
      if (rowInt(row.attempts) > 0 || row.next_attempt_at !== null) {
        retries.push(row.webhook_id);
        continue;
      }
      followers.push({
        id: row.webhook_id,
        ownerId: row.owner_id,
        eventTypes: this.typeSet(row.event_types),
        models: row.models === null ? null : rowJson<string[]>(row.models),
        at: rowInt(row.position),
      });
    }
    // Webhooks that gave a slot up are launched after every other, the earliest to give up first.
    this.waiting = 0;
    const later: { id: string; prefetched?: Prefetched }[] = [];
    const offer = async (id: string, prefetched?: Prefetched) => {
      if (this.gaveUp.has(id)) later.push({ id, prefetched });
      else await this.launch(id, now, prefetched);
    };
    for (const id of retries) await offer(id);
    await this.scan(followers, head, offer);
    later.sort((a, b) => (this.gaveUp.get(a.id) ?? 0) - (this.gaveUp.get(b.id) ?? 0));
    for (const { id, prefetched } of later) await this.launch(id, now, prefetched);
  }

  private readonly typeSets = new Map<string, ReadonlySet<string>>();

  /** The parsed `event_types` column (a handful of distinct values, parsed once each). */
  private typeSet(json: string): ReadonlySet<string> {
    let set = this.typeSets.get(json);
    if (set === undefined) {
      if (this.typeSets.size > 1_000) this.typeSets.clear();
      set = new Set(rowJson<string[]>(json));
      this.typeSets.set(json, set);
    }
    return set;
  }

  /**
   * Reads the log once for all `followers` (page by page, from the lowest cursor; usually they all
   * stand at the same position): a webhook wanting one of the events after its cursor leaves for a
   * delivery loop of its own; the cursors of the others are moved past the page together. A backlog
   * shared by all of them (a burst) is read page by page the same way.
   */
  private async scan(
    followers: Follower[],
    head: number,
    launch: (id: string, prefetched?: Prefetched) => Promise<void>,
  ): Promise<void> {
    let pending = followers;
    while (pending.length > 0 && !this.closed) {
      const low = Math.min(...pending.map((f) => f.at));
      const types = new Set<string>();
      for (const f of pending) for (const t of f.eventTypes) types.add(t);
      const page = await readTailPage(this.deps.db, low, PAGE, (_, type) => types.has(type));
      const caughtUp = page.rows < PAGE;
      const target = caughtUp ? Math.max(head, page.last) : page.last;
      // A cursor at or past a full page's end is not covered by it: it waits for the next page.
      const covered = pending.filter((f) => f.at < target);
      const decided = await this.wanting(page.events, covered);
      const wanting = decided.ids;
      const prefetched = { head, from: low, types, page, models: decided.models, owners: decided.owners };
      for (const f of covered) if (wanting.has(f.id)) await launch(f.id, prefetched);
      if (!caughtUp && covered.length < pending.length) {
        // Cursors a full page behind the others: their own loops work through that backlog, in the
        // background, while this pass goes on to the cursors near the head.
        for (const f of covered) if (!wanting.has(f.id)) await launch(f.id);
        pending = pending.filter((f) => f.at >= target);
        continue;
      }
      const idle = covered.filter((f) => !wanting.has(f.id));
      if (idle.length > 0 && !this.closed) await this.advanceIdle(idle, target);
      if (caughtUp) return;
      for (const f of idle) f.at = target;
      pending = pending.filter((f) => !wanting.has(f.id));
    }
  }

  /** The webhooks of `followers` wanting at least one of `events` (their owners may read its model now). */
  private async wanting(
    events: readonly RecordedEvent[],
    followers: readonly Follower[],
  ): Promise<{ ids: Set<string>; models: Map<string, ModelInfo>; owners: Map<string, OwnerRights> }> {
    const result = new Set<string>();
    const none = {
      ids: result,
      models: new Map<string, ModelInfo>(),
      owners: new Map<string, OwnerRights>(),
    };
    if (events.length === 0) return none;
    const streams = new Set<string>();
    for (const e of events)
      if (followers.some((f) => e.position > f.at && f.eventTypes.has(e.type))) streams.add(e.streamId);
    if (streams.size === 0) return none;
    const models = await this.models([...streams]);
    // The owners are looked up only for webhooks an event passes the type and model filters of.
    const candidates = new Map<Follower, { event: RecordedEvent; model: ModelInfo }[]>();
    for (const f of followers)
      for (const event of events) {
        if (event.position <= f.at) continue;
        const model = this.filtered(event, f.eventTypes, f.models, models);
        if (model === null) continue;
        const list = candidates.get(f) ?? [];
        list.push({ event, model });
        candidates.set(f, list);
      }
    if (candidates.size === 0) return { ...none, models };
    const owners = await this.ownersRights([...new Set([...candidates.keys()].map((f) => f.ownerId))]);
    for (const [f, list] of candidates) {
      const owner = owners.get(f.ownerId) ?? null;
      if (owner !== null && list.some(({ model }) => this.readable(owner, model))) result.add(f.id);
    }
    return { ids: result, models, owners };
  }

  /** Claims the webhook and starts its delivery loop, when this instance has room for one more. */
  private async launch(id: string, now: Date, prefetched?: Prefetched): Promise<void> {
    if (this.closed) return;
    if (this.active.has(id)) {
      this.skippedBusy = true;
      return;
    }
    if (this.active.size >= this.deps.config.concurrency) {
      this.skippedBusy = true;
      this.waiting += 1;
      return;
    }
    if (!(await this.claim(id, now))) return;
    this.active.add(id);
    let gaveUp = false;
    const run = this.follow(id, prefetched)
      .then((yielded) => {
        gaveUp = yielded;
      })
      .catch((error: unknown) =>
        this.log.error({ err: error, webhookId: id }, "webhook delivery failed unexpectedly"),
      )
      .finally(() => {
        this.active.delete(id);
        this.running.delete(run);
        // A pass skipped a webhook while loops were busy (this one, or all of them): the commit
        // that woke it may be past where that loop read, so look again now that one is free. A
        // loop that gave its slot up did so for a webhook waiting for one.
        if (this.skippedBusy || gaveUp) {
          this.skippedBusy = false;
          this.wake();
        }
      });
    this.running.add(run);
  }

  /**
   * Moves idle webhooks' cursors to `to`, in one statement (per few hundred webhooks). Each row moves
   * only if its cursor still stands where the pass read it, no retry is pending and no other
   * instance holds a live lease on it: exactly when taking the lease, advancing and letting go would
   * have succeeded. A webhook changed meanwhile (delivered by another instance, re-enabled) keeps
   * its cursor, and the next pass looks at it again.
   */
  private async advanceIdle(idle: readonly Follower[], to: number): Promise<void> {
    const now = this.deps.clock();
    await this.deps.db.write(async (tx) => {
      for (const chunk of chunks(idle)) {
        const byPosition = new Map<number, string[]>();
        for (const f of chunk) byPosition.set(f.at, [...(byPosition.get(f.at) ?? []), f.id]);
        const where = [...byPosition.values()].map(
          (ids) => `(position = ? AND webhook_id IN (${marks(ids.length)}))`,
        );
        await tx.execute(
          `UPDATE webhook_cursors SET position = ?
           WHERE attempts = 0 AND next_attempt_at IS NULL
             AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)
             AND (${where.join(" OR ")})`,
          [to, this.instanceId, now, ...[...byPosition].flatMap(([at, ids]) => [at, ...ids])],
        );
      }
    });
  }

  /** Resolves once no pass runs and no delivery loop is busy (for tests and benchmarks). */
  async settled(): Promise<void> {
    while (this.passing || this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private async claim(webhookId: string, now: Date): Promise<boolean> {
    // Still ours for a while: the cursor writes are conditional on it, no need to write it again.
    const expires = this.leases.get(webhookId);
    if (expires !== undefined && expires - now.getTime() > this.deps.config.timeoutMs + 2_000) return true;
    const changed = await this.deps.db.write((tx) =>
      tx.execute(
        `UPDATE webhook_cursors SET lease_owner = ?, lease_expires_at = ?
         WHERE webhook_id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)`,
        [this.instanceId, this.leaseUntil(now), webhookId, this.instanceId, now],
      ),
    );
    if (changed === 1) this.leases.set(webhookId, this.leaseUntil(now).getTime());
    return changed === 1;
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.deps.config.leaseMs);
  }

  /**
   * Delivers a claimed webhook's backlog until it is caught up, fails, loses its lease, or gives its
   * slot up to a waiting webhook (true: its lease is released, the next passes launch it again).
   */
  private async follow(webhookId: string, prefetched?: Prefetched): Promise<boolean> {
    const share: Share = { since: performance.now(), delivered: 0, gaveUp: false };
    let first = prefetched;
    while (!this.closed) {
      const more = await this.step(webhookId, share, first);
      first = undefined;
      if (!more) break;
    }
    if (!share.gaveUp) {
      this.gaveUp.delete(webhookId);
      return false;
    }
    this.gaveUp.set(webhookId, ++this.gaveUpCount);
    // Let go, so another instance with a free loop may carry on from the cursor meanwhile.
    this.leases.delete(webhookId);
    await this.deps.db.write((tx) =>
      tx.execute(
        "UPDATE webhook_cursors SET lease_owner = NULL, lease_expires_at = NULL WHERE webhook_id = ? AND lease_owner = ?",
        [webhookId, this.instanceId],
      ),
    );
    return true;
  }

  /** Whether a loop that has had its share should give its slot up before its next delivery. */
  private yieldsSlot(share: Share): boolean {
    if (share.delivered === 0 || this.waiting <= 0) return false;
    if (performance.now() - share.since < FAIR_SHARE_MS) return false;
    this.waiting -= 1;
    share.gaveUp = true;
    return true;
  }

  private async load(webhookId: string): Promise<WebhookRow | undefined> {
    const [row] = await this.deps.db.query<WebhookRow>(
      `SELECT w.owner_id, w.url, w.event_types, w.models, w.enabled, s.secret, c.position, c.attempts,
              c.failing_since, c.next_attempt_at, c.lease_owner
       FROM webhooks w JOIN webhook_cursors c ON c.webhook_id = w.id
       LEFT JOIN webhook_secrets s ON s.webhook_id = w.id WHERE w.id = ?`,
      [webhookId],
    );
    return row;
  }

  /** One page of the log; true when there may be more to do right away. */
  private async step(webhookId: string, share: Share, prefetched?: Prefetched): Promise<boolean> {
    const row = await this.load(webhookId);
    const now = this.deps.clock();
    if (!row || !truthy(row.enabled) || row.lease_owner !== this.instanceId) return false;
    // A webhook restored from a backup has no secret (secrets are never exported): it waits for
    // rotateWebhookSecret instead of sending unsigned or wrongly signed messages.
    if (row.secret === null) return false;
    const due = rowDateOrNull(row.next_attempt_at);
    if (due !== null && due > now) return false;
    const cursor = rowInt(row.position);
    const eventTypes = this.typeSet(row.event_types);
    // The pass's page serves when it began at or before the cursor (its earlier events are passed
    // over below), holds the webhook's event types (it may have been updated since) with their
    // models, and its owner was looked up; otherwise only the event types the webhook takes are
    // read, checked against their chain and decoded.
    const fresh =
      prefetched !== undefined &&
      prefetched.from <= cursor &&
      [...eventTypes].every((t) => prefetched.types.has(t)) &&
      prefetched.page.last > cursor &&
      prefetched.page.events.every(
        (e) => e.position <= cursor || !eventTypes.has(e.type) || prefetched.models.has(e.streamId),
      ) &&
      prefetched.owners.has(row.owner_id)
        ? prefetched
        : undefined;
    const head = fresh?.head ?? (await this.head());
    const page =
      fresh?.page ?? (await readTailPage(this.deps.db, cursor, PAGE, (_, type) => eventTypes.has(type)));
    const models = row.models === null ? null : rowJson<string[]>(row.models);
    const owner = (fresh?.owners ?? (await this.ownersRights([row.owner_id]))).get(row.owner_id) ?? null;
    const modelInfo = fresh?.models ?? (await this.models([...new Set(page.events.map((e) => e.streamId))]));
    // `handled`: the last event dealt with (delivered or not wanted); `written`: the cursor as stored.
    let handled = cursor;
    let written = cursor;
    for (const event of page.events) {
      if (this.closed) break;
      if (event.position <= cursor) continue;
      const model = this.filtered(event, eventTypes, models, modelInfo);
      if (model === null || owner === null || !this.readable(owner, model)) {
        handled = event.position;
        continue;
      }
      // Another webhook waits for a slot: the cursor stays before this event, for the next loop.
      if (this.yieldsSlot(share)) break;
      // A failing event stood right after the cursor: when this is a later one, the failing event
      // no longer applies (its type may not even be on the page any more) and is passed here,
      // which starts the count afresh for this one.
      if (rowInt(row.attempts) > 0 || row.failing_since !== null) handled = event.position - 1;
      // Events skipped before this one are stepped over in one write (the lease is renewed with it).
      if (handled > written) {
        if (!(await this.advance(webhookId, row, handled))) return false;
        written = handled;
      }
      if (!(await this.deliverNext(webhookId, row, event, model))) return false;
      share.delivered += 1;
      handled = written = event.position;
    }
    const stopped = this.closed || share.gaveUp;
    // The page's rows the webhook does not take, or whose chain does not hold, are passed over too.
    if (!stopped) handled = Math.max(handled, page.last);
    const caughtUp = page.rows < PAGE;
    const target = caughtUp && !stopped ? Math.max(head, handled) : handled;
    if (target > written && !(await this.advance(webhookId, row, target))) return false;
    return !caughtUp && !stopped;
  }

  /**
   * Moves the cursor over events that need no delivery (and renews the lease). An event that was
   * failing is among them (it stands right after the cursor): its attempts, failing-since and retry
   * time go with it, here and in `row`, which the next delivery of this step counts from.
   */
  private async advance(webhookId: string, row: WebhookRow, position: number): Promise<boolean> {
    const now = this.deps.clock();
    const changed = await this.deps.db.write((tx) =>
      tx.execute(
        `UPDATE webhook_cursors SET position = ?, attempts = 0, failing_since = NULL, next_attempt_at = NULL, lease_expires_at = ?
         WHERE webhook_id = ? AND lease_owner = ? AND position < ?`,
        [position, this.leaseUntil(now), webhookId, this.instanceId, position],
      ),
    );
    if (changed === 1) {
      this.leases.set(webhookId, this.leaseUntil(now).getTime());
      row.attempts = 0;
      row.failing_since = null;
      row.next_attempt_at = null;
    } else this.leases.delete(webhookId);
    return changed === 1;
  }

  /** What each owner may read now (null: gone or disabled, nothing is delivered): two statements. */
  private async ownersRights(ownerIds: readonly string[]): Promise<Map<string, OwnerRights>> {
    const rights = new Map<string, OwnerRights>();
    for (const ids of chunks(ownerIds)) {
      const principals = await this.deps.db.query<{
        id: string;
        kind: string;
        display_name: string;
        role: string;
        disabled: unknown;
      }>(
        `SELECT id, kind, display_name, role, disabled FROM principals WHERE id IN (${marks(ids.length)})`,
        ids,
      );
      const teams = await this.deps.db.query<{ principal_id: string; team_id: string }>(
        `SELECT principal_id, team_id FROM team_members WHERE principal_id IN (${marks(ids.length)})`,
        ids,
      );
      for (const principal of principals) {
        if (truthy(principal.disabled)) continue;
        const caller: Caller = {
          principal: {
            id: principal.id,
            kind: principal.kind === "SERVICE_ACCOUNT" ? "SERVICE_ACCOUNT" : "USER",
            displayName: principal.display_name,
            email: null,
            role: principal.role as RegistryRole,
            teamIds: teams.filter((t) => t.principal_id === principal.id).map((t) => t.team_id),
          },
          credential: { kind: "local" },
        };
        rights.set(principal.id, accessRights(caller, this.deps.accessPolicy));
      }
    }
    return rights;
  }

  /** The name and grants of each model (absent: no such model any more): two statements. */
  private async models(modelIds: readonly string[]): Promise<Map<string, ModelInfo>> {
    const info = new Map<string, ModelInfo>();
    for (const ids of chunks(modelIds)) {
      const models = await this.deps.db.query<{ id: string; name: string }>(
        `SELECT id, name FROM registered_models WHERE id IN (${marks(ids.length)})`,
        ids,
      );
      if (models.length === 0) continue;
      const grants = await this.deps.db.query<{
        model_id: string;
        grantee_kind: string;
        grantee_id: string;
        permission: string;
      }>(
        `SELECT model_id, grantee_kind, grantee_id, permission FROM model_permissions WHERE model_id IN (${marks(models.length)})`,
        models.map((m) => m.id),
      );
      for (const model of models)
        info.set(model.id, {
          name: model.name,
          grants: grantsFrom(
            grants
              .filter((g) => g.model_id === model.id)
              .map((g) => [g.grantee_kind, g.grantee_id, g.permission] as const),
          ),
        });
    }
    return info;
  }

  /** The event's model when the webhook's types and models take the event (its owner's rights aside). */
  private filtered(
    event: RecordedEvent,
    eventTypes: ReadonlySet<string>,
    models: readonly string[] | null,
    info: ReadonlyMap<string, ModelInfo>,
  ): ModelInfo | null {
    if (!eventTypes.has(event.type)) return null;
    const model = info.get(event.streamId);
    if (model === undefined) return null;
    if (models !== null && !models.includes(model.name) && !models.includes(event.streamId)) return null;
    return model;
  }

  private readable(owner: NonNullable<OwnerRights>, model: ModelInfo): boolean {
    return includesPermission(permissionOn(owner, model.grants), "READ");
  }

  private async send(
    url: string,
    secret: string,
    messageId: string,
    message: WebhookMessage,
  ): Promise<SendOutcome> {
    const body = JSON.stringify(message);
    const headers = signMessage(secret, messageId, this.deps.clock(), body);
    const { timeoutMs, maxResponseBytes, allow } = this.deps.config;
    return sendWebhook(url, { ...headers }, body, { timeoutMs, maxResponseBytes, allow });
  }

  /** Delivers the event at the head of the webhook's queue; false when it failed or the lease is lost. */
  private async deliverNext(
    webhookId: string,
    row: WebhookRow,
    event: RecordedEvent,
    model: ModelInfo,
  ): Promise<boolean> {
    if (!(await this.advanceLeaseOnly(webhookId))) return false;
    const attempt = rowInt(row.attempts) + 1;
    const messageId = messageIdFor(webhookId, event.position);
    const outcome = await this.send(
      row.url,
      row.secret ?? "",
      messageId,
      eventMessage(event, model.name, this.deps.clock()),
    );
    const now = this.deps.clock();
    const failingSince = rowDateOrNull(row.failing_since) ?? now;
    const { retryBaseMs, maxRetryDurationMs } = this.deps.config;
    const givingUp = !outcome.ok && now.getTime() - failingSince.getTime() >= maxRetryDurationMs;
    const delay =
      Math.min(MAX_RETRY_DELAY_MS, retryBaseMs * 2 ** Math.min(attempt - 1, 30)) *
      (0.75 + Math.random() * 0.5);
    const kept = await this.deps.db.write(async (tx) => {
      const changed = outcome.ok
        ? await tx.execute(
            `UPDATE webhook_cursors SET position = ?, attempts = 0, failing_since = NULL, next_attempt_at = NULL, lease_expires_at = ?
             WHERE webhook_id = ? AND lease_owner = ?`,
            [event.position, this.leaseUntil(now), webhookId, this.instanceId],
          )
        : // The cursor moves up to the failing event (over what the page held before it, none of
          // which was wanted), so the count is this event's: an earlier event a changed filter
          // takes later is behind the cursor, as it would be had this delivery succeeded.
          await tx.execute(
            `UPDATE webhook_cursors SET position = ?, attempts = ?, failing_since = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
             WHERE webhook_id = ? AND lease_owner = ?`,
            [
              event.position - 1,
              attempt,
              failingSince,
              givingUp ? null : new Date(now.getTime() + delay),
              webhookId,
              this.instanceId,
            ],
          );
      // Logged even when the lease was lost meanwhile: the receiver did get this attempt.
      await this.record(
        tx,
        webhookId,
        event.position,
        messageId,
        event.type,
        attempt,
        "NORMAL",
        outcome,
        now,
      );
      return changed === 1;
    });
    if (outcome.ok && kept) this.leases.set(webhookId, this.leaseUntil(now).getTime());
    else this.leases.delete(webhookId);
    this.deps.onDelivery?.(outcome.ok ? "succeeded" : "failed");
    if (outcome.ok) {
      row.attempts = 0;
      row.failing_since = null;
      return kept;
    }
    this.log.warn(
      { webhookId, position: event.position, attempt, error: outcome.error },
      "webhook delivery failed",
    );
    if (givingUp) {
      const detail = `delivery of log position ${event.position} failed ${attempt} times since ${failingSince.toISOString()}; last: ${outcome.error ?? "?"}`;
      const disabled = await disableWebhook(this.deps.commands, webhookId, "FAILING", detail, {
        actor: systemActor("webhooks"),
        correlationId: null,
      });
      if (disabled instanceof Error)
        this.log.error({ err: disabled, webhookId }, "could not disable a failing webhook");
      else {
        this.deps.onDelivery?.("disabled");
        this.log.warn({ webhookId, detail }, "webhook disabled after failing for too long");
      }
    } else {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.wake();
      }, delay + 5);
      timer.unref();
      this.retryTimers.add(timer);
    }
    return false;
  }

  /**
   * Renews the lease before a delivery that could outlast it. While it has more than a delivery's
   * deadline (plus a margin) to run, no write is needed: every cursor write renews it anyway, and
   * every cursor write is conditional on still holding it.
   */
  private async advanceLeaseOnly(webhookId: string): Promise<boolean> {
    const now = this.deps.clock();
    const expires = this.leases.get(webhookId);
    if (expires !== undefined && expires - now.getTime() > this.deps.config.timeoutMs + 2_000) return true;
    const changed = await this.deps.db.write((tx) =>
      tx.execute("UPDATE webhook_cursors SET lease_expires_at = ? WHERE webhook_id = ? AND lease_owner = ?", [
        this.leaseUntil(now),
        webhookId,
        this.instanceId,
      ]),
    );
    if (changed === 1) this.leases.set(webhookId, this.leaseUntil(now).getTime());
    else this.leases.delete(webhookId);
    return changed === 1;
  }

  private async record(
    tx: Tx,
    webhookId: string,
    position: number | null,
    messageId: string,
    eventType: string,
    attempt: number,
    kind: DeliveryKind,
    outcome: SendOutcome,
    at: Date,
  ): Promise<string> {
    const id = randomUUID();
    await tx.execute(
      `INSERT INTO webhook_deliveries (id, webhook_id, position, message_id, event_type, attempt, status, kind, response_code, latency_ms, error, response_body, attempted_at, instance)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        webhookId,
        position,
        messageId,
        eventType,
        attempt,
        outcome.ok ? "SUCCEEDED" : "FAILED",
        kind,
        outcome.responseCode,
        outcome.latencyMs,
        outcome.error === null ? null : storablePrefix(outcome.error, 2000),
        outcome.responseExcerpt,
        at,
        this.instanceId,
      ],
    );
    return id;
  }

  /**
   * Webhooks restored from a backup (or rebuilt) have no cursor: they start at the head of the log,
   * so the events of the backup are not delivered a second time.
   */
  private async adoptWebhooksWithoutCursor(): Promise<void> {
    await this.deps.db.write((tx) =>
      tx.execute(
        `INSERT INTO webhook_cursors (webhook_id, position, attempts)
         SELECT w.id, (SELECT COALESCE(MAX(position), 0) FROM events), 0 FROM webhooks w
         WHERE NOT EXISTS (SELECT 1 FROM webhook_cursors c WHERE c.webhook_id = w.id)
         ON CONFLICT (webhook_id) DO NOTHING`,
      ),
    );
  }

  private async prune(now: Date): Promise<void> {
    if (now.getTime() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now.getTime();
    await this.deps.db.write((tx) =>
      tx.execute("DELETE FROM webhook_deliveries WHERE attempted_at < ?", [
        new Date(now.getTime() - this.deps.config.logRetentionMs),
      ]),
    );
  }

  /**
   * Sends the event of an earlier delivery again, now, with the same webhook-id (out of band: the
   * cursor and the queue are untouched). Null when the delivery or its event no longer exists.
   */
  async redeliver(deliveryId: string): Promise<DeliveryRecord | null> {
    const [delivery] = await this.deps.db.query<{
      webhook_id: string;
      position: number | string | null;
      message_id: string;
    }>("SELECT webhook_id, position, message_id FROM webhook_deliveries WHERE id = ?", [deliveryId]);
    if (!delivery) return null;
    const webhookId = delivery.webhook_id;
    const row = await this.load(webhookId);
    if (!row || row.secret === null) return null;
    let message: WebhookMessage;
    let position: number | null = null;
    if (delivery.position === null) message = pingMessage(webhookId, this.deps.clock());
    else {
      position = rowInt(delivery.position);
      const [event] = await readAll(this.deps.db, position - 1, 1);
      if (event?.position !== position) return null;
      const model = (await this.models([event.streamId])).get(event.streamId);
      message = eventMessage(event, model?.name ?? event.streamId, this.deps.clock());
    }
    return this.outOfBand(webhookId, row, position, delivery.message_id, message, "REDELIVERY");
  }

  /** Sends a `registro.ping` now and logs it; null when the webhook (or its secret) is gone. */
  async ping(webhookId: string): Promise<DeliveryRecord | null> {
    const row = await this.load(webhookId);
    if (!row || row.secret === null) return null;
    return this.outOfBand(
      webhookId,
      row,
      null,
      `ping_${randomUUID()}`,
      pingMessage(webhookId, this.deps.clock()),
      "PING",
    );
  }

  private async outOfBand(
    webhookId: string,
    row: WebhookRow,
    position: number | null,
    messageId: string,
    message: WebhookMessage,
    kind: DeliveryKind,
  ): Promise<DeliveryRecord> {
    const outcome = await this.send(row.url, row.secret ?? "", messageId, message);
    const id = await this.deps.db.write(async (tx) => {
      const [previous] = await tx.query<{ attempts: unknown }>(
        "SELECT COUNT(*) AS attempts FROM webhook_deliveries WHERE webhook_id = ? AND message_id = ?",
        [webhookId, messageId],
      );
      return this.record(
        tx,
        webhookId,
        position,
        messageId,
        message.type,
        rowInt(previous?.attempts ?? 0) + 1,
        kind,
        outcome,
        this.deps.clock(),
      );
    });
    return { id, outcome };
  }
}
