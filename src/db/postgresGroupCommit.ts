// Group commit for PostgreSQL's concurrent writes (#18), as SQLite's writer has (./database.ts).
//
// A model command that decided on the state its instance remembered (../application/streamStateCache.ts)
// reads nothing: its stream lock, its head guard and its writes go out in one round trip of their own
// transaction. Each such transaction also pays for BEGIN, the writers' gate, the append lock, the
// notification, COMMIT and its WAL flush, and for a round trip through pg: more than half of a
// version's CPU in PostgreSQL. Here the commands that are ready together share all of that: one
// transaction, one round trip, one commit. While a group is on its way, the commands that become
// ready wait and go together in the next (groups would otherwise wait for each other at the append
// lock anyway, which each holds to its commit).
//
// Members lock their streams in one order (by stream id), so two groups of two instances cannot
// deadlock on each other's streams; no two members of one instance's group share a stream (commands
// on one stream take turns in the instance). A group that fails (a stale guard, a lost race on a
// unique index, a deadlock with another instance's write) is rolled back whole, and each of its
// members runs again alone (GroupFailed): the one that failed meets its error there, the others
// commit. A lone member fails with its own error, as it would have without the group, and so does
// every member when the connection failed (the commit's outcome is then unknown).
import pg from "pg";
import type { PreparedStatements } from "./preparedStatements.ts";
import type { DeferredWrite, PendingStatement } from "./sql.ts";

/** How many commands may share one commit. */
const MAX_GROUP = 64;

/** What a member hands over: the statements ahead of its writes (its stream lock, its guard), its writes. */
export interface GroupMember {
  /** The stream it locks first: members are ordered by it. */
  readonly key: string;
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
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  readonly connect: () => Promise<pg.PoolClient>;
  readonly types: pg.CustomTypesConfig;
  readonly statements: PreparedStatements;
  /** The statements that open every group's transaction (BEGIN, the writers' gate). */
  readonly begin: readonly string[];
  /** Taken after the members' stream locks and guards, before their writes (the append lock). */
  readonly appendLock: string;
  /** Sent after the writes, before COMMIT (the notification of the new position). */
  readonly notify: string;
}

export class PostgresGroupCommit {
  private queue: Queued[] = [];
  private sending = false;
  private scheduled = false;

  constructor(private readonly options: GroupCommitOptions) {}

  /** Commits `member` with the members ready beside it; resolves once their transaction committed. */
  commit(member: GroupMember): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...member, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.sending || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // The rest of this turn's commands join the group.
    setImmediate(() => {
      this.scheduled = false;
      if (this.sending || this.queue.length === 0) return;
      const group = this.queue.splice(0, MAX_GROUP);
      this.sending = true;
      void this.send(group).finally(() => {
        this.sending = false;
        this.schedule();
      });
    });
  }

  private async send(group: Queued[]): Promise<void> {
    const { connect, types, statements, begin, appendLock, notify } = this.options;
    group.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let connection: pg.PoolClient;
    try {
      connection = await connect();
    } catch (error) {
      for (const member of group) member.reject(error);
      return;
    }
    try {
      const texts: string[] = [...begin];
      const add = (sql: string, params: readonly unknown[]): number => {
        const prepares: string[] = [];
        const text = statements.render(connection, sql, params as never, prepares);
        texts.push(...prepares, text);
        return texts.length - 1;
      };
      for (const member of group)
        for (const statement of member.statements)
          if (typeof statement === "string") texts.push(statement);
          else add(statement.sql, statement.params ?? []);
      add(appendLock, []);
      const rowsAt: { write: DeferredWrite; at: number }[] = [];
      for (const member of group)
        for (const write of member.writes) {
          const at = add(write.sql, write.params);
          if (write.onRows) rowsAt.push({ write, at });
        }
      add(notify, []);
      texts.push("COMMIT");
      const results = (await connection.query({ text: texts.join(";\n"), types })) as unknown as
        pg.QueryResult | pg.QueryResult[];
      const all = Array.isArray(results) ? results : [results];
      for (const { write, at } of rowsAt) write.onRows?.((all[at]?.rows ?? []) as never[]);
    } catch (error) {
      // As in a lone concurrent write: what the connection has prepared is no longer known.
      statements.forget(connection);
      await connection.query("ROLLBACK; DEALLOCATE ALL").catch(() => undefined);
      connection.release();
      // Only an error PostgreSQL answered says the group was rolled back: with the connection lost
      // on the way, its commit may have happened, and running a member again would apply it twice.
      const rolledBack = group.length > 1 && error instanceof pg.DatabaseError;
      for (const member of group) member.reject(rolledBack ? new GroupFailed(error) : error);
      return;
    }
    connection.release();
    for (const member of group) member.resolve();
  }
}
