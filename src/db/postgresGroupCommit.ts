// Group commit for PostgreSQL's concurrent writes (#18), as SQLite's writer has (./database.ts).
//
// A model command that decided on the state its instance remembered (../application/streamStateCache.ts)
// reads nothing: its stream lock, its head guard and its writes go out in one round trip of their own
// transaction. Each such transaction also pays for BEGIN, the writers' gate, the append lock, the
// notification, COMMIT and its WAL flush, and for a round trip through pg: more than half of a
// version's CPU in PostgreSQL. Here the commands that are ready together share all of that: one
// transaction, one round trip, one commit. While a group is on its way, the commands that become
// ready wait and go together in the next (groups would otherwise wait for each other at the append
// lock anyway, which each holds to its commit); only a group that takes unusually long (a stream
// lock another instance holds, a stalled connection) lets the next one go beside it.
//
// A group takes every member's stream lock in one statement, in the order of the lock keys (so two
// groups of two instances cannot deadlock on each other's streams), then the append lock, then each
// member's guard and writes in the order the members came. Two members may share a stream: a
// command that follows another on its stream may be decided on the state that one will leave (the
// cache's turn ends once that one is queued), and its guard then finds that one's writes before it.
// A group that fails (a stale guard, a lost race on a unique index, a deadlock with another
// instance's write) is rolled back whole, and each of its members runs again alone (GroupFailed):
// the one that failed meets its error there, the others commit. A lone member fails with its own
// error, as it would have without the group, and so does every member when the connection failed
// (the commit's outcome is then unknown). A group gives up on its stream locks after
// GROUP_LOCK_TIMEOUT_MS, and its members run again alone, so that a lock held for long stalls only
// the commands that need it.
import pg from "pg";
import type { PreparedStatements } from "./preparedStatements.ts";
import { STREAM_LOCK_CLASS, STREAM_LOCK_SQL, pushStatement, streamLocksSql } from "./sql.ts";
import type { DeferredWrite, PendingStatement, RenderStatement } from "./sql.ts";

/** How many commands may share one commit. */
const MAX_GROUP = 64;

/**
 * About how many bytes of statements one group may send (a member's are its SQL and its values'
 * lengths): a version's payload can reach about 300 KB (params up to 256 KiB, description, tags),
 * and 64 of them in one query would make PostgreSQL parse tens of megabytes at once. A member over it
 * goes alone.
 */
export const MAX_GROUP_BYTES = 4 * 1024 * 1024;

/** About what a member adds to its group's query text (MAX_GROUP_BYTES). */
function memberBytes(member: GroupMember): number {
  let bytes = 0;
  const count = (sql: string, params: readonly unknown[]) => {
    bytes += sql.length;
    for (const value of params)
      bytes +=
        typeof value === "string" ? value.length : value instanceof Uint8Array ? value.length * 2 + 8 : 24;
  };
  for (const statement of member.statements)
    if (typeof statement === "string") bytes += statement.length;
    else count(statement.sql, statement.params ?? []);
  for (const write of member.writes) count(write.sql, write.params);
  return bytes;
}

/** How long a group may be on its way before the next one is sent beside it. */
export const GROUP_STALL_MS = 250;

/** Groups on their way at once at most (each holds a connection of the write pool). */
export const MAX_IN_FLIGHT = 4;

/**
 * How long a group waits for its members' stream locks before it gives up and its members run again
 * alone (GroupFailed, isLockTimeout), each waiting on its own connection as long as it takes. A lock
 * another instance holds for long (a transaction left open) would otherwise hold the group, and
 * after MAX_IN_FLIGHT such groups every cached command of this instance, on any stream, behind them.
 * Groups wait on each other's stream locks for milliseconds. Not the append lock: every commit
 * takes it, and a slow flush is no reason to break groups up into many more commits.
 */
export const GROUP_LOCK_TIMEOUT_MS = 1_000;

/** PostgreSQL's lock_not_available: a lock wait ran past lock_timeout (the statement was refused). */
export const isLockTimeout = (error: unknown): boolean =>
  error instanceof pg.DatabaseError && error.code === "55P03";

/** What a member hands over: the streams it locks, what goes ahead of its writes (its guard), its writes. */
export interface GroupMember {
  readonly streams: readonly string[];
  readonly statements: readonly PendingStatement[];
  readonly writes: readonly DeferredWrite[];
}

/** A member of a group that failed: it was rolled back with the group, and runs again on its own. */
export class GroupFailed extends Error {
  constructor(cause: unknown) {
    super("the group commit this write was part of failed; it runs again on its own", { cause });
  }
}

interface Queued extends GroupMember {
  /** About what it adds to the group's query text. */
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  readonly connect: () => Promise<pg.PoolClient>;
  readonly types: pg.CustomTypesConfig;
  readonly statements: PreparedStatements;
  /** The statements that open every group's transaction (BEGIN, the writers' gate). */
  readonly begin: readonly string[];
  /** Taken after the members' stream locks, before their guards and writes (the append lock). */
  readonly appendLock: string;
  /** Sent after the writes, before COMMIT (the notification of the new position). */
  readonly notify: string;
  /** The clock the stall bound is measured on (tests). */
  readonly now?: () => number;
}

