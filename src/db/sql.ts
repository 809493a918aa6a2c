// The write path's SQL session. Commands run many small statements per transaction; through the
// Prisma client each costs about a millisecond of CPU (query planning in the WASM compiler), which
// capped the registry at a few dozen commands per second. Writes therefore go straight to the
// drivers Prisma itself sits on (better-sqlite3, pg) with cached prepared statements; Prisma still
// owns the schema, migrations and every GraphQL read. SQL here is written once, with `?`
// placeholders, in the dialect both providers share.
import type BetterSqlite3 from "better-sqlite3";
import type pg from "pg";
import type { PreparedStatements } from "./preparedStatements.ts";

/** Uint8Array: a BLOB on SQLite, bytea on PostgreSQL (the event hash, ../store/eventCodec.ts). */
export type SqlValue = string | number | bigint | boolean | Date | Uint8Array | null;

export interface SqlTx {
  readonly dialect: "sqlite" | "postgresql";
  /**
   * The database written to, as an identity: the key of a cache of what it has committed (one
   * process may hold several databases, e.g. tests, restore, the rebuild's source and target).
   */
  readonly database: object;
  /**
   * Runs `callback` once the transaction has committed; never when it (or, in a SQLite group
   * commit, this command's savepoint) rolls back. For caches of committed rows (../store/eventTypes.ts).
   * Returns whether the callback is still waiting: false once it has run or was dropped with its
   * savepoint or transaction (what this transaction wrote before it then still holds or is gone).
   */
  afterCommit(callback: () => void): () => boolean;
  /**
   * Runs a statement in a transaction of its own, committed before it resolves: on PostgreSQL on
   * another connection, so that it holds no lock for the rest of this transaction (other writers
   * would wait for this one's commit, and a serialised writer holding the append lock could
   * deadlock with it); on SQLite, whose one writer runs one transaction, in this one.
   */
  autonomous<T extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlValue[],
  ): Promise<T[]>;
  /** Runs a statement that returns rows (SELECT, or INSERT/UPDATE … RETURNING). */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Several statements that return rows, read in one round trip where the driver allows it (a
   * simple query on PostgreSQL; one after another on SQLite, which has no round trips). Each sees
   * every write committed before it runs, as separate queries would.
   */
  batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]>;
  /**
   * Holds the stream's write lock until the transaction ends: a concurrent write (Database.write)
   * takes it before it reads the stream's state, so two commands on one stream run one after the
   * other. Where every writer is serialised anyway (SQLite, PostgreSQL's serialised writes) a no-op.
   */
  lockStream(streamId: string): Promise<void>;
  /**
   * A read whose only purpose is to fail when what the transaction assumed no longer holds (its
   * rows are ignored). In a concurrent write on PostgreSQL it goes out with the transaction's next
   * round trip, after the statements still pending (BEGIN, a stream lock), and its error aborts the
   * transaction there; elsewhere it runs at once.
   */
  expect(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /**
   * A write nothing later in the transaction reads back (the events, projection rows). It runs at
   * once, except in a concurrent write on PostgreSQL, which sends it with the commit, in one round
   * trip, under the append lock. `onRows` gets its RETURNING rows before the write resolves.
   * Resolves true when the write was queued (it has not run yet), false when it has run.
   */
  later<T extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlValue[],
    onRows?: (rows: T[]) => void,
  ): Promise<boolean>;
}

/** One statement of a batch. */
export interface Statement {
  readonly sql: string;
  readonly params?: readonly SqlValue[];
}

/** A write queued by `later` in a concurrent PostgreSQL write, sent with the commit. */
export interface DeferredWrite {
  readonly sql: string;
  readonly params: readonly SqlValue[];
  readonly onRows: ((rows: never[]) => void) | undefined;
}

/** `?, ?, ?` for an IN list or a VALUES row of n parameters. */
export const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

// SQLite has no date type: every DateTime column holds integer milliseconds since the epoch (6 bytes
// where ISO-8601 text took 29; migration 20261213000000_integer_times). Prisma's reader binds its
// dates the same way (timestampFormat "unixepoch-ms", ./database.ts), so both paths write, and
// compare with, one representation: a column holding text and integers would order every integer
// before every text (SQLite compares across storage classes by class), silently.
export const sqliteDate = (date: Date): number => date.getTime();

