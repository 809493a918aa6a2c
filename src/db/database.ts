// Opens the projection/event database for either provider behind one type. Reads go through Prisma
// (typed, and what the Pothos prisma plugin plans queries for); writes go through the SQL session of
// ./sql.ts on the same drivers. We program against the SQLite client's types; the PostgreSQL client
// has the same models and is cast in exactly one place.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../config.ts";
import { PrismaClient as PostgresPrismaClient } from "./generated/postgresql/client.ts";
import { PrismaClient } from "./generated/sqlite/client.ts";
import type { Prisma } from "./generated/sqlite/client.ts";
import { guardDecodedArguments } from "./guardDecodedArguments.ts";
import {
  GROUP_LOCK_TIMEOUT_MS,
  GroupFailed,
  MAX_IN_FLIGHT,
  PostgresGroupCommit,
  isLockTimeout,
} from "./postgresGroupCommit.ts";
import { PreparedStatements, isMissingPrepared, isStalePlan } from "./preparedStatements.ts";
import { PostgresTx, SqliteTx, pgTypes, quoteLiteral } from "./sql.ts";
import type { DeferredWrite, SqlTx, SqlValue } from "./sql.ts";
import { WalCheckpointer } from "./walCheckpointer.ts";
import type { WalCheckpointerOptions } from "./walCheckpointer.ts";

export type Db = PrismaClient;
export type Tx = SqlTx;
export type { Prisma };

/**
 * An arbitrary constant: the key of the transaction-scoped lock that orders appends on PostgreSQL.
 * A serialised write holds it for its whole transaction, a concurrent one only for its last round
 * trip (its writes and the commit); either way events get their positions and commit in one order.
 */
export const APPEND_LOCK_KEY = 0x5265_6769; // "Regi"

/**
 * The gate concurrent writes pass through on PostgreSQL (held shared for their whole transaction):
 * what must see no write in flight at all (the rebuild's swap) takes it exclusively, before the
 * append lock, so a concurrent write never waits on the append lock while holding what the swap needs.
 */
export const WRITERS_GATE_KEY = 0x5265_6767; // "Regg"

/** How many transactions one process runs at once on PostgreSQL's write pool. */
export const PG_WRITE_CONNECTIONS = 8;

/** PostgreSQL NOTIFY channel announcing the newest event position when a write transaction commits. */
export const APPEND_CHANNEL = "registro_events";

