// One execution of a subscription's selection per event for every subscriber who would get the same
// result. graphql-js (and Yoga's executor) execute the selection once per subscriber and event: for
// 10,000 subscribers of one model's promotions, 10,000 identical executions of the same fields,
// most of the fan-out's time and garbage (docs/performance.md, "Fan-out to 10,000 subscribers").
//
// What a subscriber receives for an event depends on: the event (and which of its notifications,
// when one event makes several), the operation (document, operation name, variables) and who asks
// (the caller: its principal, role, teams and credential, from which its access rights and its
// scoped reader follow; resolvers read nothing else from the context that differs between
// subscribers). Subscribers that agree on all of it form a group, and the first of a group to reach
// an event executes it; the others get the same result object. Anything else executes on its own,
// as before: a notification that is not an item (a too-slow or unauthenticated notice ends that
// subscriber's stream with its own error), a value the subscription's `select` made afresh for this
// subscriber, an operation without a caller.
//
// The shared results hang off the event object, so they live exactly as long as some subscriber
// still has the event queued. A subscriber that falls behind gets the result as it was executed for
// the first of its group, at most as old as its own backlog.
import { createSourceEventStream, execute } from "graphql";
import type { DocumentNode, ExecutionArgs, ExecutionResult } from "graphql";
import { isAsyncIterable, isPromise } from "graphql-yoga";
import type { Plugin } from "graphql-yoga";
import type { Caller } from "../access/principal.ts";
import { boundResult } from "./responseSizeBound.ts";

/** Executions of subscription events, counted by the plugin (LiveEvents.executions). */
export interface SubscriptionExecutions {
  /** Events executed for a subscriber (its own, or the first of its group). */
  executed: number;
  /** Events a subscriber got from another's execution. */
  shared: number;
}

type Result = ExecutionResult | Promise<ExecutionResult>;

interface Shared {
  /** The notification value it was executed for: a member whose value differs does not share. */
  readonly value: unknown;
  readonly result: Result;
}

/** The parts of a LiveNotification item (liveSubscription.ts) that decide its result. */
interface ItemPayload {
  readonly kind: "item";
  readonly value: unknown;
  readonly event: object;
  readonly cursor: { readonly part?: number | undefined };
}

function isItem(payload: unknown): payload is ItemPayload {
  const item = payload as Partial<ItemPayload> | null;
  return (
    typeof item === "object" &&
    item !== null &&
    item.kind === "item" &&
    typeof item.event === "object" &&
    item.event !== null &&
    typeof item.cursor === "object"
  );
}

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/** Documents are told apart by identity: Yoga's document cache hands out one per query text. */
function documentId(document: DocumentNode): number {
  let id = documentIds.get(document);
  if (id === undefined) documentIds.set(document, (id = ++nextDocumentId));
  return id;
}

/** One event's execution, collapsed to one error when its lists returned too many items or it is too large to send. */
function executeBounded(args: ExecutionArgs): Result {
  const result = execute(args);
  const collapse = (r: ExecutionResult) => boundResult(r, () => "event");
  return isPromise(result) ? result.then(collapse) : collapse(result);
}

/** The group an operation belongs to; null when it must execute on its own. */
function groupOf(args: ExecutionArgs): string | null {
  const caller = (args.contextValue as { caller?: Caller } | null)?.caller;
  if (caller === undefined) return null;
  let variables: string;
  try {
    variables = JSON.stringify(args.variableValues ?? null);
  } catch {
    return null;
  }
  return JSON.stringify([
    documentId(args.document),
    args.operationName ?? null,
    variables,
    caller.principal,
    caller.credential,
  ]);
}

export function sharedSubscriptionExecutionPlugin(counts: SubscriptionExecutions): Plugin {
  /** event -> group and notification part -> the result executed for them. */
  const results = new WeakMap<object, Map<string, Shared>>();

  const executeEvent = (args: ExecutionArgs, group: string | null, payload: unknown): Result => {
    // The signal of one member's request must not abort what the others share.
    const own = { ...args, rootValue: payload, signal: undefined } as ExecutionArgs;
    if (group === null || !isItem(payload)) {
      counts.executed++;
      return executeBounded(own);
    }
    const key = `${group}\u0000${payload.cursor.part ?? ""}`;
    let byGroup = results.get(payload.event);
    const shared = byGroup?.get(key);
    if (shared !== undefined && shared.value === payload.value) {
      counts.shared++;
      return shared.result;
    }
    counts.executed++;
    const result = executeBounded(own);
    if (byGroup === undefined) results.set(payload.event, (byGroup = new Map<string, Shared>()));
    byGroup.set(key, { value: payload.value, result });
    return result;
  };

  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (subscribeArgs: ExecutionArgs) => {
        const stream = await createSourceEventStream(subscribeArgs);
        // Errors before the stream (bad variables, a refused `after`): reported exactly as the
        // default executor reports them, which runs the same checks again.
        if (!isAsyncIterable(stream)) return subscribeFn(subscribeArgs) as unknown;
        const group = groupOf(subscribeArgs);
        const source = stream[Symbol.asyncIterator]();
        // One plain iterator instead of the executor's chain of async generators: it is held for
        // as long as the subscription lives.
        const mapped: AsyncIterableIterator<ExecutionResult> = {
          next: async () => {
            const step = await source.next();
            if (step.done === true) return { done: true, value: undefined };
            return { done: false, value: await executeEvent(subscribeArgs, group, step.value) };
          },
          return: async () => {
            await source.return?.();
            return { done: true, value: undefined };
          },
          throw: async (error: unknown) => {
            await source.return?.();
            throw error;
          },
          [Symbol.asyncIterator]: () => mapped,
        };
        return mapped;
      });
    },
  };
}