function sqliteParam(value: SqlValue): string | number | bigint | Uint8Array | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return sqliteDate(value);
  return value;
}

/** Callbacks waiting for a commit, for the writers of ../db/database.ts to run or drop. */
export class CommitCallbacks {
  private callbacks: (() => void)[] = [];

  /** Adds `callback`; the answer tells whether it is still waiting (not run, not dropped). */
  add(callback: () => void): () => boolean {
    const at = this.callbacks.length;
    this.callbacks.push(callback);
    // Each callback is a closure of its own: another one at the same index is not this one.
    return () => this.callbacks[at] === callback;
  }

  /** How many are registered: dropAfter(mark) forgets those added after it (a rolled back savepoint). */
  mark(): number {
    return this.callbacks.length;
  }

  dropAfter(mark: number): void {
    this.callbacks.length = Math.min(mark, this.callbacks.length);
  }

  /** The transaction committed: runs them all, once. */
  run(): void {
    for (const callback of this.callbacks.splice(0)) callback();
  }

  /** The transaction rolled back. */
  clear(): void {
    this.callbacks.length = 0;
  }
}

export class SqliteTx implements SqlTx {
  readonly dialect = "sqlite";
  /** The writer runs or drops them as its transactions and savepoints end. */
  readonly commits = new CommitCallbacks();
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly statements: Map<string, BetterSqlite3.Statement>,
    readonly database: object = db,
  ) {}

  afterCommit(callback: () => void): () => boolean {
    return this.commits.add(callback);
  }

  autonomous<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const statement = this.prepare(sql);
    const values = params.map(sqliteParam);
    return Promise.resolve(
      statement.reader ? (statement.all(...values) as T[]) : (statement.run(...values), []),
    );
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return Promise.resolve(this.prepare(sql).all(...params.map(sqliteParam)) as T[]);
  }

  execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(this.prepare(sql).run(...params.map(sqliteParam)).changes);
  }

  batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    return Promise.resolve(
      statements.map(
        (st) => this.prepare(st.sql).all(...(st.params ?? []).map(sqliteParam)) as Record<string, unknown>[],
      ),
    );
  }

  lockStream(): Promise<void> {
    return Promise.resolve();
  }

  expect(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    this.prepare(sql).all(...params.map(sqliteParam));
    return Promise.resolve();
  }

  later<T extends object>(
    sql: string,
    params: readonly SqlValue[] = [],
    onRows?: (rows: T[]) => void,
  ): Promise<boolean> {
    const statement = this.prepare(sql);
    if (statement.reader) {
      const rows = statement.all(...params.map(sqliteParam)) as T[];
      onRows?.(rows);
    } else statement.run(...params.map(sqliteParam));
    return Promise.resolve(false);
  }
}

/**
 * `text` as a PostgreSQL string literal, exactly as pg's escapeLiteral writes it (quotes and
 * backslashes doubled; ` E'…'` when there is a backslash), built by replacing instead of one
 * character at a time: pg's loop built a string of a payload's length character by character for
 * every literal (about 10 µs for a 433-character payload against 0.5 µs here), and a command's batch
 * carries its payload twice (#18). test/db/quoteLiteral.unit.test.ts compares the two.
 */
export function quoteLiteral(text: string): string {
  const quoted = text.includes("'") ? text.replaceAll("'", "''") : text;
  return text.includes("\\") ? ` E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}

/** Rewrites `?` placeholders as `$1, $2, …` (our SQL never has a literal `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// TIMESTAMP(3) columns hold UTC without a zone (as Prisma writes them); pg would read them as local time.
const TIMESTAMP_WITHOUT_TZ = 1114;

export function pgTypes(types: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === TIMESTAMP_WITHOUT_TZ
        ? (value: string) => new Date(`${value.replace(" ", "T")}Z`)
        : (types.getTypeParser(oid, format) as (
            value: string,
          ) => unknown)) as pg.CustomTypesConfig["getTypeParser"],
  };
}