export interface Database {
  readonly provider: DatabaseConfig["provider"];
  /** What it was opened with (the rebuild opens connections of its own to the same database). */
  readonly config: DatabaseConfig;
  /** Client for queries. On SQLite a separate read-only connection, so reads never see uncommitted writes. */
  readonly reader: Db;
  /**
   * Runs `work` in a write transaction and commits it. Global positions always commit in order, so
   * a reader tailing the log by position can never skip a late commit: on SQLite the single writer
   * connection runs one transaction at a time; on PostgreSQL appends take a transaction-scoped
   * advisory lock (APPEND_LOCK_KEY) and keep it until they have committed.
   *
   * By default a PostgreSQL write takes that lock first, so writes run one at a time. With
   * `concurrent`, it takes it only in its last round trip: `work` then runs alongside other writes,
   * and must lock each stream it decides on (`tx.lockStream`) before reading its state, and send its
   * writes through `tx.later` (which queues them for that round trip: the append lock, the writes,
   * the notification and COMMIT, in one simple query). Only the model commands run this way
   * (docs/performance.md, #18). `work` must not call `write` itself.
   */
  write<T>(work: (tx: Tx) => Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * Runs one read-only statement past Prisma, in the SQL of ./sql.ts, seeing every committed write.
   * For the few reads made on every request (token verification), where Prisma's per-query planning
   * would cost more than the rest of the request; everything else reads through `reader`.
   */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The pg pool on PostgreSQL (for LISTEN/NOTIFY), null on SQLite. */
  readonly pgPool: pg.Pool | null;
  /**
   * PostgreSQL: the server process ids of this handle's write connections. A notification sent
   * from one of them is a commit of this process; from any other, of another instance (empty on
   * SQLite).
   */
  readonly writerBackends: ReadonlySet<number>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /** PostgreSQL: run alongside other writes, ordered by the append lock only at commit (see `write`). */
  readonly concurrent?: boolean;
  /**
   * PostgreSQL, concurrent writes: called once the writes `work` queued are on their way to their
   * commit (queued in a group commit, or sent), before the outcome is known, and again each time the
   * write runs again. What follows on its streams may then be decided on the state it will leave:
   * that one's guard fails if this one does not commit.
   */
  readonly queued?: () => void;
}

export interface DatabaseOptions {
  /** Called for every query the Prisma reader runs (query logging at trace level, N+1 tests). */
  readonly onReadQuery?: (sql: string, durationMs: number) => void;
  /**
   * SQLite: checkpoint the WAL from a worker thread instead of inside the commit that crosses
   * 1,000 pages (./walCheckpointer.ts). The server turns it on; one-off tools keep SQLite's own.
   */
  readonly backgroundCheckpoints?: boolean | WalCheckpointerOptions;
}

/** A Prisma reader client, reporting its queries when asked to. */
function readerClient<
  C extends { $on(event: "query", cb: (e: { query: string; duration: number }) => void): void },
>(make: (log: { emit: "event"; level: "query" }[]) => C, options: DatabaseOptions): C {
  const onReadQuery = options.onReadQuery;
  if (!onReadQuery) return make([]);
  const client = make([{ emit: "event", level: "query" }]);
  client.$on("query", (e) => onReadQuery(e.query, e.duration));
  return client;
}

interface QueuedWrite {
  readonly work: (tx: Tx) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** How many commands may share one SQLite commit. */
const MAX_GROUP = 64;

/**
 * SQLite's single writer with group commit. Durability comes first (synchronous=FULL fsyncs the WAL
 * on every commit, so an acknowledged registration survives a power cut); to keep that affordable,
 * writes that arrive in the same event-loop turn share one transaction, each inside its own
 * savepoint so that one command's failure rolls back only that command (a lone command needs no
 * savepoint: its failure rolls back the transaction). Nobody is answered before the shared commit
 * has returned. The transaction statements are prepared once: `exec` parses its SQL on every call.
 */
class SqliteWriter {
  private readonly connection: BetterSqlite3.Database;
  private readonly tx: SqliteTx;
  private readonly begin: BetterSqlite3.Statement;
  private readonly commit: BetterSqlite3.Statement;
  private readonly rollback: BetterSqlite3.Statement;
  private readonly savepoint: BetterSqlite3.Statement;
  private readonly release: BetterSqlite3.Statement;
  private readonly rollbackTo: BetterSqlite3.Statement;
  private readonly checkpoint: BetterSqlite3.Statement;
  private readonly checkpointer: WalCheckpointer | null;
  private queue: QueuedWrite[] = [];
  private draining = false;

  constructor(file: string, backgroundCheckpoints: DatabaseOptions["backgroundCheckpoints"]) {
    this.connection = new BetterSqlite3(file, { timeout: 10_000 });
    this.connection.pragma("journal_mode = WAL");
    this.connection.pragma("synchronous = FULL");
    this.connection.pragma("foreign_keys = ON");
    // Statement journals (what a savepoint rolls back to: one per command of a group) in memory.
    // With temp_store at its default they spill to a temporary file past 64 KiB, which a group of
    // a few commands exceeds: that file was created, written a page at a time and deleted in about
    // half the group commits, some nine system calls per command. Nothing in it outlives the
    // transaction, so durability is the WAL's as before.
    this.connection.pragma("temp_store = MEMORY");
    this.tx = new SqliteTx(this.connection, new Map());
    this.begin = this.connection.prepare("BEGIN IMMEDIATE");
    this.commit = this.connection.prepare("COMMIT");
    this.rollback = this.connection.prepare("ROLLBACK");
    this.savepoint = this.connection.prepare("SAVEPOINT registro_write");
    this.release = this.connection.prepare("RELEASE registro_write");
    this.rollbackTo = this.connection.prepare("ROLLBACK TO registro_write");
    this.checkpoint = this.connection.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    if (backgroundCheckpoints) {
      this.connection.pragma("wal_autocheckpoint = 0");
      this.checkpointer = new WalCheckpointer(
        file,
        backgroundCheckpoints === true ? {} : backgroundCheckpoints,
      );
    } else this.checkpointer = null;
  }

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        await (group.length === 1 ? this.commitOne(group[0]!) : this.commitGroup(group));
        this.afterCommit();
      }
    } finally {
      this.draining = false;
      // A write queued while the last group was settling must not wait for the next caller.
      if (this.queue.length > 0) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    }
  }

  /** Counts the commit for the checkpoint worker; past the WAL's bound, checkpoints here (see ./walCheckpointer.ts). */
  private afterCommit(): void {
    if (this.checkpointer === null) return;
    this.checkpointer.committed();
    if (!this.checkpointer.overBound) return;
    try {
      this.checkpointer.checkpointed(this.checkpoint.get() as { log: number; checkpointed: number });
    } catch {
      // A checkpoint that fails (I/O) leaves the WAL as it was; the next commit tries again.
    }
  }

  /** The same as a group of one, without the savepoint. */
  private async commitOne(item: QueuedWrite): Promise<void> {
    let value: unknown;
    try {
      this.begin.run();
      try {
        value = await item.work(this.tx);
      } catch (error) {
        this.rollbackQuietly();
        return item.reject(error);
      }
      this.commit.run();
    } catch (error) {
      this.rollbackQuietly();
      return item.reject(error);
    }
    this.tx.commits.run();
    item.resolve(value);
  }

  private async commitGroup(group: QueuedWrite[]): Promise<void> {
    const outcomes: { item: QueuedWrite; ok: boolean; value: unknown }[] = [];
    try {
      this.begin.run();
      for (const item of group) {
        this.savepoint.run();
        const commits = this.tx.commits.mark();
        try {
          const value = await item.work(this.tx);
          this.release.run();
          outcomes.push({ item, ok: true, value });
        } catch (error) {
          // A failed statement leaves the transaction open: undo just this command's writes.
          this.rollbackTo.run();
          this.release.run();
          this.tx.commits.dropAfter(commits);
          outcomes.push({ item, ok: false, value: error });
        }
      }
      this.commit.run();
    } catch (error) {
      // The transaction itself failed (disk full, I/O error, lock timeout): nothing of the group
      // was committed, so every command in it fails, with its own error where it had one.
      this.rollbackQuietly();
      const settled = new Set(outcomes.map((o) => o.item));
      for (const { item, ok, value } of outcomes) item.reject(ok ? error : value);
      for (const item of group) if (!settled.has(item)) item.reject(error);
      return;
    }
    this.tx.commits.run();
    for (const { item, ok, value } of outcomes) (ok ? item.resolve : item.reject)(value);
  }

  private rollbackQuietly(): void {
    this.tx.commits.clear();
    try {
      if (this.connection.inTransaction) this.rollback.run();
    } catch {
      // SQLite already rolled back (it does on some I/O errors); nothing is left to undo.
    }
  }

  async close() {
    await this.checkpointer?.close();
    this.connection.close();
  }
}