export class PostgresGroupCommit {
  private queue: Queued[] = [];
  /** The groups on their way: when each was sent. */
  private readonly inFlight = new Map<number, number>();
  private groups = 0;
  private scheduled = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: GroupCommitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Commits `member` with the members ready beside it; resolves once their transaction committed. */
  commit(member: GroupMember): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...member, bytes: memberBytes(member), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    if (this.inFlight.size > 0) {
      this.watchStall();
      return;
    }
    this.scheduled = true;
    // The rest of this turn's commands join the group.
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight.size === 0) this.sendNext();
      else this.watchStall();
    });
  }

  /** Sends what waits beside the groups on their way once the oldest has been out GROUP_STALL_MS. */
  private watchStall(): void {
    if (this.stallTimer !== null || this.inFlight.size >= MAX_IN_FLIGHT) return;
    const oldest = Math.min(...this.inFlight.values());
    this.stallTimer = setTimeout(
      () => {
        this.stallTimer = null;
        if (this.queue.length === 0 || this.inFlight.size >= MAX_IN_FLIGHT) return;
        if (this.inFlight.size > 0 && this.now() - Math.min(...this.inFlight.values()) < GROUP_STALL_MS)
          return this.watchStall();
        this.sendNext();
      },
      Math.max(0, oldest + GROUP_STALL_MS - this.now()),
    );
    this.stallTimer.unref();
  }

  private sendNext(): void {
    if (this.queue.length === 0) return;
    // As many as come within both bounds, and always the first.
    let size = 1;
    for (let bytes = this.queue[0]!.bytes; size < Math.min(MAX_GROUP, this.queue.length); size++) {
      bytes += this.queue[size]!.bytes;
      if (bytes > MAX_GROUP_BYTES) break;
    }
    const group = this.queue.splice(0, size);
    const id = ++this.groups;
    this.inFlight.set(id, this.now());
    void this.send(group).finally(() => {
      this.inFlight.delete(id);
      if (this.inFlight.size === 0 && this.stallTimer !== null) {
        clearTimeout(this.stallTimer);
        this.stallTimer = null;
      }
      this.schedule();
    });
  }

  /** The group's statements, and where each write that wants its rows finds them among the results. */
  private render(connection: pg.PoolClient, group: readonly Queued[]) {
    const { statements, begin, appendLock, notify } = this.options;
    // After the writers' gate (a rebuild's swap holds every write alike), for the stream locks only.
    const texts: string[] = [...begin];
    const streams = [...new Set(group.flatMap((member) => member.streams))];
    if (streams.length > 0) texts.push(`SET LOCAL lock_timeout = ${GROUP_LOCK_TIMEOUT_MS}`);
    const render: RenderStatement = (sql, params, prepares) =>
      statements.render(connection, sql, params, prepares);
    const add = (statement: PendingStatement) => pushStatement(texts, statement, render);
    if (streams.length === 1) add({ sql: STREAM_LOCK_SQL, params: [STREAM_LOCK_CLASS, streams[0]!] });
    else if (streams.length > 1)
      add({ sql: streamLocksSql(streams.length), params: [STREAM_LOCK_CLASS, ...streams] });
    // Back to the setting's own value (the role's or the database's, if any) for the append lock.
    if (streams.length > 0) texts.push("SET LOCAL lock_timeout = DEFAULT");
    // Rendered (prepared once per connection), as the lone path renders them.
    add({ sql: appendLock, params: [] });
    const rowsAt: { member: Queued; write: DeferredWrite; at: number }[] = [];
    for (const member of group) {
      member.statements.forEach(add);
      for (const write of member.writes) {
        const at = add(write);
        if (write.onRows) rowsAt.push({ member, write, at });
      }
    }
    add({ sql: notify, params: [] });
    texts.push("COMMIT");
    return { text: texts.join(";\n"), rowsAt };
  }

  private async send(group: Queued[]): Promise<void> {
    let connection: pg.PoolClient;
    try {
      connection = await this.options.connect();
    } catch (error) {
      for (const member of group) member.reject(error);
      return;
    }
    let rendered: ReturnType<PostgresGroupCommit["render"]>;
    try {
      rendered = this.render(connection, group);
    } catch (error) {
      // Nothing was sent (a value that cannot be written): each member runs again alone, where
      // the one that cannot be written fails on its own.
      this.options.statements.forget(connection);
      connection.release();
      for (const member of group) member.reject(group.length > 1 ? new GroupFailed(error) : error);
      return;
    }
    let results: pg.QueryResult[];
    try {
      const answer = (await connection.query({
        text: rendered.text,
        types: this.options.types,
      })) as unknown as pg.QueryResult | pg.QueryResult[];
      results = Array.isArray(answer) ? answer : [answer];
    } catch (error) {
      // As in a lone concurrent write: what the connection has prepared is no longer known.
      this.options.statements.forget(connection);
      await connection.query("ROLLBACK; DEALLOCATE ALL").catch(() => undefined);
      connection.release();
      // Only an error PostgreSQL answered for a statement (severity ERROR) says the group was rolled
      // back: with the connection lost on the way, or the session ended (FATAL, PANIC), its commit
      // may have happened, and running a member again would apply it twice. A lock the group gave up
      // on (GROUP_LOCK_TIMEOUT_MS) sends even a lone member to wait for it on its own.
      const rolledBack =
        (group.length > 1 || isLockTimeout(error)) &&
        error instanceof pg.DatabaseError &&
        error.severity === "ERROR";
      for (const member of group) member.reject(rolledBack ? new GroupFailed(error) : error);
      return;
    }
    connection.release();
    // Committed: a member whose rows cannot be taken fails alone (its writes are in, its answer is not).
    const failed = new Map<Queued, unknown>();
    for (const { member, write, at } of rendered.rowsAt)
      try {
        if (!failed.has(member)) write.onRows?.((results[at]?.rows ?? []) as never[]);
      } catch (error) {
        failed.set(member, error);
      }
    for (const member of group) {
      if (failed.has(member)) member.reject(failed.get(member));
      else member.resolve();
    }
  }
}