function pgParam(value: SqlValue): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/** The first key of the two-key advisory locks on streams (the append lock uses the one-key space). */
export const STREAM_LOCK_CLASS = 0x5265_6773; // "Regs"

/** A stream's write lock: its class, and the hash of its id. */
export const STREAM_LOCK_SQL = "SELECT pg_advisory_xact_lock(?, hashtext(?))";

/**
 * The write locks of several streams in one statement, taken in the order of their hashes (the
 * lock keys): two transactions locking overlapping sets this way cannot deadlock on them, as they
 * could when ordered by id and two ids share a hash. `?` the class, then one `?` per stream id.
 */
export function streamLocksSql(count: number): string {
  return `SELECT pg_advisory_xact_lock(?, h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest(ARRAY[${placeholders(count)}]::text[]) AS ids(id) ORDER BY h) AS locks`;
}

/** A statement still to send: utility text as it is (BEGIN, a gate lock), or a statement to render. */
export type PendingStatement = string | Statement;

/** Renders a statement as sent: `EXECUTE` (pushing its PREPARE first when needed) or inlined text. */
export type RenderStatement = (sql: string, params: readonly SqlValue[], prepares: string[]) => string;

/**
 * Appends `statement` to a batch's `texts` as sent (text as it is; a statement rendered, the
 * PREPARE it needs ahead of it), and answers where it stands: its result's index in the batch.
 */
export function pushStatement(texts: string[], statement: PendingStatement, render: RenderStatement): number {
  if (typeof statement === "string") return texts.push(statement) - 1;
  const prepares: string[] = [];
  const text = render(statement.sql, statement.params ?? [], prepares);
  return texts.push(...prepares, text) - 1;
}

export class PostgresTx implements SqlTx {
  readonly dialect = "postgresql";
  /** The write that opened this transaction runs them after its COMMIT. */
  readonly commits = new CommitCallbacks();
  /** A lazy transaction's connection until it has one (see `lazy`). */
  private client: pg.PoolClient | pg.Pool | null;
  /** A lazy transaction: what takes its connection on its first round trip. */
  private connect: (() => Promise<pg.PoolClient>) | null = null;
  /** A lazy transaction's opening statements, sent ahead of whatever goes out first on its connection. */
  private begin: readonly string[] = [];

  constructor(
    /** A transaction's connection, or the pool for single statements outside any transaction. */
    client: pg.PoolClient | pg.Pool | null,
    private readonly types: pg.CustomTypesConfig,
    /** In a concurrent write: where `later` queues its writes for the commit's round trip. */
    private readonly deferred: DeferredWrite[] | null = null,
    /** In a concurrent write: the prepared statements of its connections (./preparedStatements.ts). */
    private readonly statements: PreparedStatements | null = null,
    readonly database: object = types,
    /** Where `autonomous` statements run: the pool (each its own transaction); null: this session. */
    private readonly autonomousPool: pg.Pool | null = null,
  ) {
    this.client = client;
  }

  afterCommit(callback: () => void): () => boolean {
    return this.commits.add(callback);
  }