function openSqlite(file: string, options: DatabaseOptions): Database {
  const writer = new SqliteWriter(file, options.backgroundCheckpoints);
  const reader = guardDecodedArguments(
    readerClient(
      (log) =>
        new PrismaClient({
          // Dates as integer milliseconds, as ./sql.ts writes them: Prisma's filters (createdAfter,
          // cursors) then compare integers with integers. Reading, the adapter turns an integer in
          // a DATETIME column into its date either way.
          adapter: new PrismaBetterSQLite3(
            { url: file, readonly: true, fileMustExist: true, timeout: 10_000 },
            { timestampFormat: "unixepoch-ms" },
          ),
          log,
        }),
      options,
    ) as PrismaClient,
  );
  // Opened on first use: the database file may not exist yet when the handle is created.
  let rawReader: { connection: BetterSqlite3.Database; tx: SqliteTx } | null = null;
  const raw = () => {
    if (rawReader === null) {
      const connection = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
      rawReader = { connection, tx: new SqliteTx(connection, new Map()) };
    }
    return rawReader.tx;
  };
  return {
    provider: "sqlite",
    config: { provider: "sqlite", file },
    reader,
    pgPool: null,
    writerBackends: new Set(),
    write: (work) => writer.write(work),
    query: (sql, params) => raw().query(sql, params),
    async close() {
      await reader.$disconnect();
      rawReader?.connection.close();
      await writer.close();
    },
  };
}

/** At most `size` holders at once; the others wait, first come first served. */
class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  acquire(): Promise<void> {
    if (this.held < this.size) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the first waiting, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.held--;
    else next();
  }

  /** Nobody holds a slot or waits for one. */
  get idle(): boolean {
    return this.held === 0 && this.waiting.length === 0;
  }
}

/**
 * Turns to wait at a held lock on a connection: one per stream (the others on it wait in memory
 * behind that one, holding nothing: they could not go before it anyway) and at most `size` in all.
 * The key is the set of streams the transaction locked (one, for every model command today); writes
 * that gave up before locking any (a read behind another session's table lock) share one turn.
 * So commands queued on one stream take one connection, not every turn, and a command on another
 * stream that waited a moment too long still gets one.
 */
class LockWaiters {
  private readonly turns: Slots;
  private readonly streams = new Map<string, Slots>();

  constructor(size: number) {
    this.turns = new Slots(size);
  }

