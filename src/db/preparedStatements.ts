// Prepared statements for the simple-query batches of PostgreSQL's concurrent writes (#18). A model
// command sends its reads and its writes as a few multi-statement simple queries (one round trip
// each, ./sql.ts and ./database.ts), and PostgreSQL parsed, analysed and planned every statement of
// them on every command: about 40 % of a backend's CPU per `createModelVersion`, for a dozen
// statements whose text never changes but for their values. The extended protocol's prepared
// statements would cost a round trip each through pg; SQL-level PREPARE and EXECUTE work inside a
// simple query, so each statement is prepared once per connection (a PREPARE sent ahead of its
// first EXECUTE, in the same batch) and then runs from PostgreSQL's plan cache.
import type pg from "pg";
import { inlineParams, sqlLiteral } from "./sql.ts";
import type { SqlValue } from "./sql.ts";

/** Statements longer than this (long IN lists, the rebuild's multi-row inserts) are sent as text. */
const MAX_SQL_LENGTH = 2_000;
/** Distinct statements one process prepares at most; past it, new ones are sent as text. */
const MAX_STATEMENTS = 500;

/** Only these can be prepared (BEGIN, COMMIT and other utility statements cannot). */
const PREPARABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

/** `?` placeholders as `$1, $2, …` (our SQL never has a literal `?`). */
const placeholderCount = (sql: string): number => sql.split("?").length - 1;

const numbered = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/** PostgreSQL's error when a prepared statement's result columns changed under it (a migration). */
export const isStalePlan = (error: unknown): boolean =>
  typeof error === "object" &&
  error !== null &&
  (error as { code?: unknown }).code === "0A000" &&
  /cached plan must not change result type/.test(String((error as { message?: unknown }).message));

/**
 * PostgreSQL's error when a connection no longer has a statement prepared: something reset the
 * session behind Registro's back (`DEALLOCATE ALL`, `DISCARD ALL`, as a pooler resets a session it
 * hands on). Registro then forgets what the connection had prepared, and the write runs again.
 */
export const isMissingPrepared = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "26000";

/** A statement known to prepare: its name on every connection, and how many values it takes. */
interface Preparable {
  readonly name: string;
  readonly placeholders: number;
}

/**
 * One per Database: which statements may be prepared (each is tried once, on a connection of the
 * pool, outside any transaction: a statement whose parameter types PostgreSQL cannot infer stays
 * text and never fails a command), their names, and what each connection has prepared. A
 * connection that leaves the pool takes its statements with it (they are its session's).
 */
export class PreparedStatements {
  /**
   * By SQL text: how to prepare it (its name and placeholder count), or false: send it as text.
   * Absent: not tried yet (sent as text meanwhile). One lookup per statement rendered.
   */
  private readonly verdicts = new Map<string, Preparable | false>();
  private prepared = 0;
  private readonly trying = new Set<string>();
  private tries = 0;
  private readonly onConnection = new WeakMap<pg.PoolClient, Set<string>>();

  constructor(
    /** Where statements are tried. */
    private readonly pool: pg.Pool,
    private readonly escapeLiteral: (text: string) => string,
  ) {}

  /**
   * The text that runs `sql` with `params` on `connection`: `EXECUTE name(…)` once the statement is
   * known to prepare (with its PREPARE pushed onto `prepares`, to be sent ahead of it in the same
   * batch, when the connection lacks it), the statement with its values inlined otherwise.
   */
  render(connection: pg.PoolClient, sql: string, params: readonly SqlValue[], prepares: string[]): string {
    const verdict = this.verdicts.get(sql);
    if (verdict === undefined || verdict === false) {
      if (verdict === undefined && sql.length <= MAX_SQL_LENGTH && PREPARABLE.test(sql))
        this.tryPreparing(sql);
      return inlineParams(sql, params, this.escapeLiteral);
    }
    const { name, placeholders } = verdict;
    if (params.length !== placeholders)
      throw new Error(`${params.length} parameters for ${placeholders} placeholders`);
    let prepared = this.onConnection.get(connection);
    if (prepared === undefined) this.onConnection.set(connection, (prepared = new Set()));
    if (!prepared.has(name)) {
      prepares.push(`PREPARE ${name} AS ${numbered(sql)}`);
      prepared.add(name);
    }
    if (params.length === 0) return `EXECUTE ${name}`;
    return `EXECUTE ${name}(${params.map((p) => sqlLiteral(p, this.escapeLiteral)).join(", ")})`;
  }

  /**
   * After a batch failed, PostgreSQL ran the PREPAREs before the failing statement and skipped the
   * rest (PREPARE outlives a rollback): what the connection holds is no longer known. The caller
   * sends `DEALLOCATE ALL` with its ROLLBACK; the connection starts over.
   */
  forget(connection: pg.PoolClient): void {
    this.onConnection.delete(connection);
  }

  private tryPreparing(sql: string): void {
    if (this.trying.has(sql) || this.prepared >= MAX_STATEMENTS) return;
    this.trying.add(sql);
    const name = `registro_try_${++this.tries}`;
    this.pool
      .query(`PREPARE ${name} AS ${numbered(sql)}; DEALLOCATE ${name}`)
      .then(
        () => {
          this.prepared += 1;
          this.verdicts.set(sql, { name: `registro_s${this.prepared}`, placeholders: placeholderCount(sql) });
        },
        // Parameter types PostgreSQL cannot infer, or anything else: the statement stays text.
        () => this.verdicts.set(sql, false),
      )
      .finally(() => this.trying.delete(sql));
  }
}