  async autonomous<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    // pg answers rows for any statement (none for an INSERT without RETURNING).
    if (this.autonomousPool === null) return this.query<T>(sql, params);
    const result = await this.autonomousPool.query<T>({
      text: numbered(sql),
      values: params.map(pgParam),
      types: this.types,
    });
    return result.rows;
  }

  /**
   * A statement of a batch as sent: EXECUTE of its prepared form in a concurrent write (with the
   * PREPARE it needs first pushed onto `prepares`), its values inlined otherwise.
   */
  statementText(sql: string, params: readonly SqlValue[], prepares: string[]): string {
    return this.statements === null
      ? inlineParams(sql, params, quoteLiteral)
      : this.statements.render(this.client as pg.PoolClient, sql, params, prepares);
  }

  /**
   * Statements not sent yet (a concurrent write's BEGIN, a stream lock, a guard): they go out ahead
   * of the next batch, in the same round trip, or on their own before any other statement.
   */
  private pending: PendingStatement[] = [];

  /**
   * A concurrent write that takes its connection (from `connect`) only when it first needs a round
   * trip, with `begin` ahead of what it sends then. One that never does (it decided on state its
   * instance remembered: ../application/streamStateCache.ts) can be committed with others in one
   * transaction: `connected` stays false, and `takeStatements` hands over what it queued.
   */
  static lazy(
    connect: () => Promise<pg.PoolClient>,
    types: pg.CustomTypesConfig,
    deferred: DeferredWrite[],
    begin: readonly string[],
    statements: PreparedStatements | null,
    database: object,
    autonomousPool: pg.Pool | null,
  ): PostgresTx {
    const tx = new PostgresTx(null, types, deferred, statements, database, autonomousPool);
    tx.connect = connect;
    tx.begin = begin;
    return tx;
  }

  /** Whether it has its connection (always, unless made `lazy` and nothing was sent yet). */
  get connected(): boolean {
    return this.client !== null;
  }

  /** Takes its connection now, if it has none yet; its opening statements then lead what it sends. */
  attach(): Promise<void> {
    if (this.client !== null) return Promise.resolve();
    const connect = this.connect;
    if (connect === null) return Promise.reject(new Error("a transaction without a connection"));
    // Once, however many statements ask for it at the same time.
    this.attaching ??= connect().then((client) => {
      this.client = client;
      this.pending.unshift(...this.begin);
    });
    return this.attaching;
  }

  /** A lazy transaction's connection on its way (see `attach`). */
  private attaching: Promise<void> | null = null;

  /** Settles once any connection `attach` asked for has arrived (or failed): the writer releases it after. */
  settled(): Promise<void> {
    return this.attaching === null ? Promise.resolve() : this.attaching.catch(() => undefined);
  }

  /** The statements still to send, for the commit's round trip (before the append lock); cleared. */
  takePending(): string[] {
    const texts: string[] = [];
    const render = this.statementText.bind(this);
    for (const statement of this.pending.splice(0)) pushStatement(texts, statement, render);
    return texts;
  }

  /**
   * A lazy transaction never connected: the streams it locked (a group commit takes them all at
   * once), and what else it queued ahead of its writes (without `begin`); cleared.
   */
  takeStatements(): { streams: string[]; statements: PendingStatement[] } {
    if (this.client !== null || this.attaching !== null)
      throw new Error("a connected transaction sends its own statements");
    const streams: string[] = [];
    const statements: PendingStatement[] = [];
    for (const statement of this.pending.splice(0)) {
      const stream = this.locks.get(statement);
      if (stream === undefined) statements.push(statement);
      else streams.push(stream);
    }
    return { streams, statements };
  }

  /** The stream locks among `pending`, and the stream each locks. */
  private readonly locks = new Map<PendingStatement, string>();

  /** Every stream this lazy transaction locked (sent or still pending). */
  lockedStreams(): string[] {
    return [...new Set(this.locks.values())];
  }

  private async sendPending(): Promise<void> {
    await this.attach();
    if (this.pending.length === 0) return;
    await (this.client as pg.PoolClient).query(this.takePending().join(";\n"));
  }

  lockStream(streamId: string): Promise<void> {
    if (this.deferred !== null) {
      const lock = { sql: STREAM_LOCK_SQL, params: [STREAM_LOCK_CLASS, streamId] };
      this.locks.set(lock, streamId);
      this.pending.push(lock);
    }
    return Promise.resolve();
  }

  async expect(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    if (this.deferred === null) {
      await this.query(sql, params);
      return;
    }
    this.pending.push({ sql, params });
  }

  async batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    await this.attach();
    const ahead = this.takePending();
    const prepares: string[] = [];
    const rendered = statements.map((st) => this.statementText(st.sql, st.params ?? [], prepares));
    const texts = [...ahead, ...prepares, ...rendered];
    if (texts.length === 0) return [];
    const result = (await (this.client as pg.PoolClient).query({
      text: texts.join(";\n"),
      types: this.types,
    })) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(result) ? result : [result];
    return results.slice(ahead.length + prepares.length).map((r) => r.rows as Record<string, unknown>[]);
  }

  async later<T extends object>(
    sql: string,
    params: readonly SqlValue[] = [],
    onRows?: (rows: T[]) => void,
  ): Promise<boolean> {
    if (this.deferred !== null) {
      this.deferred.push({ sql, params, onRows });
      return true;
    }
    const rows = await this.query<T>(sql, params);
    onRows?.(rows);
    return false;
  }

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    await this.sendPending();
    const result = await (this.client as pg.PoolClient | pg.Pool).query<T>({
      text: numbered(sql),
      values: params.map(pgParam),
      types: this.types,
    });
    return result.rows;
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    await this.sendPending();
    const result = await (this.client as pg.PoolClient | pg.Pool).query({
      text: numbered(sql),
      values: params.map(pgParam),
      types: this.types,
    });
    return result.rowCount ?? 0;
  }
}

