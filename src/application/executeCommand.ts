// The one application function that runs a command: resolve the stream, load the state it needs,
// decide, append, project inline, commit, then publish. Resolvers only build commands and call this.
import type { EventActor } from "../access/actor.ts";
import { authorizeCommand, permissionOn, readsEverything } from "../access/modelAccess.ts";
import type { AccessRights } from "../access/modelAccess.ts";
import type { Database, Tx } from "../db/database.ts";
import {
  AlreadyExistsError,
  ConcurrencyError,
  DomainError,
  IntegrityError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from "../domain/errors.ts";
import type { ErrorClass } from "../domain/errors.ts";
import { grantsFrom, includesPermission } from "../domain/modelPermissions.ts";
import type {
  RegisteredModelCommand,
  RegisteredModelCommandType,
} from "../domain/registeredModel/commands.ts";
import { decide, decisionErrors, reviewNeeds, stateNeeds } from "../domain/registeredModel/decide.ts";
import { checkStorableText } from "../domain/validation.ts";
import {
  applyEvents,
  loadStreamViews,
  persistStreamViews,
  withVersionsFor,
} from "../projections/streamViews.ts";
import type { StreamViews } from "../projections/streamViews.ts";
import { appendConflict, appendToStream, assumeHead, queuedHead } from "../store/eventStore.ts";
import type { StreamHead } from "../store/eventStore.ts";
import type { CommittedEvent, EventMetadata, RecordedEvent } from "../store/recordedEvent.ts";
import type { RegisteredModelEvent } from "../domain/registeredModel/events.ts";
import { isUniqueViolation } from "../store/uniqueViolation.ts";
import { decisionState } from "./decisionState.ts";
import { StreamStateCache, guardHead, isStaleState } from "./streamStateCache.ts";
import type { CachedState } from "./streamStateCache.ts";
import { leaveViews, viewsLeftInTransaction } from "./transactionViews.ts";
import { deploymentKey } from "../deployments/domain/state.ts";
import type { RegisteredModelState } from "../domain/registeredModel/state.ts";
import { loadDeployments } from "../deployments/projection/deploymentRows.ts";

/**
 * Which stream a command addresses. Live names are unique; a deleted name may have several streams.
 * `stream` names the model by its id, for commands on something of the model found by its own id
 * (a review request, a comment): the model is then whatever its stream holds, live or not.
 */
export type ModelRef =
  | { readonly kind: "new"; readonly modelId: string }
  | { readonly kind: "stream"; readonly modelId: string }
  | { readonly kind: "live"; readonly name: string }
  | { readonly kind: "deleted"; readonly name: string };

export interface RequestMetadata {
  /** Who is acting (recorded with every event the command appends). */
  readonly actor: EventActor;
  readonly correlationId: string | null;
  readonly causationId?: string | null;
}

/** A model command's metadata: who acts, and what they may do to which model. */
export interface CommandMetadata extends RequestMetadata {
  /** Checked against the model's grants inside the command's transaction (../access/modelAccess.ts). */
  readonly rights: AccessRights;
}

export interface CommandDeps {
  readonly db: Database;
  readonly clock: () => Date;
  /** Called after commit with the committed events (subscriptions hook in here). */
  readonly onCommitted?: (events: readonly CommittedEvent[]) => void;
  /** Called when a command found a stream's stored history broken (readiness and metrics hook in here). */
  readonly onIntegrityViolation?: (error: IntegrityError) => void;
  /** Called after a webhook command committed (the delivery worker looks at the webhooks again). */
  readonly onWebhooksChanged?: () => void;
  /**
   * Facts a rule decides on that its stream's decision state does not hold (the standing of a
   * request's approvers: ../reviews/graphql/approvalTransaction.ts; a version's live comments:
   * ../comments/commentRoomFacts.ts), read in the command's transaction after the stream's lock and
   * its state are taken: returns the command with them filled in, or as it is.
   */
  readonly factsInTransaction?: (
    tx: Tx,
    command: RegisteredModelCommand,
    state: RegisteredModelState,
  ) => Promise<RegisteredModelCommand>;
}

/** Several factsInTransaction hooks as one: each gets the command the one before it returned. */
export function allFacts(
  ...hooks: NonNullable<CommandDeps["factsInTransaction"]>[]
): NonNullable<CommandDeps["factsInTransaction"]> {
  return async (tx, command, state) => {
    let complete = command;
    for (const hook of hooks) complete = await hook(tx, complete, state);
    return complete;
  };
}

export interface CommandOutcome {
  readonly modelId: string;
  readonly events: readonly RecordedEvent[];
  readonly views: StreamViews;
}

const MAX_ATTEMPTS = 20;

const modelNotFound = (ref: ModelRef) =>
  new NotFoundError("RegisteredModel", ref.kind === "new" || ref.kind === "stream" ? ref.modelId : ref.name);

// Boolean literals as each dialect stores them: SQLite matches its partial index on `deleted = 0`.
const TRUE = { sqlite: "1", postgresql: "TRUE" } as const;
const FALSE = { sqlite: "0", postgresql: "FALSE" } as const;

/**
 * PostgreSQL: the stream each live name led to last, per database. A command on a known name sends
 * its stream lock and reads in the transaction's first round trip instead of looking the name up in
 * a round trip of its own (#18); the check after the lock (the model read still has that name and
 * is live) catches a rename, delete or restore in between, forgets the entry and resolves again.
 * Live names are unique, so a model that still has the name after the lock is the one it means.
 */
const streamsByName = new WeakMap<Database, Map<string, string>>();
/** Names remembered per database; the oldest is forgotten past it. */
const MAX_NAMES = 10_000;

function namesOf(db: Database): Map<string, string> | null {
  if (db.provider !== "postgresql") return null;
  let names = streamsByName.get(db);
  if (names === undefined) streamsByName.set(db, (names = new Map<string, string>()));
  return names;
}

/** PostgreSQL: per database, the state this instance's commands left each stream in (./streamStateCache.ts). */
const streamStates = new WeakMap<Database, StreamStateCache>();

function statesOf(db: Database): StreamStateCache | null {
  if (db.provider !== "postgresql") return null;
  let states = streamStates.get(db);
  if (states === undefined) streamStates.set(db, (states = new StreamStateCache()));
  return states;
}

function rememberName(names: Map<string, string> | null, name: string, streamId: string): void {
  if (names === null || names.get(name) === streamId) return;
  names.set(name, streamId);
  if (names.size > MAX_NAMES) names.delete(names.keys().next().value as string);
}

async function resolveStream(
  tx: Tx,
  ref: ModelRef,
  rights: AccessRights,
  names: Map<string, string> | null,
): Promise<string | NotFoundError> {
  if (ref.kind === "new" || ref.kind === "stream") return ref.modelId;
  const known = ref.kind === "live" ? names?.get(ref.name) : undefined;
  if (known !== undefined) return known;
  // A batch of one: on PostgreSQL it carries the transaction's BEGIN in the same round trip.
  // `deleted` as a literal, not a parameter: SQLite chooses the partial index on live names from a
  // bound value, and then prepares the statement again on every execution (about 8 µs each).
  const [rows = []] = (await tx.batch([
    {
      sql:
        ref.kind === "deleted"
          ? `SELECT id FROM registered_models WHERE name = ? AND deleted = ${TRUE[tx.dialect]} ORDER BY deleted_at DESC`
          : `SELECT id FROM registered_models WHERE name = ? AND deleted = ${FALSE[tx.dialect]}`,
      params: [ref.name],
    },
  ])) as { id: string }[][];
  // Several deleted models may share a name. The caller means the most recently deleted one it can
  // read, the one `registeredModel(name)` shows it: a newer one it cannot read does not exist for
  // it, and must neither shadow its own model nor betray itself with a NotFoundError.
  if (rows.length > 1 && !readsEverything(rights)) {
    const ids = rows.map((r) => r.id);
    const readable = await firstReadable(tx, ids, rights);
    if (readable !== null) return readable;
  }
  const found = rows[0]?.id;
  if (found !== undefined && ref.kind === "live") rememberName(names, ref.name, found);
  return found ?? modelNotFound(ref);
}

async function firstReadable(tx: Tx, ids: readonly string[], rights: AccessRights): Promise<string | null> {
  const grants = await tx.query<{
    model_id: string;
    grantee_kind: string;
    grantee_id: string;
    permission: string;
  }>(
    `SELECT model_id, grantee_kind, grantee_id, permission FROM model_permissions WHERE model_id IN (${ids.map(() => "?").join(", ")})`,
    [...ids],
  );
  for (const id of ids) {
    const held = grantsFrom(
      grants.filter((g) => g.model_id === id).map((g) => [g.grantee_kind, g.grantee_id, g.permission]),
    );
    if (includesPermission(permissionOn(rights, held), "READ")) return id;
  }
  return null;
}

/** Live model names are unique across streams: a rule the single-stream decider cannot see. */
async function nameTaken(
  tx: Tx,
  command: RegisteredModelCommand,
  views: StreamViews,
): Promise<AlreadyExistsError | null> {
  const name =
    command.type === "CreateRegisteredModel"
      ? command.data.name
      : command.type === "RenameRegisteredModel"
        ? command.data.newName
        : command.type === "RestoreRegisteredModel"
          ? views.model?.name
          : undefined;
  if (name === undefined) return null;
  const owners = await tx.query<{ id: string }>(
    `SELECT id FROM registered_models WHERE name = ? AND deleted = ${FALSE[tx.dialect]}`,
    [name],
  );
  return owners.some((o) => o.id !== views.streamId) ? new AlreadyExistsError("RegisteredModel", name) : null;
}

async function attempt(
  deps: CommandDeps,
  ref: ModelRef,
  command: RegisteredModelCommand,
  metadata: CommandMetadata,
  expectedRevision: number | undefined,
  useCache = true,
): Promise<CommandOutcome | DomainError> {
  let streamOf: string | null = null;
  let revisionOf = 0;
  /** The stream's head after the events this attempt queued (PostgreSQL), for the cache. */
  let headAfter: StreamHead | undefined;
  const names = namesOf(deps.db);
  const states = statesOf(deps.db);
  const needs = stateNeeds(command);
  // A stream known without a read (its id, or a live name resolved before) whose state a command
  // of this instance left in the cache: decided on that, in one round trip (./streamStateCache.ts).
  const known = ref.kind === "stream" ? ref.modelId : ref.kind === "live" ? names?.get(ref.name) : undefined;
  // Commands of this instance on one stream take turns (PostgreSQL): each then finds the state the
  // one before it left (or will leave: a turn ends once the command's writes are queued for their
  // commit, see `queued` below), instead of finding it taken, or stale at the lock, and reading everything.
  const turn =
    known !== undefined && states !== null ? await states.turn(known, useCache ? needs : null) : null;
  const endTurn = () => turn?.end();
  const cached: CachedState | null = turn?.cached ?? null;
  /** What the attempt's work decided, with events to append (PostgreSQL: remembered once queued). */
  let decided: CommandOutcome | null = null;
  /** The head it remembered provisionally once its writes were queued (the last run's, if it ran again). */
  let rememberedEarly: string | null = null;
  /**
   * Once its writes are on their way to their commit (PostgreSQL), the command's next one on the
   * stream need not wait for the commit: it may be decided on the state this one will leave, and its
   * writes follow this one's, in the same group commit or behind this one's stream lock. Should this
   * one not commit, that one's guard finds the head it assumed missing, and it reads the state. A
   * write that runs again (its group failed) first forgets the head its run before remembered.
   */
  const queued = () => {
    if (states === null || known === undefined || decided === null || headAfter?.appended === undefined)
      return;
    remember(states, decided, revisionOf, headAfter, cached, true);
    // Not kept (too heavy, or not a state the cache holds): the next command waits until this one is
    // done, rather than take an older entry and fail at its guard.
    const hash = headAfter.hash;
    if (hash === null || !states.holds(known, hash)) return;
    rememberedEarly = hash;
    turn?.queued();
  };
  // When it was decided, read once per attempt when it first appends: a write that runs again on the
  // same state (its group commit failed) then appends the very events it queued first, and what was
  // decided on them holds.
  let occurredAt: Date | undefined;
  // Model commands lock their stream and write through `tx.later`: they may run concurrently.
  const options = { concurrent: true, queued } as const;
  const written = deps.db.write(async (tx) => {
    headAfter = undefined;
    decided = null;
    // A run before this one remembered its head, and this one may decide otherwise (or nothing).
    if (rememberedEarly !== null && known !== undefined) states?.forgetProvisional(known, rememberedEarly);
    rememberedEarly = null;
    const streamId = cached === null ? await resolveStream(tx, ref, metadata.rights, names) : known;
    if (streamId instanceof DomainError) return streamId;
    if (streamId === undefined) throw new Error("a cached stream without an id");
    // Commands on one stream run one after another from here (on PostgreSQL, where they are
    // otherwise concurrent): what is read below stays true until the commit.
    await tx.lockStream(streamId);
    streamOf = streamId;
    if (cached !== null) {
      // After the lock, in the same round trip: the remembered head must still be the head, or
      // the transaction aborts (and the command runs again below, reading everything).
      await guardHead(tx, streamId, cached.head);
      assumeHead(tx, streamId, cached.head);
    }
    let views =
      cached?.views ??
      // Left by a command earlier in this transaction (a SQLite group commit).
      viewsLeftInTransaction(tx, streamId, needs) ??
      (await loadStreamViews(
        tx,
        streamId,
        needs.versions,
        needs.versionsInStage,
        needs.comment === undefined ? [] : [needs.comment],
        needs.openReviews,
        needs.deployments ?? false,
        // The stream's head for the append, in the same round trip (on PostgreSQL).
        true,
      ));
    if (
      needs.deployment !== undefined &&
      !views.deployments.has(deploymentKey(needs.deployment.environment, needs.deployment.version))
    )
      views = {
        ...views,
        deployments: new Map([
          ...views.deployments,
          ...(await loadDeployments(tx, streamId, [needs.deployment])),
        ]),
      };
    // The name led to this stream before the lock: a command that renamed, deleted or restored it
    // in between makes the name mean something else now. Resolve it again.
    if (
      (ref.kind === "live" || ref.kind === "deleted") &&
      (views.model?.name !== ref.name || views.model.deleted !== (ref.kind === "deleted"))
    ) {
      names?.delete(ref.name);
      throw new Retry();
    }
    // A command on a review request learns which version it is about from the request itself.
    const more = reviewNeeds(command, decisionState(views).openReviews);
    if (more !== null) {
      const extra = await loadStreamViews(tx, streamId, more.versions, more.versionsInStage);
      views = {
        ...views,
        versions: new Map([...views.versions, ...extra.versions]),
        artifacts: new Map([...views.artifacts, ...extra.artifacts]),
      };
    }
    // Before anything else is said about the model: to a caller who cannot read it, it does not exist.
    const comment = needs.comment === undefined ? null : (views.comments.get(needs.comment) ?? null);
    const denied = authorizeCommand(
      metadata.rights,
      command,
      views.model && { ...views.model, reviews: views.reviews },
      () => modelNotFound(ref),
      comment,
    );
    if (denied) return denied;
    const revision = views.model?.revision ?? 0;
    revisionOf = revision;
    if (expectedRevision !== undefined && expectedRevision !== revision)
      return new ConcurrencyError(streamId, expectedRevision, revision);

    const state = decisionState(views);
    const complete = deps.factsInTransaction ? await deps.factsInTransaction(tx, command, state) : command;
    const decision = decide(complete, state);
    if (decision instanceof DomainError) return decision;
    // Nothing would change (a retry, or a repeat): success, with nothing appended or published.
    if (decision.length === 0) return { modelId: streamId, events: [], views };
    const conflict = await nameTaken(tx, command, views);
    if (conflict) return conflict;

    const events = await appendDecision(tx, streamId, revision, decision, {
      actor: metadata.actor,
      occurredAt: (occurredAt ??= deps.clock()),
      correlationId: metadata.correlationId,
      causationId: metadata.causationId ?? null,
    }).catch((error: unknown) => {
      // The projection was read in this transaction with the stream locked (every writer of a
      // model stream locks it first), so a log ahead of it holds events no command of ours wrote.
      // Retrying would only meet them again.
      if (error instanceof ConcurrencyError && error.actualRevision > revision)
        throw new IntegrityError(
          streamId,
          error.actualRevision,
          0,
          `the log holds revision ${error.actualRevision} but the registry's views end at revision ${revision}: events were added outside Registro`,
        );
      throw error;
    });
    headAfter = queuedHead(tx, streamId);
    const before = await withVersionsFor(tx, views, events);
    const after = applyEvents(before, events);
    try {
      await persistStreamViews(tx, before, after);
      leaveViews(tx, streamId, after);
    } catch (error) {
      // Two creators of one name can both pass nameTaken before either commits; the partial unique
      // index stops the second, and its retry then reports AlreadyExists.
      if (isUniqueViolation(error, "live_model_name")) throw new Retry();
      throw error;
    }
    decided = { modelId: streamId, events, views: after };
    return decided;
  }, options);
  // In a concurrent write the events and the projection rows are written with the commit: their
  // conflicts surface here, and mean what they mean inside the attempt.
  return written.then(
    (outcome) => {
      try {
        // A model just created is named by its next command: no lookup needed (or wanted) for it.
        if (
          command.type === "CreateRegisteredModel" &&
          !(outcome instanceof DomainError) &&
          outcome.events.length > 0
        )
          rememberName(names, command.data.name, outcome.modelId);
        if (states !== null && !(outcome instanceof DomainError)) {
          if (rememberedEarly === null) remember(states, outcome, revisionOf, headAfter, cached);
          else states.confirm(outcome.modelId, rememberedEarly);
        } else if (cached !== null && known !== undefined) states?.restore(known, cached);
      } finally {
        endTurn();
      }
      return outcome;
    },
    (error: unknown) => {
      // Whatever the failure (a rollback, or a commit whose outcome is unknown), the stream's next
      // command reads its state.
      const failed = streamOf ?? known;
      if (failed !== undefined) states?.forget(failed);
      endTurn();
      // The remembered state was stale (the guard failed, or the append met a later event): nothing
      // was written and the entry is gone. Read everything this time.
      if (cached !== null && (isStaleState(error) || isUniqueViolation(error, "event_revision")))
        return attempt(deps, ref, command, metadata, expectedRevision, false);
      if (isUniqueViolation(error, "live_model_name")) throw new Retry();
      throw streamOf === null ? error : appendConflict(error, streamOf, revisionOf);
    },
  );
}

/** Records the state a committed command left its stream in, or puts back the one it decided on. */
function remember(
  states: StreamStateCache,
  outcome: CommandOutcome,
  decidedOn: number,
  head: StreamHead | undefined,
  cached: CachedState | null,
  provisional = false,
): void {
  const last = outcome.events.at(-1);
  if (last === undefined) {
    // Nothing appended: the state it was decided on held (its guard went with the commit).
    if (cached !== null) states.restore(outcome.modelId, cached);
    return;
  }
  if (head?.hash == null || head.revision !== last.revision) return;
  // A head the append did not keep (its payload over ../store/ownHeads.ts's bound): the stream's
  // next command reads its state, as after a miss.
  if (head.appended === undefined) {
    states.forget(outcome.modelId);
    return;
  }
  states.remember(
    outcome.modelId,
    decidedOn,
    { revision: head.revision, position: last.position, hash: head.hash, appended: head.appended },
    outcome.views,
    cached,
    provisional,
  );
}

/**
 * Appends a decision. The events after a ReviewRequestApplied are the change the approved request
 * caused: they are appended with the request's id as their causation id (in the same transaction),
 * so history links the promotion to its review.
 */
async function appendDecision(
  tx: Tx,
  streamId: string,
  revision: number,
  decision: readonly RegisteredModelEvent[],
  metadata: EventMetadata,
): Promise<RecordedEvent[]> {
  const applied = decision.findIndex((e) => e.type === "ReviewRequestApplied");
  const cause = decision[applied];
  if (applied < 0 || cause?.type !== "ReviewRequestApplied" || applied === decision.length - 1)
    return appendToStream(tx, streamId, revision, decision, metadata);
  const first = await appendToStream(tx, streamId, revision, decision.slice(0, applied + 1), metadata);
  const rest = await appendToStream(tx, streamId, revision + first.length, decision.slice(applied + 1), {
    ...metadata,
    causationId: cause.data.requestId,
  });
  return [...first, ...rest];
}

export async function executeCommand(
  deps: CommandDeps,
  ref: ModelRef,
  command: RegisteredModelCommand,
  metadata: CommandMetadata,
  expectedRevision?: number,
): Promise<CommandOutcome | DomainError> {
  // The name is looked up before `decide` sees the command: text no database can hold is refused
  // here (no model can have such a name), so the lookup never reaches PostgreSQL with it.
  const badName = ref.kind === "new" || ref.kind === "stream" ? null : checkStorableText("name", ref.name);
  if (badName) return badName;
  return retryConflicts(async () => {
    const outcome = await attempt(deps, ref, command, metadata, expectedRevision);
    if (!(outcome instanceof DomainError) && outcome.events.length > 0) deps.onCommitted?.(outcome.events);
    return outcome;
  }).then((outcome) => {
    if (outcome instanceof IntegrityError) deps.onIntegrityViolation?.(outcome);
    return outcome;
  });
}

/** Commands that claim a live model name, which another stream may hold (see nameTaken). */
const CLAIMS_NAME: ReadonlySet<RegisteredModelCommandType> = new Set([
  "CreateRegisteredModel",
  "RenameRegisteredModel",
  "RestoreRegisteredModel",
]);

/**
 * Every DomainError class executeCommand can return for a command of this type: the rule's own
 * (decisionErrors) and what running it adds. GraphQL result unions are built from this list.
 */
export function commandErrors(type: RegisteredModelCommandType): readonly ErrorClass[] {
  const namesModel = type !== "CreateRegisteredModel";
  return [
    ...new Set([
      ...decisionErrors(type),
      // A named model: a name no database can hold (badName), then missing or unreadable.
      ...(namesModel ? [ValidationError, NotFoundError] : []),
      // authorizeCommand, for every command.
      PermissionDeniedError,
      // A stale expectedRevision, or a race lost MAX_ATTEMPTS times.
      ConcurrencyError,
      // The stream's stored history does not hold (appendEvents, attempt).
      IntegrityError,
      ...(CLAIMS_NAME.has(type) ? [AlreadyExistsError] : []),
    ]),
  ];
}

/** Thrown inside an attempt to have it re-run from a fresh read (a lost race on a unique index). */
export class Retry extends Error {}

/**
 * Runs `attempt` again when it lost a race (a ConcurrencyError from the store, or a Retry), up to
 * MAX_ATTEMPTS times; shared by every context's command runner.
 */
export async function retryConflicts<T>(
  attempt: () => Promise<T>,
): Promise<T | ConcurrencyError | IntegrityError> {
  for (let attemptNo = 1; ; attemptNo++) {
    try {
      return await attempt();
    } catch (error) {
      // A broken history stays broken: answered at once, typed, never retried.
      if (error instanceof IntegrityError) return error;
      const retriable = error instanceof Retry || error instanceof ConcurrencyError;
      if (!retriable || attemptNo >= MAX_ATTEMPTS) {
        if (error instanceof ConcurrencyError) return error;
        throw error;
      }
      // Someone appended to the stream first: re-read and decide again (unless the caller pinned a
      // revision, in which case the next attempt reports the conflict with the actual revision).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attemptNo));
    }
  }
}
