// The write path's SQL session. Commands run many small statements per transaction; through the
// Prisma client each costs about a millisecond of CPU (query planning in the WASM compiler), which
// capped the registry at a few dozen commands per second. Writes therefore go straight to the
// drivers Prisma itself sits on (better-sqlite3, pg) with cached prepared statements; Prisma still
// owns the schema, migrations and every GraphQL read. SQL here is written once, with `?`
// placeholders, in the dialect both providers share.
import type BetterSqlite3 from "better-sqlite3";
import type pg from "pg";

/** Uint8Array: a BLOB on SQLite, bytea on PostgreSQL (the event hash, ../store/eventCodec.ts). */
export type SqlValue = string | number | bigint | boolean | Date | Uint8Array | null;

export interface SqlTx {
  readonly dialect: "sqlite" | "postgresql";
  /** Runs a statement that returns rows (SELECT, or INSERT/UPDATE … RETURNING). */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** `?, ?, ?` for an IN list or a VALUES row of n parameters. */
export const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

// Prisma's SQLite adapter stores DateTime as ISO-8601 text with an explicit offset; we must write
// the same text so that Prisma reads our rows back and range filters compare correctly.
const sqliteDate = (date: Date) => date.toISOString().replace("Z", "+00:00");

function sqliteParam(value: SqlValue): string | number | bigint | Uint8Array | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return sqliteDate(value);
  return value;
}

export class SqliteTx implements SqlTx {
  readonly dialect = "sqlite";
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly statements: Map<string, BetterSqlite3.Statement>,
  ) {}

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

export class PostgresTx implements SqlTx {
  readonly dialect = "postgresql";
  constructor(
    /** A transaction's connection, or the pool for single statements outside any transaction. */
    private readonly client: pg.PoolClient | pg.Pool,
    private readonly types: pg.CustomTypesConfig,
  ) {}

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.client.query<T>({
      text: numbered(sql),
      values: params.map(pgParam),
      types: this.types,
    });
    return result.rows;
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.client.query({
      text: numbered(sql),
      values: params.map(pgParam),
      types: this.types,
    });
    return result.rowCount ?? 0;
  }
}

// ---- Reading rows back: the two drivers return different JS types for the same column. ----------

export const rowDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
export const rowDateOrNull = (value: unknown): Date | null =>
  value === null || value === undefined ? null : rowDate(value);
export const rowBool = (value: unknown): boolean => value === true || value === 1 || value === 1n;
export const rowInt = (value: unknown): number => Number(value);
export const rowJson = <T>(value: unknown): T =>
  typeof value === "string" ? (JSON.parse(value) as T) : (value as T);