// ---- Reading rows back: the two drivers return different JS types for the same column. ----------

/**
 * A time column as read: a Date (pg), integer milliseconds (SQLite), or text (a SQLite value written
 * before 20261213000000_integer_times, or outside Registro), parsed as the ISO text it is.
 */
export function rowDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === "number" || typeof value === "bigint") return new Date(Number(value));
  return new Date(String(value));
}
export const rowDateOrNull = (value: unknown): Date | null =>
  value === null || value === undefined ? null : rowDate(value);
export const rowBool = (value: unknown): boolean => value === true || value === 1 || value === 1n;
export const rowInt = (value: unknown): number => Number(value);
export const rowJson = <T>(value: unknown): T =>
  typeof value === "string" ? (JSON.parse(value) as T) : (value as T);

/** Rows of a child table (tags, aliases…) grouped by what they belong to (`keyOf`), in row order. */
export function groupRows<R, K, T>(
  rows: readonly R[],
  keyOf: (row: R) => K,
  item: (row: R) => T,
): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [item(row)]);
    else list.push(item(row));
  }
  return groups;
}

/** A version tag row as the page readers select it (`version_ref, key, value`). */
export interface VersionTagRow {
  readonly version_ref: number | string | bigint;
  readonly key: string;
  readonly value: string;
}
/** An alias row as the page readers select it (`version, alias`). */
export interface VersionAliasRow {
  readonly version: number | string;
  readonly alias: string;
}

/** A page's tags by their version's `ref` and its aliases by version number, as Prisma would nest them. */
export function groupTagsAndAliases(tags: readonly VersionTagRow[], aliases: readonly VersionAliasRow[]) {
  return {
    tagsOf: groupRows(
      tags,
      (t) => Number(t.version_ref),
      (t) => ({ key: t.key, value: t.value }),
    ),
    aliasesOf: groupRows(
      aliases,
      (a) => Number(a.version),
      (a) => ({ alias: a.alias }),
    ),
  };
}

/**
 * A statement with its `?` parameters written in as literals, for the simple-query protocol (the
 * only one that sends several statements in one round trip). Every value becomes a quoted literal
 * through the driver's own escapeLiteral (NULL aside): an untyped literal is typed by its context
 * exactly as the untyped bind parameters of `query` are, and carries the same text pg would send.
 */
export function inlineParams(
  sql: string,
  params: readonly SqlValue[],
  escapeLiteral: (text: string) => string,
): string {
  let i = 0;
  const text = sql.replace(/\?/g, () => {
    const value = params[i++];
    if (value === undefined) throw new Error("fewer parameters than placeholders");
    return sqlLiteral(value, escapeLiteral);
  });
  if (i !== params.length) throw new Error("more parameters than placeholders");
  return text;
}

/** One value as a literal of inlineParams (and of EXECUTE's arguments, ./preparedStatements.ts). */
export function sqlLiteral(value: SqlValue, escapeLiteral: (text: string) => string): string {
  if (value === null) return "NULL";
  // Bytes in PostgreSQL's hex input form (String() of a Buffer would be its bytes as UTF-8 text).
  if (value instanceof Uint8Array)
    return `${escapeLiteral(`\\x${Buffer.from(value).toString("hex")}`)}::bytea`;
  return escapeLiteral(value instanceof Date ? value.toISOString() : String(value));
}