  /** Waits for a turn for the streams `streams` (those a transaction locked); resolves to its release. */
  async acquire(streams: readonly string[]): Promise<() => void> {
    const key = [...streams].sort().join("\u0000");
    let own = this.streams.get(key);
    if (own === undefined) this.streams.set(key, (own = new Slots(1)));
    const stream = own;
    await stream.acquire();
    await this.turns.acquire();
    return () => {
      this.turns.release();
      stream.release();
      if (stream.idle) this.streams.delete(key);
    };
  }
}

/** PostgreSQL's deadlock error: the transaction was chosen as the victim and rolled back. */
const isDeadlock = (error: unknown) =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "40P01";

function openPostgres(url: string, options: DatabaseOptions): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10, allowExitOnIdle: true });
  // Writers wait for each other on the append lock; a pool of their own keeps them from starving reads.
  const writers = new pg.Pool({ connectionString: url, max: PG_WRITE_CONNECTIONS, allowExitOnIdle: true });
  const writerBackends = new Set<number>();
  // pg keeps the backend's process id (sent at connection start-up) on the client, untyped.
  const backendOf = (connection: pg.PoolClient) =>
    (connection as unknown as { processID?: unknown }).processID;
  writers.on("connect", (connection) => {
    const pid = backendOf(connection);
    if (typeof pid === "number") writerBackends.add(pid);
  });
  writers.on("remove", (connection) => {
    const pid = backendOf(connection);
    if (typeof pid === "number") writerBackends.delete(pid);
  });
  const types = pgTypes(pg.types);
  // Same models, different generated class: this is the one place the two client types meet.
  const client = guardDecodedArguments(
    readerClient(
      (log) => new PostgresPrismaClient({ adapter: new PrismaPg(pool), log }),
      options,
    ) as unknown as PrismaClient,
  );
  // What transactions name as their database (SqlTx.database): caches of committed rows key on it.
  const identity = {};
  const rawReader = new PostgresTx(pool, types, null, null, identity);
  const prepared = new PreparedStatements(pool, quoteLiteral);
  // Wakes subscription tailers in every instance; delivered at (and only on) commit. Under the
  // append lock, MAX(position) is this transaction's last event (or the previous one if it appended none).
  const notify = `SELECT pg_notify('${APPEND_CHANNEL}', (SELECT COALESCE(MAX(position), 0) FROM events)::text)`;

  async function serialised<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const connection = await writers.connect();
    try {
      await connection.query(`BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`);
      const tx = new PostgresTx(connection, types, null, null, identity, pool);
      const result = await work(tx);
      await connection.query(`${notify}; COMMIT`);
      tx.commits.run();
      return result;
    } catch (error) {
      await connection.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  const begin = ["BEGIN", `SELECT pg_advisory_xact_lock_shared(${WRITERS_GATE_KEY})`];
  const appendLock = `SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`;
  // A concurrent write on its own connection (one that reads, or one run again alone after its
  // group failed) waits for its stream lock as long as a group does (a write whose stream is free
  // commits at once); one that gives up then waits as long as it takes, holding a connection, and
  // one per stream and at most this many do at once (LockWaiters): commands queued on one stream
  // another session has locked (cached ones, or ones that must read: the first on a model after
  // start) would otherwise take the whole pool, and every write of this instance wait for that lock.
  // The rest wait here, in memory; the groups keep a connection each. The timeout is set after the
  // writers' gate (a rebuild's swap holds every write alike), in the round trip of BEGIN, and set
  // back in the commit's round trip, before its statements are prepared and the append lock, which
  // every commit takes, is waited for (a slow flush is no lock held for long).
  const lockWaiters = new LockWaiters(PG_WRITE_CONNECTIONS - MAX_IN_FLIGHT);
  const beginGivingUp = [...begin, `SET LOCAL lock_timeout = ${GROUP_LOCK_TIMEOUT_MS}`];
  const lockTimeoutOff = "SET LOCAL lock_timeout = DEFAULT";
  const groups = new PostgresGroupCommit({
    connect: () => writers.connect(),
    types,
    statements: prepared,
    begin,
    appendLock,
    notify,
  });

  /**
   * A concurrent write. Its connection is taken when it first needs a round trip; one that never
   * did (it decided on state this instance remembered) commits with the writes ready beside it, in
   * one transaction (./postgresGroupCommit.ts), unless `alone`. On its own connection, it waits
   * at most GROUP_LOCK_TIMEOUT_MS for a lock while `givesUpOnLocks` (see lockWaiters).
   */
  async function concurrent<T>(
    work: (tx: Tx) => Promise<T>,
    alone: boolean,
    queued: (() => void) | undefined,
    givesUpOnLocks: boolean,
    /** Set on failure: the streams it locked (to wait for a turn at, after a lock timeout). */
    locked: { streams: readonly string[] },
  ): Promise<T> {
    let connection: pg.PoolClient | null = null;
    const deferred: DeferredWrite[] = [];
    // BEGIN and the writers' gate go out with the transaction's first statement.
    const tx = PostgresTx.lazy(
      async () => (connection = await writers.connect()),
      types,
      deferred,
      givesUpOnLocks ? beginGivingUp : begin,
      prepared,
      identity,
      pool,
    );
    try {
      const result = await work(tx);
      if (!tx.connected && !alone) {
        const committed = groups.commit({ ...tx.takeStatements(), writes: deferred });
        queued?.();
        await committed;
        tx.commits.run();
        return result;
      }
      await tx.attach();
      const open = connection as pg.PoolClient | null;
      if (open === null) throw new Error("a concurrent write without its connection");
      // What was never sent (BEGIN, when `work` read nothing; a stream lock after the last read).
      const ahead = tx.takePending();
      if (deferred.length === 0) {
        await open.query([...ahead, "COMMIT"].join(";\n"));
        tx.commits.run();
        return result;
      }
      // One round trip: the append lock (held from here to the commit, on the server only; waited
      // for without the stream locks' timeout), every queued write in the order it was queued, the
      // notification, COMMIT. A failing statement makes PostgreSQL skip the rest, COMMIT included;
      // the catch below rolls back.
      const prepares: string[] = [];
      const timeoutOff = givesUpOnLocks ? [lockTimeoutOff] : [];
      const writes = [
        tx.statementText(appendLock, [], prepares),
        ...deferred.map((d) => tx.statementText(d.sql, d.params, prepares)),
        tx.statementText(notify, [], prepares),
      ];
      const statements = [...ahead, ...timeoutOff, ...prepares, ...writes, "COMMIT"];
      const sent = open.query({ text: statements.join(";\n"), types });
      queued?.();
      const results = (await sent) as unknown as pg.QueryResult[];
      const first = ahead.length + prepares.length + timeoutOff.length + 1;
      deferred.forEach((d, i) => d.onRows?.((results[first + i]?.rows ?? []) as never[]));
      tx.commits.run();
      return result;
    } catch (error) {
      // A connection asked for by a read that was still on its way when `work` failed.
      await tx.settled();
      locked.streams = tx.lockedStreams();
      const open = connection as pg.PoolClient | null;
      if (open !== null) {
        // PREPAREs that ran before the failure outlive the rollback, those after it never ran: drop
        // them all rather than guess (failures are rare: a lost race, a broken invariant).
        prepared.forget(open);
        await open.query("ROLLBACK; DEALLOCATE ALL").catch(() => undefined);
      }
      throw error;
    } finally {
      (connection as pg.PoolClient | null)?.release();
    }
  }

  return {
    provider: "postgresql",
    config: { provider: "postgresql", url },
    reader: client,
    pgPool: pool,
    writerBackends,
    query: (sql, params) => rawReader.query(sql, params),
    async write(work, writeOptions) {
      if (!writeOptions?.concurrent) return serialised(work);
      // Writers that lock rows in different orders can deadlock (a concurrent write's reads take no
      // row locks, so this needs a writer outside Database.write); the victim simply runs again.
      let alone = false;
      // Its turn at lockWaiters (the release) once it has one: it waits for its locks without a timeout.
      let turn: (() => void) | null = null;
      const locked = { streams: [] as readonly string[] };
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            return await concurrent(work, alone, writeOptions.queued, turn === null, locked);
          } catch (error) {
            // Rolled back with the group it was committed in (perhaps the group gave up on another
            // member's stream lock): on its own this time (not an attempt).
            if (error instanceof GroupFailed && !alone) {
              alone = true;
              attempt--;
              continue;
            }
            // On its own connection, it gave up on a lock: its own is held. It waits for it, with a turn.
            if (turn === null && isLockTimeout(error)) {
              attempt--;
              turn = await lockWaiters.acquire(locked.streams);
              continue;
            }
            // A migration that changed a prepared statement's columns, or a session reset that dropped
            // the connection's statements: the retry prepares them anew.
            if (!(isDeadlock(error) || isStalePlan(error) || isMissingPrepared(error)) || attempt >= 3)
              throw error;
          }
        }
      } finally {
        turn?.();
      }
    },
    async close() {
      await client.$disconnect();
      await Promise.all([pool.end(), writers.end()]);
    },
  };
}

export function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Database {
  return config.provider === "sqlite" ? openSqlite(config.file, options) : openPostgres(config.url, options);
}
