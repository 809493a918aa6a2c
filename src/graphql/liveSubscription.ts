// Shared glue for subscription fields: validate the resume cursor, resolve model names to the
// streams to follow, and open a subscription on the process's EventHub. Resolvers of the
// notification types call `delivered()` to turn a too-slow notice into the GraphQL error clients
// see (then the stream completes).
import { GraphQLError } from "graphql";
import type { Prisma } from "../db/database.ts";
import type { RegisteredModelEventType } from "../domain/registeredModel/events.ts";
import { lastPosition } from "../store/eventStore.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import { decodeCursor, encodeCursor, InvalidCursorError } from "../subscriptions/cursor.ts";
import type { LogCursor } from "../subscriptions/cursor.ts";
import type { Notification } from "../subscriptions/eventHub.ts";
import { FollowedModels } from "../subscriptions/followedModels.ts";
import { accessRights } from "../access/modelAccess.ts";
import type { Caller } from "../access/principal.ts";
import { readsLess, subscriberAccessKeys, subscriberVisibility } from "../access/subscriberAccess.ts";
import type { GraphQLContext } from "./context.ts";

/**
 * What a subscription yields: the hub's notifications, and the end of a stream whose credentials
 * lapsed (`unauthenticated`) or whose caller may now read less than when it subscribed (`accessChanged`).
 */
export type LiveNotification<T> =
  | Notification<T>
  | { readonly kind: "unauthenticated"; readonly cursor: LogCursor }
  | { readonly kind: "accessChanged"; readonly cursor: LogCursor };

/** What a notification type resolves from: the value, the event it came from, and its resume cursor. */
export interface Delivered<T> {
  readonly value: T;
  readonly event: RecordedEvent;
  readonly cursor: string;
}

export interface LiveSubscriptionArgs {
  readonly after?: string | null | undefined;
  /** Follow the models currently holding these names (and models that take them later). */
  readonly names?: readonly string[] | null | undefined;
  /** Follow these model streams. */
  readonly modelIds?: readonly string[] | null | undefined;
}

function badInput(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

async function startCursor(
  ctx: GraphQLContext,
  after: string | null | undefined,
): Promise<LogCursor | undefined> {
  if (after == null) return undefined;
  let cursor: LogCursor;
  try {
    cursor = decodeCursor(after);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw badInput(error.message, "INVALID_CURSOR");
    throw error;
  }
  // A cursor past the end of the log was issued by another registry (or a restored backup's future):
  // waiting for that position would silently deliver nothing for a long time.
  if (cursor.position > ctx.events.head && cursor.position > (await lastPosition(ctx.db.reader)))
    throw badInput(`cursor "${after}" points past the end of the registry's log`, "INVALID_CURSOR");
  return cursor;
}

/**
 * Values one list of a subscription filter may hold. Names are looked up in one query: 20,000 of them
 * passed the database's parameter limit (an internal error), 200,000 held the server for 5 s.
 */
export const MAX_FILTER_VALUES = 100;

function nonEmpty(list: readonly string[] | null | undefined, argument: string): readonly string[] | null {
  if (list == null) return null;
  if (list.length === 0)
    throw badInput(`${argument} must name at least one value (omit it to match all)`, "BAD_USER_INPUT");
  if (list.length > MAX_FILTER_VALUES)
    throw new GraphQLError(`${argument} takes at most ${MAX_FILTER_VALUES} values, not ${list.length}`, {
      extensions: { code: "BAD_USER_INPUT", field: argument },
    });
  return list;
}

/**
 * Authentications of one token asked for in one turn of the event loop, by hub (one registry): the
 * hub tells every subscription an access event concerns in one go, and 1,000 subscriptions of one
 * token then make one lookup, not 1,000. A check asked for in a later turn starts afresh, so none
 * joins one that began before the change it was told of. Only tokens: a token id stands for one
 * secret, so every subscription holding it authenticates alike; two JWTs of one principal need not.
 */
const checksThisTurn = new WeakMap<object, Map<string, Promise<Caller | null>>>();

function reauthenticateOnce(ctx: GraphQLContext): Promise<Caller | null> {
  const { credential } = ctx.caller;
  if (credential.kind !== "token") return ctx.reauthenticate();
  let checks = checksThisTurn.get(ctx.events);
  if (!checks) {
    checks = new Map<string, Promise<Caller | null>>();
    checksThisTurn.set(ctx.events, checks);
  }
  const running = checks.get(credential.tokenId);
  if (running) return running;
  const check = ctx.reauthenticate();
  checks.set(credential.tokenId, check);
  const turn = checks;
  queueMicrotask(() => turn.delete(credential.tokenId));
  return check;
}

/**
 * Opens a subscription starting after `args.after` (or with the next event). `select` maps each
 * event of a followed model (every model when no names/ids are given) to its notifications.
 */
export async function liveSubscription<T>(
  ctx: GraphQLContext,
  args: LiveSubscriptionArgs,
  select: (event: RecordedEvent) => readonly T[],
): Promise<AsyncIterable<LiveNotification<T>>> {
  const names = nonEmpty(args.names, "models");
  const modelIds = nonEmpty(args.modelIds, "modelIds");
  // Fix the start before resolving names: a rename committed while we look names up is then
  // replayed from the table (and seen by FollowedModels) instead of falling between the two.
  // Without a cursor, "the next event" is the next one after what is committed now: the hub's head
  // may lag behind the database (on PostgreSQL it advances on NOTIFY), and an event committed before
  // the subscription must not arrive as if it were live.
  const after = (await startCursor(ctx, args.after)) ?? {
    position: Math.max(ctx.events.head, await lastPosition(ctx.db.reader)),
  };
  let followed: FollowedModels | null = null;
  if (names || modelIds) {
    const where: Prisma.RegisteredModelWhereInput = { name: { in: [...(names ?? [])] }, deleted: false };
    // Names resolve over every model, not only the ones the caller may read now: access is the
    // `visible` filter's to decide, event by event, so a model granted later is delivered from its
    // grant on (as with an id) and one never granted is never delivered.
    const live = names ? await ctx.db.reader.registeredModel.findMany({ where, select: { id: true } }) : [];
    followed = new FollowedModels(names ?? [], [...live.map((m) => m.id), ...(modelIds ?? [])]);
  }
  // Every event passes the access filter first, filtered or not: its grants may change with it.
  const visible = await subscriberVisibility(ctx.reader, ctx.rights, await lastPosition(ctx.db.reader));
  const subscription = ctx.events.subscribe<T>({
    after,
    select: (event) => {
      const readable = visible(event);
      const matches = followed === null || followed.observe(event);
      return readable && matches ? select(event) : [];
    },
    budget: ctx.subscriberBudget,
  });
  // Ends with its connection, whatever the transport does (see http/connectionClosed.ts). The
  // listener goes when the subscription ends first, so a long-lived WebSocket that subscribes and
  // completes many times does not collect them.
  const signal = ctx.connectionClosed();
  const end = () => void subscription.return?.();
  if (signal.aborted) end();
  else signal.addEventListener("abort", end, { once: true });
  // A token revoked, a JWT expired or a principal disabled while the stream runs: the stream ends
  // with an UNAUTHENTICATED error carrying the cursor to resume from once the client has
  // authenticated again. The same check finds a caller whose role or team memberships changed so
  // that it may read fewer models (not events of the model log, so the `visible` filter cannot
  // follow them): the stream ends with ACCESS_CHANGED and its cursor, and nothing the hub hands over
  // after that is delivered. The check runs as soon as the hub reads an access event concerning the
  // caller (on whichever instance it was committed), and every credentialRecheckMs besides, for
  // what no event announces (a JWT's expiry). One check at a time: a burst of events while one runs
  // makes one more, which sees them all.
  let lastCursor: LogCursor = after;
  let state: "open" | "unauthenticated" | "accessChanged" | "reported" = "open";
  let checking = false;
  let checkAgain = false;
  let finished = false;
  const recheck = (): void => {
    if (state !== "open" || finished) return;
    if (checking) {
      checkAgain = true;
      return;
    }
    checking = true;
    void reauthenticateOnce(ctx)
      .then(
        (caller) => {
          if (state !== "open") return;
          if (caller === null) state = "unauthenticated";
          else if (readsLess(ctx.rights, accessRights(caller, ctx.accessPolicy))) state = "accessChanged";
          else return;
          end();
        },
        // The check itself failed (the database is unreachable): keep the stream; try again later.
        () => undefined,
      )
      .finally(() => {
        checking = false;
        if (!checkAgain) return;
        checkAgain = false;
        recheck();
      });
  };
  const unwatch = ctx.events.watchAccess(subscriberAccessKeys(ctx.caller), recheck);
  // An access change read (or passed over, nobody watching) between the caller's authentication
  // and the watch above told nobody: check now.
  if (ctx.events.accessGeneration !== ctx.accessGeneration) recheck();
  const periodic = ctx.credentialRecheckMs > 0 ? setInterval(recheck, ctx.credentialRecheckMs).unref() : null;
  const finish = () => {
    finished = true;
    if (periodic) clearInterval(periodic);
    unwatch();
    signal.removeEventListener("abort", end);
  };
  const iterator: AsyncIterableIterator<LiveNotification<T>> = {
    next: async () => {
      if (state === "reported") return { done: true, value: undefined };
      const result = await subscription.next();
      if (state === "unauthenticated" || state === "accessChanged") {
        const ended: LiveNotification<T> = { kind: state, cursor: lastCursor };
        state = "reported";
        finish();
        return { done: false, value: ended };
      }
      if (result.done) finish();
      else if (result.value.kind === "item") lastCursor = result.value.cursor;
      return result;
    },
    return: () => {
      finish();
      return subscription.return?.() ?? Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** Unwraps a notification for a field resolver; a too-slow notice becomes the error that ends the stream. */
export function delivered<T>(notification: LiveNotification<T>): Delivered<T> {
  if (notification.kind === "unauthenticated") {
    const cursor = encodeCursor(notification.cursor);
    throw new GraphQLError(
      `The credentials of this subscription are no longer accepted (a revoked or expired token, an expired sign-in, or a disabled principal), so it was ended. Authenticate again and resubscribe with after: "${cursor}" to continue without loss.`,
      { extensions: { code: "UNAUTHENTICATED", cursor } },
    );
  }
  if (notification.kind === "accessChanged") {
    const cursor = encodeCursor(notification.cursor);
    throw new GraphQLError(
      `The subscriber's access changed (its registry role or team memberships) so that it may read fewer models, so this subscription was ended. Resubscribe with after: "${cursor}" to continue with the access it holds now.`,
      { extensions: { code: "ACCESS_CHANGED", cursor } },
    );
  }
  if (notification.kind === "tooSlow") {
    const { limit, unit } = notification;
    const cursor = encodeCursor(notification.cursor);
    const waiting =
      unit === "bytes" ? `${limit} bytes (of notifications not yet sent)` : `${limit} notifications`;
    throw new GraphQLError(
      `Subscriber too slow: more than ${waiting} were waiting, so the subscription was ended. Resubscribe with after: "${cursor}" to continue without loss.`,
      { extensions: { code: "SUBSCRIBER_TOO_SLOW", cursor, limit, unit } },
    );
  }
  return { value: notification.value, event: notification.event, cursor: encodeCursor(notification.cursor) };
}

/** A set filter over event types; null matches every type. */
export function typeFilter(types: readonly RegisteredModelEventType[] | null | undefined) {
  const set = types == null ? null : new Set(nonEmpty(types, "types"));
  return (event: RecordedEvent) => set === null || set.has(event.type);
}
